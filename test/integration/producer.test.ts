import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QueueError } from '../../functions/core/errors';
import { parseQueueMessage } from '../../functions/core/message';
import {
  createProducer,
  MAX_SQS_MESSAGE_BYTES,
  ProducerValidationError,
  type QueueMessageInput,
} from '../../functions/producer';
import { runSend } from '../../infra/local/send';
import { startHttpFaultProxy } from '../support/fault-proxy';
import { type LocalSqs, startLocalSqs } from '../support/sqs';

let sqs: LocalSqs;
let dir: string;
const clients: SQSClient[] = [];
let queueCount = 0;

beforeAll(async () => {
  sqs = await startLocalSqs();
  dir = await mkdtemp(join(tmpdir(), 'producer-'));
});

afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

afterAll(async () => {
  await sqs?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A client of the test's own, so middleware added by one test never reaches another. */
function newClient(options: { endpoint?: string; maxAttempts?: number } = {}): SQSClient {
  const client = new SQSClient({
    endpoint: options.endpoint ?? sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    useQueueUrlAsEndpoint: false,
    maxAttempts: options.maxAttempts ?? 1,
  });
  clients.push(client);
  return client;
}

async function freshQueue(attributes?: Record<string, string>): Promise<string> {
  queueCount += 1;
  return sqs.createQueue(`producer-${queueCount}`, attributes);
}

type Fault = { failIds?: string[]; throwError?: Error } | undefined;

/**
 * Records the entry Ids of every SendMessageBatch call. `fault` may make a call throw, or make SQS
 * "fail" some entries on its side: they are taken out of the request (so SQS never stores them) and put
 * into the deserialized output as Failed with SenderFault false.
 */
function recordBatches(client: SQSClient, fault: (call: number) => Fault = () => undefined): string[][] {
  const calls: string[][] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      calls.push(entries.map((e) => e.Id ?? ''));
      const injected = fault(calls.length);
      if (injected?.throwError) throw injected.throwError;
      const failIds = new Set(injected?.failIds ?? []);
      const kept = entries.filter((e) => !failIds.has(e.Id ?? ''));
      // SQS refuses an empty batch, so a call whose every entry "fails" never reaches it.
      let result: Awaited<ReturnType<typeof next>> = { output: { $metadata: {} }, response: {} };
      if (kept.length > 0) result = await next({ ...args, input: { ...input, Entries: kept } });
      const output = result.output as SendMessageBatchCommandOutput;
      const failed = entries.filter((e) => failIds.has(e.Id ?? ''));
      output.Failed = [
        ...(output.Failed ?? []),
        ...failed.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'injected' })),
      ];
      return result;
    },
    { step: 'initialize', name: 'recordBatches' },
  );
  return calls;
}

function message(n: number, extra: Partial<QueueMessageInput> = {}): QueueMessageInput {
  return {
    v: 1,
    tenantId: 'acme',
    to: `user${n}@acme.example`,
    subject: `Message ${n}`,
    text: `Body ${n}`,
    idempotencyKey: `key-${n}`,
    ...extra,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const noSleep = async (): Promise<void> => {};

/** The idempotency keys of the messages on a queue, sorted. */
async function keysOn(queueUrl: string): Promise<string[]> {
  const received = await sqs.receiveAll(queueUrl);
  return received.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey as string).sort();
}

describe('fair queues', () => {
  it('sends every message with MessageGroupId = its tenantId, on enqueue and enqueueBatch alike', async () => {
    // Prepare: a proxy in front of SQS sees the requests as they go out.
    const wire: { target: string; body: Record<string, unknown> }[] = [];
    const proxy = await startHttpFaultProxy(sqs.endpoint);
    proxy.set({
      fault: { type: 'refuse' },
      when: (info) => {
        wire.push({ target: info.target, body: JSON.parse(info.body || '{}') });
        return false;
      },
    });
    const queueUrl = await freshQueue();
    const producer = createProducer({ sqs: newClient({ endpoint: proxy.url }), queueUrl });

    // Act
    await producer.enqueue(message(1, { tenantId: 'acme' }));
    const batch = await producer.enqueueBatch([
      message(2, { tenantId: 'acme' }),
      message(3, { tenantId: 'globex' }),
    ]);
    await proxy.close();

    // Assess
    expect(batch.failed).toEqual([]);
    const single = wire.find((w) => w.target === 'AmazonSQS.SendMessage');
    expect(single?.body).toMatchObject({ MessageGroupId: 'acme' });
    const entries = wire.find((w) => w.target === 'AmazonSQS.SendMessageBatch')?.body.Entries;
    expect(entries).toEqual([
      expect.objectContaining({ MessageGroupId: 'acme' }),
      expect.objectContaining({ MessageGroupId: 'globex' }),
    ]);
    expect(await keysOn(queueUrl)).toEqual(['key-1', 'key-2', 'key-3']);
  });
});

describe('enqueue', () => {
  it('sends one message whose body parses back as the normalized message', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const producer = createProducer({ sqs: newClient(), queueUrl });
    const input = message(1, { to: 'Anna@Bücher.example', text: 'Grüße 😀 \uFFFE', kind: undefined });

    // Act
    const { messageId } = await producer.enqueue(input);
    const received = await sqs.receiveAll(queueUrl);

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]?.MessageId).toBe(messageId);
    const parsed = parseQueueMessage(received[0]?.Body ?? '');
    expect(parsed).toEqual({
      ok: true,
      message: {
        v: 1,
        tenantId: 'acme',
        kind: 'notification',
        to: ['Anna@xn--bcher-kva.example'],
        subject: 'Message 1',
        text: 'Grüße 😀 \uFFFE',
        idempotencyKey: 'key-1',
      },
    });
  });

  it('refuses an invalid message or delay without sending anything', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const producer = createProducer({ sqs: newClient(), queueUrl });

    // Act
    const badMessage = producer.enqueue(message(1, { subject: 'a\r\nBcc: x@evil.example' }));
    const badDelay = producer.enqueue(message(2), { delaySeconds: 901 });

    // Assess
    await expect(badMessage).rejects.toMatchObject({
      name: 'ProducerValidationError',
      field: 'subject',
      rule: 'crlf',
    });
    await expect(badDelay).rejects.toMatchObject({ field: 'delaySeconds', rule: 'range' });
    expect(await sqs.receiveAll(queueUrl)).toEqual([]);
  });

  it('sets a random UUID as idempotencyKey when the caller gives none, and returns it', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const producer = createProducer({ sqs: newClient(), queueUrl });
    const { idempotencyKey: _none, ...withoutKey } = message(1);

    // Act
    const first = await producer.enqueue(withoutKey);
    const second = await producer.enqueue(withoutKey);
    const own = await producer.enqueue(message(2, { idempotencyKey: 'form-4711' }));
    const batch = await producer.enqueueBatch([withoutKey]);

    // Assess
    expect(first.idempotencyKey).toMatch(UUID);
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
    expect(own.idempotencyKey).toBe('form-4711');
    const batchKey = batch.sent[0]?.idempotencyKey ?? '';
    expect(batchKey).toMatch(UUID);
    expect(await keysOn(queueUrl)).toEqual(
      [first.idempotencyKey, second.idempotencyKey, 'form-4711', batchKey].sort(),
    );
  });

  it('keeps one key when the SDK retries a SendMessage whose answer was lost: both copies are one mail', async () => {
    // Prepare: SQS takes the first SendMessage but its answer never arrives; the SDK sends it again.
    const proxy = await startHttpFaultProxy(sqs.endpoint);
    const queueUrl = await freshQueue();
    const producer = createProducer({
      sqs: newClient({ endpoint: proxy.url, maxAttempts: 3 }),
      queueUrl,
      maxRetries: 0,
    });
    proxy.set({ fault: { type: 'lose-response' }, when: (r) => r.target.endsWith('SendMessage'), times: 1 });
    const { idempotencyKey: _none, ...withoutKey } = message(1);

    // Act
    const sent = await producer.enqueue(withoutKey).finally(() => proxy.close());

    // Assess
    expect(proxy.stats.faults).toEqual({ 'lose-response': 1 });
    expect(sent.idempotencyKey).toMatch(UUID);
    expect(await keysOn(queueUrl)).toEqual([sent.idempotencyKey, sent.idempotencyKey]);
  });

  it('throws a QueueError with the SDK error name when the queue does not exist', async () => {
    // Prepare
    const producer = createProducer({ sqs: newClient(), queueUrl: `${sqs.endpoint}/000000000000/missing` });

    // Act
    const sent = producer.enqueue(message(1));

    // Assess
    await expect(sent).rejects.toBeInstanceOf(QueueError);
    await expect(sent).rejects.toMatchObject({ code: expect.stringContaining('QueueDoesNotExist') });
  });
});

describe('enqueueBatch', () => {
  it('sends 23 messages in 3 SendMessageBatch calls, every one received', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client);
    const producer = createProducer({ sqs: client, queueUrl });
    const inputs = Array.from({ length: 23 }, (_, i) => message(i));

    // Act
    const result = await producer.enqueueBatch(inputs);
    const received = await sqs.receiveAll(queueUrl);

    // Assess
    expect(calls.map((ids) => ids.length)).toEqual([10, 10, 3]);
    expect(calls[2]).toEqual(['20', '21', '22']);
    expect(result.failed).toEqual([]);
    expect(result.sent.map((s) => s.index)).toEqual(inputs.map((_, i) => i));
    expect(received.map((m) => m.MessageId).sort()).toEqual(result.sent.map((s) => s.messageId).sort());
    const keys = received.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey).sort();
    expect(keys).toEqual(inputs.map((m) => m.idempotencyKey).sort());
  });

  it('retries the entries SQS failed on its side and ends with no failures and no duplicates', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client, (call) => (call === 1 ? { failIds: ['1', '3'] } : undefined));
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const producer = createProducer({ sqs: client, queueUrl, sleep });

    // Act
    const result = await producer.enqueueBatch([0, 1, 2, 3, 4].map((n) => message(n)));

    // Assess
    expect(calls).toEqual([
      ['0', '1', '2', '3', '4'],
      ['1', '3'],
    ]);
    expect(waits).toHaveLength(1);
    expect(result.failed).toEqual([]);
    expect(result.sent.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    expect(await keysOn(queueUrl)).toEqual(['key-0', 'key-1', 'key-2', 'key-3', 'key-4']);
  });

  it('retries a throttled call as a whole', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const calls = recordBatches(client, (call) => (call === 1 ? { throwError: throttled } : undefined));
    const producer = createProducer({ sqs: client, queueUrl, sleep: noSleep });

    // Act
    const result = await producer.enqueueBatch([message(0), message(1)]);

    // Assess
    expect(calls).toHaveLength(2);
    expect(result).toMatchObject({ failed: [], sent: [{ index: 0 }, { index: 1 }] });
    expect(await keysOn(queueUrl)).toEqual(['key-0', 'key-1']);
  });

  it('reports an entry still failing after maxRetries, with its code', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client, () => ({ failIds: ['0'] }));
    const producer = createProducer({ sqs: client, queueUrl, maxRetries: 2, sleep: noSleep });

    // Act
    const result = await producer.enqueueBatch([message(0), message(1)]);

    // Assess
    expect(calls).toEqual([['0', '1'], ['0'], ['0']]);
    expect(result.failed).toEqual([{ index: 0, code: 'InternalError', message: 'injected' }]);
    expect(result.sent.map((s) => s.index)).toEqual([1]);
    expect(await keysOn(queueUrl)).toEqual(['key-1']);
  });

  it('reports an entry SQS refuses as the sender fault at once, without retrying it', async () => {
    // Prepare: this queue takes at most 1 KiB per message, so SQS itself refuses the long one.
    const queueUrl = await freshQueue({ MaximumMessageSize: '1024' });
    const client = newClient();
    const calls = recordBatches(client);
    const producer = createProducer({ sqs: client, queueUrl, sleep: noSleep });

    // Act
    const result = await producer.enqueueBatch([
      message(0),
      message(1, { text: 'x'.repeat(2000) }),
      message(2),
    ]);

    // Assess
    expect(calls).toHaveLength(1);
    expect(result.failed).toEqual([{ index: 1, code: 'InvalidParameterValue', message: expect.any(String) }]);
    expect(result.sent.map((s) => s.index)).toEqual([0, 2]);
    expect(await keysOn(queueUrl)).toEqual(['key-0', 'key-2']);
  });

  it('sends nothing when one message is invalid, naming its index, field and rule', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client);
    const producer = createProducer({ sqs: client, queueUrl });
    const inputs = [0, 1, 2, 3, 4].map((n) => message(n));
    inputs[3] = message(3, { to: ['ok@acme.example', 'Eve <eve@evil.example>'] });

    // Act
    const error = await producer.enqueueBatch(inputs).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ProducerValidationError);
    expect(error).toMatchObject({ index: 3, field: 'to[1]', rule: 'address' });
    expect((error as Error).message).toMatch(/^message 3 is invalid: to\[1\]: must be a bare address/);
    expect(calls).toEqual([]);
    expect(await sqs.receiveAll(queueUrl)).toEqual([]);
  });

  it('refuses a message over 256 KiB as sent (each body within its own limit), nothing sent', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client);
    const producer = createProducer({ sqs: client, queueUrl });
    const big = message(1, { text: 'a'.repeat(150 * 1024), html: 'b'.repeat(150 * 1024) });

    // Act
    const single = producer.enqueue(big);
    const batch = producer.enqueueBatch([message(0), big]);

    // Assess
    await expect(single).rejects.toMatchObject({ index: 0, field: '(body)', rule: 'max-bytes' });
    await expect(batch).rejects.toMatchObject({ index: 1, field: '(body)', rule: 'max-bytes' });
    expect(calls).toEqual([]);
    expect(await sqs.receiveAll(queueUrl)).toEqual([]);
  });

  it('splits a batch so no call carries more than 256 KiB of bodies', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const client = newClient();
    const calls = recordBatches(client);
    const producer = createProducer({ sqs: client, queueUrl });
    const inputs = [0, 1, 2].map((n) => message(n, { text: 'x'.repeat(100 * 1024) }));

    // Act
    const result = await producer.enqueueBatch(inputs);

    // Assess
    expect(calls).toEqual([['0', '1'], ['2']]);
    expect(result.failed).toEqual([]);
    expect(MAX_SQS_MESSAGE_BYTES).toBe(262_144);
    expect(await keysOn(queueUrl)).toEqual(['key-0', 'key-1', 'key-2']);
  });
});

describe('npm run send (runSend) against a local SQS', () => {
  async function stackFile(name: string, queueUrl: string, endpoint: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify({ queueUrl, region: 'us-east-1', endpoints: { sqs: endpoint } }));
    return file;
  }

  it('enqueues on the stack file queue and prints the message id', async () => {
    // Prepare
    const queueUrl = await freshQueue();
    const file = await stackFile('stack.json', queueUrl, sqs.endpoint);
    const env: NodeJS.ProcessEnv = {};
    const out: string[] = [];
    const argv = ['--tenant', 'acme', '--to', 'a@acme.example', '--to', 'b@acme.example', '--subject', 'Hi'];

    // Act
    const code = await runSend([...argv, '--text', 'Hello', '--kind', 'digest'], {
      stackFile: file,
      env,
      out: (line) => out.push(line),
      err: () => {},
    });
    const received = await sqs.receiveAll(queueUrl);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([received[0]?.MessageId]);
    expect(JSON.parse(received[0]?.Body ?? '{}')).toMatchObject({
      tenantId: 'acme',
      kind: 'digest',
      to: ['a@acme.example', 'b@acme.example'],
    });
    expect(env).toMatchObject({ AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' });
  });

  it('exits 1 saying the SQS cannot be reached when the stack file is stale', async () => {
    // Prepare: a port that was free a moment ago and has nothing listening now.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const file = await stackFile(
      'stale.json',
      'http://sqs.us-east-1.localhost:1/000000000000/mail',
      `http://127.0.0.1:${port}`,
    );
    const err: string[] = [];

    // Act
    const code = await runSend(
      ['--tenant', 'acme', '--to', 'a@acme.example', '--subject', 'S', '--text', 't'],
      { stackFile: file, env: {}, out: () => {}, err: (line) => err.push(line), sleep: noSleep },
    );

    // Assess
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(
      /cannot reach the local SQS at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
  });
});
