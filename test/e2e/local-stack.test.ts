import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryDetail } from '../../functions/config-api/schemas';
import { createProducer, type Producer } from '../../functions/producer';
import { createLocalIssuer } from '../../infra/local/jwt';
import {
  callApi,
  descendants,
  eventually,
  isAlive,
  type LocalStackProcess,
  mintToken,
  probePort,
  runTokenScript,
  type StackInfo,
  spawnLocalStack,
  stackPorts,
} from '../support/local-stack';
import type { SesStoredEmail } from '../support/ses';

// `npm start -- --no-demo` as a new user runs it: a child process on free ports in a temp folder, driven
// only through what it publishes (stack.json, the config API, the queues, the two mailboxes).

const OWN_SMTP = 'e2e-own-smtp';
const NO_CONFIG = 'e2e-no-config';
const OWN_FROM = 'notifications@own-smtp.example';

interface MaildevEmail {
  subject: string;
  from: { address: string; name?: string }[];
  to: { address: string }[];
}

describe('npm start -- --no-demo', () => {
  let stack: LocalStackProcess | undefined;
  let info: StackInfo;
  let sqs: SQSClient;
  let producer: Producer;
  let adminToken: string;

  beforeAll(async () => {
    stack = await spawnLocalStack({ demo: false });
    info = await stack.ready(60_000);
    sqs = new SQSClient({
      endpoint: info.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      useQueueUrlAsEndpoint: false,
    });
    producer = createProducer({ sqs, queueUrl: info.queueUrl });
    adminToken = await mintToken(stack.dir, 'e2e-platform', true);
  }, 70_000);

  afterAll(async () => {
    sqs?.destroy();
    await stack?.dispose();
  });

  const deliveryOf = (tenantId: string, messageId: string) =>
    eventually(`delivery ${messageId} of ${tenantId}`, 20_000, async () => {
      const path = `/tenants/${tenantId}/deliveries/${messageId}`;
      const found = await callApi<DeliveryDetail>(info, adminToken, 'GET', path);
      return found.status === 200 && found.body.status !== 'retrying' ? found.body : undefined;
    });

  it('answers 401 with API Gateway body to a request without a valid token', async () => {
    // Prepare
    const stranger = await (await createLocalIssuer()).token(OWN_SMTP);

    // Act
    const none = await callApi(info, undefined, 'GET', `/tenants/${OWN_SMTP}/sender`);
    const forged = await callApi(info, stranger, 'GET', `/tenants/${OWN_SMTP}/sender`);

    // Assess
    expect(none).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect(forged).toEqual({ status: 401, body: { message: 'Unauthorized' } });
  });

  it('answers 403 when a tenant token acts on another tenant, and changes nothing', async () => {
    // Prepare
    const token = await mintToken(stack?.dir ?? '', OWN_SMTP);

    // Act
    const read = await callApi<{ error: { code: string } }>(
      info,
      token,
      'GET',
      `/tenants/${NO_CONFIG}/sender`,
    );
    const write = await callApi<{ error: { code: string } }>(
      info,
      token,
      'PUT',
      `/tenants/${NO_CONFIG}/sender`,
      {
        mode: 'platform',
      },
    );
    const after = await callApi(info, adminToken, 'GET', `/tenants/${NO_CONFIG}/sender`);

    // Assess
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('forbidden');
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('forbidden');
    expect(after).toEqual({ status: 200, body: { mode: 'platform', version: 0 } });
  });

  it("delivers a configured tenant's mail through its own SMTP server (the stack's maildev)", async () => {
    // Prepare: the tenant configures itself with a token from `npm run token`
    const token = await runTokenScript(stack?.dir ?? '', OWN_SMTP);
    const { host, port, username, password } = info.mailboxSmtp;
    const put = await callApi<Record<string, unknown>>(info, token, 'PUT', `/tenants/${OWN_SMTP}/sender`, {
      mode: 'smtp',
      fallback: 'platform',
      smtp: { host, port, security: 'none', username, password, fromAddress: OWN_FROM, fromName: 'Own' },
    });
    const subject = `e2e own smtp ${Date.now()}`;

    // Act
    await producer.enqueue({
      v: 1,
      tenantId: OWN_SMTP,
      kind: 'notification',
      to: 'lead@customer.example',
      subject,
      text: 'Through the tenant server.',
      idempotencyKey: 'e2e-own-smtp-1',
    });
    const delivery = await deliveryOf(OWN_SMTP, 'e2e-own-smtp-1');

    // Assess
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ mode: 'smtp', smtp: { passwordSet: true, fromAddress: OWN_FROM } });
    expect(JSON.stringify(put.body)).not.toContain(password);
    expect(delivery).toMatchObject({ route: 'smtp', fallbackReason: null, status: 'sent' });
    expect(delivery.accepted).toEqual(['lead@customer.example']);
    const inbox = (await (await fetch(`${info.mailboxUrl}/api/email`)).json()) as MaildevEmail[];
    const mail = inbox.find((m) => m.subject === subject);
    expect(mail?.from.map((a) => a.address)).toEqual([OWN_FROM]);
    expect(mail?.to.map((a) => a.address)).toEqual(['lead@customer.example']);
    expect((await sesStore()).some((m) => m.subject === subject)).toBe(false);
  });

  it('sends the mail of a tenant without config through SES from the platform address', async () => {
    // Prepare
    const subject = `e2e no config ${Date.now()}`;

    // Act
    await producer.enqueue({
      v: 1,
      tenantId: NO_CONFIG,
      kind: 'notification',
      to: 'someone@customer.example',
      subject,
      text: 'Through the platform.',
      idempotencyKey: 'e2e-no-config-1',
    });
    const delivery = await deliveryOf(NO_CONFIG, 'e2e-no-config-1');

    // Assess
    expect(delivery).toMatchObject({ route: 'platform', fallbackReason: 'no-config', status: 'sent' });
    const mail = (await sesStore()).find((m) => m.subject === subject);
    expect(mail?.from).toBe(`"${info.platformName}" <${info.platformFrom}>`);
    expect(mail?.destination.to).toEqual(['someone@customer.example']);
  });

  it('puts an invalid message on the DLQ at once, verbatim, with reason validation', async () => {
    // Prepare: a `from` key is refused (the producer would refuse it too, so send it raw)
    const body = JSON.stringify({
      v: 1,
      tenantId: OWN_SMTP,
      kind: 'notification',
      to: 'lead@customer.example',
      from: 'ceo@other-tenant.example',
      subject: `e2e invalid ${Date.now()}`,
      text: 'Never sent.',
    });

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: body }));
    const dead = await eventually('the invalid message on the DLQ', 20_000, async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: info.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      return Messages.find((m) => m.Body === body);
    });

    // Assess
    expect(dead.MessageAttributes?.reason?.StringValue).toBe('validation');
    expect(dead.MessageAttributes?.tenantId?.StringValue).toBe(OWN_SMTP);
    expect(dead.MessageAttributes?.detail?.StringValue).toContain('from');
  });

  it('stops on SIGINT: exit 0, stack.json removed, every port closed, no process left', async () => {
    // Prepare
    const running = stack as LocalStackProcess;
    const ports = stackPorts(info);
    const pid = running.child.pid ?? -1;
    const below = descendants(pid);

    // Act
    const exit = await running.stop('SIGINT', 15_000);

    // Assess
    expect(exit, running.output()).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain('stopped; every port is free again.');
    expect(existsSync(join(running.dir, 'stack.json'))).toBe(false);
    expect(ports.length).toBeGreaterThanOrEqual(7);
    const probes = await Promise.all(ports.map(async (port) => [port, await probePort(port)] as const));
    expect(probes).toEqual(ports.map((port) => [port, 'ECONNREFUSED']));
    // tsx's esbuild service child exits when its parent's pipe closes: give it a moment, no more.
    const orphans = async () => [pid, ...below].filter(isAlive);
    await eventually('every process of the stack gone', 5_000, async () =>
      (await orphans()).length === 0 ? true : undefined,
    ).catch(() => undefined);
    expect(await orphans()).toEqual([]);
  });

  async function sesStore(): Promise<SesStoredEmail[]> {
    const response = await fetch(`${info.sesUrl}/store`);
    return ((await response.json()) as { emails: SesStoredEmail[] }).emails;
  }
});
