import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueAdapter, DLQ_DETAIL_MAX_CHARS } from '../../functions/adapters/queue';
import { QueueError } from '../../functions/core/errors';
import { localClientConfig } from '../support/aws-client';
import { type LocalSqs, startLocalSqs } from '../support/sqs';

let sqs: LocalSqs;

beforeAll(async () => {
  sqs = await startLocalSqs();
});

afterAll(async () => {
  await sqs?.close();
});

/** A queue of its own per test, so one test's leftovers never reach another's receive. */
async function freshQueues(prefix: string) {
  const queueUrl = await sqs.createQueue(`${prefix}-q`, { VisibilityTimeout: '30' });
  const dlqUrl = await sqs.createQueue(`${prefix}-dlq`);
  return { queueUrl, dlqUrl, adapter: createQueueAdapter({ sqs: sqs.client, queueUrl, dlqUrl }) };
}

async function sendOne(queueUrl: string, body: string): Promise<void> {
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

describe('createQueueAdapter against fauxqs', () => {
  it('sends to the DLQ with the body verbatim and reason, detail, tenantId attributes', async () => {
    // Prepare
    const { dlqUrl, queueUrl, adapter } = await freshQueues('dlq-attrs');
    const body = '{"v":1,"tenantId":"acme","to":"x@y.example" ,"extra":true}\n  ünïcode ✓';

    // Act
    await adapter.sendToDlq({ body, reason: 'validation', detail: 'extra: unknown key', tenantId: 'acme' });
    const messages = await sqs.receiveAll(dlqUrl);

    // Assess
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Body).toBe(body);
    expect(messages[0]?.MessageAttributes).toEqual({
      reason: { DataType: 'String', StringValue: 'validation' },
      detail: { DataType: 'String', StringValue: 'extra: unknown key' },
      tenantId: { DataType: 'String', StringValue: 'acme' },
    });
    expect(await sqs.receiveAll(queueUrl)).toEqual([]);
  });

  it('leaves tenantId out when unknown and truncates a long detail', async () => {
    // Prepare
    const { dlqUrl, adapter } = await freshQueues('dlq-trunc');
    const longDetail = `server said: ${'x'.repeat(5000)}`;

    // Act
    await adapter.sendToDlq({ body: 'not json at all', reason: 'undeliverable', detail: longDetail });
    const [message] = await sqs.receiveAll(dlqUrl);

    // Assess
    expect(message?.Body).toBe('not json at all');
    expect(Object.keys(message?.MessageAttributes ?? {}).sort()).toEqual(['detail', 'reason']);
    expect(message?.MessageAttributes?.reason?.StringValue).toBe('undeliverable');
    const detail = message?.MessageAttributes?.detail?.StringValue ?? '';
    expect(Array.from(detail)).toHaveLength(DLQ_DETAIL_MAX_CHARS);
    expect(detail.startsWith('server said: xxx')).toBe(true);
  });

  it('keeps a received message invisible for the seconds given, and visible again at 0', async () => {
    // Prepare
    const { queueUrl, adapter } = await freshQueues('visibility');
    await sendOne(queueUrl, 'retry me');
    const [first] = await sqs.receiveAll(queueUrl);
    const handle = first?.ReceiptHandle ?? '';

    // Act
    await adapter.changeVisibility(handle, 0);
    const [again] = await sqs.receiveAll(queueUrl);
    const before = Date.now();
    await adapter.changeVisibility(again?.ReceiptHandle ?? '', 600);
    const hidden = await sqs.receiveAll(queueUrl);
    const [inflight] = await sqs.inflight('visibility-q');

    // Assess
    expect(first?.Body).toBe('retry me');
    expect(again?.Body).toBe('retry me');
    expect(hidden).toEqual([]);
    expect(inflight?.visibilityDeadline).toBeGreaterThanOrEqual(before + 600_000);
    expect(inflight?.visibilityDeadline).toBeLessThan(before + 610_000);
  });

  it('clamps the visibility to SQS limits instead of failing', async () => {
    // Prepare
    const { queueUrl, adapter } = await freshQueues('clamp');
    await sendOne(queueUrl, 'long hold');
    const [first] = await sqs.receiveAll(queueUrl);
    const before = Date.now();

    // Act
    await adapter.changeVisibility(first?.ReceiptHandle ?? '', 100_000);
    const [inflight] = await sqs.inflight('clamp-q');
    await adapter.changeVisibility(first?.ReceiptHandle ?? '', -5);
    const [visibleAgain] = await sqs.receiveAll(queueUrl);

    // Assess
    expect(inflight?.visibilityDeadline).toBeGreaterThanOrEqual(before + 43_200_000);
    expect(inflight?.visibilityDeadline).toBeLessThan(before + 43_210_000);
    expect(visibleAgain?.Body).toBe('long hold');
  });

  it('raises QueueError with the SQS error name for a receipt handle SQS does not know', async () => {
    // Prepare
    const { adapter } = await freshQueues('bad-handle');

    // Act
    const error = await adapter.changeVisibility('no-such-handle', 10).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toMatch(/MessageNotInflight|ReceiptHandleIsInvalid/);
    expect((error as QueueError).cause).toBeDefined();
  });

  it('raises QueueError when the DLQ does not exist', async () => {
    // Prepare
    const missing = sqs.dlqUrl.replace(/[^/]+$/, 'no-such-queue');
    const client = new SQSClient({ ...localClientConfig(sqs.endpoint), useQueueUrlAsEndpoint: false });
    const adapter = createQueueAdapter({ sqs: client, queueUrl: sqs.queueUrl, dlqUrl: missing });

    // Act
    const error = await adapter
      .sendToDlq({ body: 'b', reason: 'validation', detail: 'd' })
      .catch((e: unknown) => e);
    client.destroy();

    // Assess
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).code).toMatch(/NonExistentQueue|QueueDoesNotExist/);
  });
});
