import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAlertEmitter } from '../../functions/adapters/alert-emitter';
import { createNotifyStore } from '../../functions/adapters/dynamo-notify';
import { createReputationStore } from '../../functions/adapters/dynamo-reputation';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createSuppressionStore } from '../../functions/adapters/dynamo-suppressions';
import { createQueueAdapter } from '../../functions/adapters/queue';
import { sesTags } from '../../functions/core/fallback';
import type { Store } from '../../functions/core/ports';
import type { SuppressionStore } from '../../functions/core/suppression';
import { createEventsHandler, type EventsHandler } from '../../functions/events/events';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type RecordSpec, sesEventRecord } from '../../infra/local/ses-event-records';
import { type DynamoFixture, startDynamo } from '../support/dynamo';
import { type LocalSqs, startLocalSqs } from '../support/sqs';

let db: DynamoFixture;
let sqs: LocalSqs;
let store: Store;
let suppressions: SuppressionStore;
let handle: EventsHandler;

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  [db, sqs] = await Promise.all([
    startDynamo(),
    startLocalSqs({ queue: 'ses-events', dlq: 'ses-events-dlq' }),
  ]);
  const clock = { now: () => Date.now() };
  const options = { doc: db.doc, tableName: db.tableName, clock };
  store = createDynamoStore(options);
  suppressions = createSuppressionStore(options);
  handle = createEventsHandler({
    suppressions,
    deadLetters: createQueueAdapter({ sqs: sqs.client, queueUrl: sqs.dlqUrl, dlqUrl: sqs.dlqUrl }),
    logger: new Logger({ serviceName: 'events-test', logLevel: 'ERROR' }),
    metrics: new Metrics({ namespace: 'TenantMailerTest', serviceName: 'events-test' }),
    clock,
    maxReceives: 3,
  });
});

afterAll(async () => {
  await Promise.all([db?.close(), sqs?.close()]);
});

/** A message the dispatcher sent through SES (claim and delivery recorded with SES's message id). */
async function sentThroughSes(tenantId: string, messageId = 'msg-1') {
  const now = Date.now();
  const claim = await store.claimMessage({
    tenantId,
    key: messageId,
    now,
    leaseUntil: now + 30_000,
    contentHash: 'h',
  });
  if (claim.outcome !== 'claimed') throw new Error('not claimed');
  const sesMessageId = `ses-${randomUUID()}`;
  await store.putDelivery(tenantId, {
    id: claim.deliveryId,
    messageId,
    kind: 'notification',
    route: 'platform',
    fallbackReason: null,
    status: 'sent',
    accepted: ['gone@example.test'],
    rejected: [],
    providerMessageId: sesMessageId,
    attempts: 1,
    timings: { totalMs: 5 },
    at: new Date(now).toISOString(),
  });
  const tags = sesTags({ tenantId, route: 'platform', fallbackReason: null, messageId });
  const mail = {
    messageId: sesMessageId,
    source: 'mail@platform.test',
    destination: ['gone@example.test'],
    tags: Object.fromEntries(tags.map((t) => [t.Name, [t.Value]])),
  };
  return { mail, body: (spec: RecordSpec) => JSON.stringify(sesEventRecord(mail, spec)) };
}

function record(body: string, receives = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: {
      ApproximateReceiveCount: String(receives),
      SentTimestamp: String(Date.now()),
      SenderId: 'sns',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ses-events',
    awsRegion: 'us-east-1',
  };
}

const invoke = (records: SQSRecord[]) =>
  handle(
    { Records: records },
    localLambdaContext('events', 10_000, () => Date.now()),
  );

async function dlq() {
  const messages = await sqs.receiveAll(sqs.dlqUrl);
  return messages.map((m) => ({
    body: m.Body ?? '',
    reason: m.MessageAttributes?.reason?.StringValue,
    detail: m.MessageAttributes?.detail?.StringValue,
  }));
}

const bounce = (bounceType: 'Permanent' | 'Transient', feedbackId = randomUUID()): RecordSpec => ({
  type: 'Bounce',
  bounceType,
  bounceSubType: bounceType === 'Permanent' ? 'General' : 'MailboxFull',
  recipients: [{ address: 'Gone@Example.test' }],
  feedbackId,
});

describe('delivery events function', () => {
  it('a Permanent bounce suppresses the address for that tenant and lands on the timeline', async () => {
    // Prepare
    const sent = await sentThroughSes('ev-bounce');

    // Act
    const response = await invoke([record(sent.body(bounce('Permanent')))]);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await suppressions.getSuppression('ev-bounce', 'gone@example.test')).toMatchObject({
      reason: 'bounce',
      source: 'ses',
      messageId: 'msg-1',
    });
    expect(await suppressions.getSuppression('ev-other', 'gone@example.test')).toBeNull();
    const delivery = await store.getDeliveryByMessageId('ev-bounce', 'msg-1');
    expect(delivery?.events).toEqual([
      {
        type: 'bounced',
        at: expect.any(String),
        recipient: 'gone@example.test',
        detail: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        },
      },
    ]);
  });

  it('appends an event SNS or SQS delivers twice only once', async () => {
    const sent = await sentThroughSes('ev-dup');
    const body = sent.body({ type: 'Delivery', recipients: ['gone@example.test'] });

    const first = await invoke([record(body), record(body)]);
    const again = await invoke([record(body, 2)]);

    expect([...first.batchItemFailures, ...again.batchItemFailures]).toEqual([]);
    expect((await store.getDeliveryByMessageId('ev-dup', 'msg-1'))?.events).toHaveLength(1);
  });

  it('records a Transient bounce without suppressing, and suppresses on a complaint', async () => {
    const sent = await sentThroughSes('ev-soft');

    await invoke([record(sent.body(bounce('Transient')))]);
    const afterSoft = await suppressions.getSuppression('ev-soft', 'gone@example.test');
    await invoke([record(sent.body({ type: 'Complaint', recipients: ['gone@example.test'] }))]);

    expect(afterSoft).toBeNull();
    expect(await suppressions.getSuppression('ev-soft', 'gone@example.test')).toMatchObject({
      reason: 'complaint',
    });
    const types = (await store.getDeliveryByMessageId('ev-soft', 'msg-1'))?.events?.map((e) => e.type);
    expect(types).toEqual(['bounced', 'complained']);
  });

  it('sends malformed, unknown and untagged records to its DLQ with a reason, and goes on with the batch', async () => {
    // Prepare
    const sent = await sentThroughSes('ev-mixed');
    const untagged = JSON.stringify(
      sesEventRecord({ ...sent.mail, tags: {} }, { type: 'Delivery', recipients: ['a@example.test'] }),
    );
    const records = [
      record('not json'),
      record(JSON.stringify({ eventType: 'Open', mail: sent.mail, open: {} })),
      record(untagged),
      record(JSON.stringify({ eventType: 'Bounce', mail: sent.mail, bounce: { bounceType: 'Permanent' } })),
      record(sent.body({ type: 'Delivery', recipients: ['gone@example.test'] })),
    ];

    // Act
    const response = await invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const dead = await dlq();
    expect(dead.map((d) => d.reason).sort()).toEqual(['malformed', 'malformed', 'unknown-event', 'untagged']);
    expect(dead.find((d) => d.reason === 'unknown-event')?.detail).toBe('eventType Open');
    expect((await store.getDeliveryByMessageId('ev-mixed', 'msg-1'))?.events).toHaveLength(1);
  });

  it('retries an event whose delivery is not recorded yet, then dead-letters it as delivery-not-found', async () => {
    // Prepare: tags naming a delivery that was never recorded.
    const tags = sesTags({
      tenantId: 'ev-missing',
      route: 'platform',
      fallbackReason: null,
      messageId: 'nope',
    });
    const mail = {
      messageId: 'ses-missing',
      source: 'mail@platform.test',
      destination: ['a@example.test'],
      tags: Object.fromEntries(tags.map((t) => [t.Name, [t.Value]])),
    };
    const body = JSON.stringify(sesEventRecord(mail, { type: 'Delivery', recipients: ['a@example.test'] }));
    const early = record(body, 1);

    // Act
    const first = await invoke([early]);
    const last = await invoke([record(body, 3)]);

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: early.messageId }]);
    expect(last.batchItemFailures).toEqual([]);
    expect((await dlq()).map((d) => d.reason)).toEqual(['delivery-not-found']);
  });
});

describe('reputation warning', () => {
  it('queues one reputation.warning when a tenant passes 5 % hard bounces of 100 recipients in 24 hours', async () => {
    // Prepare: a handler with the tenant's 24-hour counts and the alerts queue, as the stack wires it.
    const alertsQueueUrl = await sqs.createQueue('alerts-reputation');
    const clock = { now: () => Date.now() };
    const options = { doc: db.doc, tableName: db.tableName, clock };
    const logger = new Logger({ serviceName: 'events-test', logLevel: 'ERROR' });
    const withWarnings = createEventsHandler({
      suppressions,
      deadLetters: createQueueAdapter({ sqs: sqs.client, queueUrl: sqs.dlqUrl, dlqUrl: sqs.dlqUrl }),
      logger,
      metrics: new Metrics({ namespace: 'TenantMailerTest', serviceName: 'events-test' }),
      clock,
      maxReceives: 3,
      reputation: createReputationStore(options),
      alerts: createAlertEmitter({
        sqs: sqs.client,
        queueUrl: alertsQueueUrl,
        store: createNotifyStore(options),
        clock,
        logger,
      }),
    });
    const run = (records: SQSRecord[]) =>
      withWarnings(
        { Records: records },
        localLambdaContext('events', 10_000, () => Date.now()),
      );
    const sent = await sentThroughSes('repco', 'rep-1');
    const sends = Array.from({ length: 100 }, () => record(sent.body({ type: 'Send' })));
    const bounce = (n: number) =>
      record(
        sent.body({
          type: 'Bounce',
          bounceType: 'Permanent',
          bounceSubType: 'General',
          recipients: [{ address: `gone${n}@example.test` }],
          feedbackId: `fb-rep-${n}`,
        }),
      );

    // Act: 4 bounces (4 %), then 2 more in two concurrent batches (6 %), then one more.
    for (let i = 0; i < 100; i += 10) await run(sends.slice(i, i + 10));
    await run([1, 2, 3, 4].map(bounce));
    const below = await sqs.receiveAll(alertsQueueUrl);
    await Promise.all([run([bounce(5)]), run([bounce(6)])]);
    await run([bounce(7)]);
    const above = await sqs.receiveAll(alertsQueueUrl);

    // Assess
    expect(below).toEqual([]);
    expect(above).toHaveLength(1);
    const message = JSON.parse(above[0]?.Body ?? '{}');
    expect(message.event).toMatchObject({
      type: 'reputation.warning',
      tenantId: 'repco',
      data: { kind: 'bounce', recipients: 100, threshold: 0.05 },
    });
    expect(message.event.data.bounces).toBeGreaterThanOrEqual(5);
  });
});
