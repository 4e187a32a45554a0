import net from 'node:net';
import { MessageRejected, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildMime } from '../../functions/adapters/mime';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { localClientConfig } from '../support/aws-client';
import { type LocalSes, startLocalSes } from '../support/ses';

let ses: LocalSes;
const extraClients: SESv2Client[] = [];

beforeAll(async () => {
  ses = await startLocalSes();
});

afterAll(async () => {
  for (const client of extraClients) client.destroy();
  await ses?.close();
});

beforeEach(async () => {
  await ses.clear();
});

/** A client of its own, so an injected failure never leaks into another test. */
function clientFor(endpoint: string): SESv2Client {
  const client = new SESv2Client(localClientConfig(endpoint));
  extraClients.push(client);
  return client;
}

/** Records every SendEmail input the client serialises, so a test can see the Destination SES got. */
function captureInputs(client: SESv2Client): unknown[] {
  const seen: unknown[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      seen.push(args.input);
      return next(args);
    },
    { step: 'initialize' },
  );
  return seen;
}

/** Makes the client fail as SES would, before any request leaves. */
function failWith(client: SESv2Client, error: Error): void {
  client.middlewareStack.add(
    () => async () => {
      throw error;
    },
    { step: 'initialize' },
  );
}

async function fallbackMessage() {
  return buildMime({
    from: '"Acme via Platform" <mail@platform.example>',
    replyTo: 'notifications@acme.example',
    to: ['lead@customer.example'],
    cc: ['boss@customer.example'],
    subject: 'New lead',
    text: 'Form body',
    html: '<p>Form body</p>',
    headers: { 'Auto-Submitted': 'auto-generated' },
  });
}

describe('createSesSender against aws-ses-v2-local', () => {
  it('sends the raw message: From, Reply-To and body arrive, Bcc only in the Destination', async () => {
    // Prepare
    const client = clientFor(ses.endpoint);
    const seen = captureInputs(client);
    const sender = createSesSender({ ses: client, configurationSet: 'mailer-events' });
    const { raw } = await fallbackMessage();
    const tags = [
      { Name: 'tenantId', Value: 'acme' },
      { Name: 'route', Value: 'platform' },
      { Name: 'fallbackReason', Value: 'connection' },
    ];

    // Act
    const result = await sender.send({
      from: 'mail@platform.example',
      raw,
      destinations: {
        to: ['lead@customer.example'],
        cc: ['boss@customer.example'],
        bcc: ['audit@acme.example'],
      },
      tags,
    });
    const stored = await ses.store();

    // Assess
    if (!result.ok) throw new Error(`SES refused: ${result.error.message}`);
    expect(result.messageId).not.toBe('');
    expect(stored).toHaveLength(1);
    const [email] = stored;
    expect(email?.messageId).toBe(result.messageId);
    expect(email?.from).toBe('"Acme via Platform" <mail@platform.example>');
    expect(email?.replyTo).toEqual(['notifications@acme.example']);
    expect(email?.subject).toBe('New lead');
    expect(email?.body.text?.trim()).toBe('Form body');
    expect(email?.body.html).toContain('<p>Form body</p>');
    expect(email?.destination.bcc).toEqual([]);
    expect(seen).toEqual([
      {
        FromEmailAddress: 'mail@platform.example',
        Destination: {
          ToAddresses: ['lead@customer.example'],
          CcAddresses: ['boss@customer.example'],
          BccAddresses: ['audit@acme.example'],
        },
        Content: { Raw: { Data: raw } },
        EmailTags: tags,
        ConfigurationSetName: 'mailer-events',
      },
    ]);
  });

  it('sends only to the recipients still owed, leaving out empty lists and the configuration set', async () => {
    // Prepare
    const client = clientFor(ses.endpoint);
    const seen = captureInputs(client);
    const sender = createSesSender({ ses: client });
    const { raw } = await fallbackMessage();

    // Act
    await sender.send({
      from: 'mail@platform.example',
      raw,
      destinations: { to: [], cc: ['boss@customer.example'] },
      tags: [],
    });

    // Assess
    expect(seen).toEqual([
      {
        FromEmailAddress: 'mail@platform.example',
        Destination: { CcAddresses: ['boss@customer.example'] },
        Content: { Raw: { Data: raw } },
      },
    ]);
    expect(await ses.store()).toHaveLength(1);
  });

  it('refuses to send with no recipients owed, so SES never falls back to the header recipients', async () => {
    // Prepare
    const sender = createSesSender({ ses: ses.client });
    const { raw } = await fallbackMessage();

    // Act
    const result = await sender.send({
      from: 'mail@platform.example',
      raw,
      destinations: { to: [] },
      tags: [],
    });

    // Assess
    expect(result).toMatchObject({ ok: false, error: { code: 'NoRecipients', retryable: false } });
    expect(await ses.store()).toEqual([]);
  });

  it('reports a MessageRejected "not verified" as a failure naming the unverified identities', async () => {
    // Prepare
    const client = clientFor(ses.endpoint);
    const rejection = new MessageRejected({
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1: a@acme.example',
      $metadata: {},
    });
    failWith(client, rejection);
    const sender = createSesSender({ ses: client });
    const { raw } = await fallbackMessage();

    // Act
    const result = await sender.send({
      from: 'a@acme.example',
      raw,
      destinations: { to: ['lead@customer.example'] },
      tags: [],
    });

    // Assess
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: 'MessageRejected',
        retryable: false,
        mayHaveSent: false,
        unverified: ['a@acme.example'],
      },
    });
  });

  it('reports any other SES error with its name and whether a retry may help', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    const policy = new MessageRejected({ message: 'Email content rejected by policy', $metadata: {} });
    const throttledClient = clientFor(ses.endpoint);
    failWith(throttledClient, throttled);
    const policyClient = clientFor(ses.endpoint);
    failWith(policyClient, policy);
    const { raw } = await fallbackMessage();
    const input = {
      from: 'mail@platform.example',
      raw,
      destinations: { to: ['lead@customer.example'] },
      tags: [],
    };

    // Act
    const throttledResult = await createSesSender({ ses: throttledClient }).send(input);
    const policyResult = await createSesSender({ ses: policyClient }).send(input);

    // Assess
    expect(throttledResult).toMatchObject({
      ok: false,
      error: { code: 'TooManyRequestsException', retryable: true },
    });
    expect(policyResult).toMatchObject({ ok: false, error: { code: 'MessageRejected', retryable: false } });
    expect(policyResult.ok ? null : policyResult.error.unverified).toBeUndefined();
  });

  it('reports an unreachable endpoint as a retryable failure', async () => {
    // Prepare: a server that has just closed leaves a port nobody listens on.
    const gone = await startLocalSes();
    await gone.close();
    const client = clientFor(gone.endpoint);
    const { raw } = await fallbackMessage();

    // Act
    const result = await createSesSender({ ses: client }).send({
      from: 'mail@platform.example',
      raw,
      destinations: { to: ['lead@customer.example'] },
      tags: [],
    });

    // Assess
    expect(result).toMatchObject({ ok: false, error: { code: 'ECONNREFUSED', retryable: true } });
  });
});

describe('SES sender deadlines', () => {
  it('gives up on an SES endpoint that never answers when the signal aborts, as a retryable failure', async () => {
    // Prepare: a TCP listener on 127.0.0.1 that accepts and never answers.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const client = clientFor(`http://127.0.0.1:${port}`);
    const { raw } = await fallbackMessage();
    const started = Date.now();

    // Act
    const result = await createSesSender({ ses: client }).send({
      from: 'mail@platform.example',
      raw,
      destinations: { to: ['lead@customer.example'] },
      tags: [],
      signal: AbortSignal.timeout(200),
    });
    const elapsed = Date.now() - started;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    // Assess
    expect(result).toMatchObject({ ok: false, error: { code: 'Timeout', retryable: true } });
    expect(elapsed).toBeLessThan(2_000);
  });
});
