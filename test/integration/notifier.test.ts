import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQueueAdapter } from '../../functions/adapters/queue';
import { createSecretReader } from '../../functions/adapters/secrets-manager';
import type { AlertMessage } from '../../functions/core/alert-message';
import {
  type AlertEvent,
  DEAD_LETTER_WINDOW_SECONDS,
  deadLetterWindowStart,
} from '../../functions/core/alerts';
import type { NotifierDeps } from '../../functions/notifier/notifier';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type SecretsStandIn, startSecretsStandIn } from '../../infra/local/secrets-stand-in';
import {
  startWebhookReceiver,
  type WebhookAnswer,
  type WebhookReceiver,
} from '../../infra/local/webhook-receiver';
import { type AlertsFixture, receiveRecords, startDispatcherAlerts } from '../support/alerts';
import { localClientConfig } from '../support/aws-client';
import { type DispatcherFixture, useDispatcherFixture } from '../support/dispatcher';
import { TEST_HOST, TEST_TLS } from '../support/smtp';

const SECRET = 'whsec-notifier-0123456789';
const PLATFORM_SECRET = 'whsec-platform-ops-0123456789';

let f: DispatcherFixture;
let secrets: SecretsStandIn;
let secretsClient: SecretsManagerClient;
let alerts: AlertsFixture;
let queue: NotifierDeps['queue'];
let alertsQueueUrl: string;
const receivers: WebhookReceiver[] = [];
let seq = 0;

useDispatcherFixture((fixture) => {
  f = fixture;
});

beforeAll(async () => {
  ({ alerts, queueUrl: alertsQueueUrl } = await startDispatcherAlerts(f, 'alerts'));
  queue = createQueueAdapter({ sqs: f.sqs.client, queueUrl: alertsQueueUrl, dlqUrl: f.sqs.dlqUrl });
  secrets = await startSecretsStandIn();
  secretsClient = new SecretsManagerClient(localClientConfig(secrets.url));
});

/** The platform webhook's secret as the notifier reads it: Secrets Manager (the stand-in), cached. */
const platformSecret = (secretId: string) =>
  createSecretReader({ client: secretsClient, secretId, clock: f.clock });

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await alerts?.close();
  secretsClient?.destroy();
  await secrets?.close();
});

beforeEach(async () => {
  await f.sqs.receiveAll(alertsQueueUrl, { visibilityTimeout: 0 });
});

async function receiver(answer?: (n: number) => WebhookAnswer, secret = SECRET) {
  const r = await startWebhookReceiver({
    secret,
    tls: TEST_TLS,
    now: f.clock.now,
    ...(answer && { answer }),
  });
  receivers.push(r);
  return { r, url: `https://${TEST_HOST}:${r.port}/hooks` };
}

/** A tenant with fresh alert settings: its email and the given webhook. */
async function tenant(url: string | null, events?: AlertEvent['type'][]) {
  seq += 1;
  const tenantId = `t${seq}`;
  await alerts.store.putSettings(
    {
      tenantId,
      emails: [`ops@${tenantId}.example`],
      webhook: url ? { url, secretCiphertext: await alerts.secrets.encrypt(tenantId, SECRET) } : null,
      events: events ?? [
        'sender.unhealthy',
        'sender.recovered',
        'sender.still-unhealthy',
        'messages.dead-lettered',
      ],
      version: 1,
      updatedAt: new Date(f.clock.now()).toISOString(),
    },
    0,
  );
  return tenantId;
}

function unhealthyEvent(tenantId: string): AlertMessage {
  return {
    v: 1,
    kind: 'event',
    event: {
      id: `evt_${'u'.repeat(12)}${tenantId.padStart(8, '0')}`,
      type: 'sender.unhealthy',
      tenantId,
      createdAt: new Date(f.clock.now()).toISOString(),
      data: {
        lastFailure: { class: 'auth', code: 'EAUTH', phase: 'AUTH', message: '535 no' },
        retryAt: null,
        fallback: 'platform',
        configVersion: 1,
      },
    },
  };
}

/** Invokes the notifier as the event source mapping does: what succeeded is deleted from the queue. */
async function run(records: Awaited<ReturnType<typeof receiveRecords>>, over: Partial<NotifierDeps> = {}) {
  const handler = alerts.notifier(queue, over);
  const response = await handler({ Records: records }, localLambdaContext('notifier', 30_000, f.clock.now));
  const failed = new Set(response.batchItemFailures.map((x) => x.itemIdentifier));
  for (const record of records) {
    if (failed.has(record.messageId)) continue;
    await f.sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: alertsQueueUrl, ReceiptHandle: record.receiptHandle }),
    );
  }
  return response;
}

async function sesFor(tenantId: string) {
  return (await f.ses.store()).filter((m) => m.destination.to.includes(`ops@${tenantId}.example`));
}

describe('notifier', () => {
  it('delivers an event by email and signed webhook, and logs both', async () => {
    // Prepare
    const { r, url } = await receiver();
    const tenantId = await tenant(url);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);

    // Act
    const response = await run(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]?.verified).toBe(true);
    const mails = await sesFor(tenantId);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toBe(
      `[Platform] Mail from ${tenantId} is going out through Platform: your SMTP server refused login`.replace(
        /Platform/g,
        'Mailer',
      ),
    );
    const log = await alerts.store.listLog(tenantId, { limit: 10, cursor: null });
    expect(log.items.map((i) => [i.channel, i.ok, i.attempts, i.final]).sort()).toEqual([
      ['email', true, 1, true],
      ['webhook', true, 1, true],
    ]);
  });

  it('retries a receiver answering 500 after about a minute with the same id, without mailing again', async () => {
    // Prepare
    const { r, url } = await receiver((n) => (n === 1 ? 500 : 204));
    const tenantId = await tenant(url);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);

    // Act
    const first = await run(records);
    const inflight = (await f.sqs.inflight('alerts')).find(
      (x) => x.receiptHandle === records[0]?.receiptHandle,
    );
    const second = await run(records);

    // Assess
    expect(first.batchItemFailures).toHaveLength(1);
    expect(inflight?.visibilityDeadline).toBeGreaterThan(Date.now() + 50_000);
    expect(second.batchItemFailures).toEqual([]);
    const ids = r.received.map((x) => x.headers['tenant-mailer-event-id']);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(await sesFor(tenantId)).toHaveLength(1);
    const log = await alerts.store.listLog(tenantId, { limit: 10, cursor: null });
    const webhook = log.items.find((i) => i.channel === 'webhook');
    expect(webhook).toMatchObject({ ok: true, status: 204, attempts: 2, final: true });
  });

  it('treats a receiver that hangs as a failure and retries it', async () => {
    // Prepare
    const { url } = await receiver(() => 'hang');
    const tenantId = await tenant(url);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);

    // Act
    const response = await run(records);

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    const log = await alerts.store.listLog(tenantId, { limit: 10, cursor: null });
    expect(log.items.find((i) => i.channel === 'webhook')).toMatchObject({
      ok: false,
      attempts: 1,
      final: false,
    });
  });

  it('records a channel as failed after its last attempt and stops retrying', async () => {
    // Prepare
    const { r, url } = await receiver(() => 503);
    const tenantId = await tenant(url);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);
    const results = [];

    // Act
    for (let i = 0; i < 6; i += 1) results.push((await run(records)).batchItemFailures.length);

    // Assess
    expect(results).toEqual([1, 1, 1, 1, 1, 0]);
    expect(r.received).toHaveLength(6);
    const log = await alerts.store.listLog(tenantId, { limit: 10, cursor: null });
    expect(log.items.find((i) => i.channel === 'webhook')).toMatchObject({
      ok: false,
      status: 503,
      attempts: 6,
      final: true,
    });
  });

  it('skips channels the tenant did not subscribe to, and sends every event to the platform channel', async () => {
    // Prepare
    const tenantMail = await receiver();
    const ops = await receiver(undefined, PLATFORM_SECRET);
    const tenantId = await tenant(tenantMail.url, ['messages.dead-lettered']);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);
    const secretId = secrets.put(`platform-${tenantId}`, PLATFORM_SECRET);

    // Act
    const response = await run(records, {
      platformWebhook: { url: ops.url, secret: platformSecret(secretId) },
    });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(tenantMail.r.received).toHaveLength(0);
    expect(await sesFor(tenantId)).toHaveLength(0);
    expect(ops.r.received).toHaveLength(1);
    expect(ops.r.received[0]?.verified).toBe(true);
    expect((await alerts.store.listLog(tenantId, { limit: 10, cursor: null })).items).toEqual([]);
  });

  it('retries the platform channel, naming no secret, while Secrets Manager cannot give its secret', async () => {
    // Prepare
    const ops = await receiver(undefined, PLATFORM_SECRET);
    const tenantId = await tenant((await receiver()).url, ['messages.dead-lettered']);
    const message = unhealthyEvent(tenantId);
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [message]);
    const event = (message as Extract<AlertMessage, { kind: 'event' }>).event;
    const platformLog = () => alerts.store.eventLog(null, event.createdAt, event.id);
    const missingId = `arn:aws:secretsmanager:us-east-1:000000000000:secret:missing-${tenantId}-AbCdEf`;

    // Act
    const missing = await run(records, {
      platformWebhook: { url: ops.url, secret: platformSecret(missingId) },
    });
    const failedLog = await platformLog();
    const stored = secrets.put(`missing-${tenantId}`, PLATFORM_SECRET);
    const found = await run(records, { platformWebhook: { url: ops.url, secret: platformSecret(stored) } });

    // Assess
    expect(missing.batchItemFailures).toHaveLength(1);
    expect(failedLog.map((i) => [i.channel, i.ok, i.attempts])).toEqual([['webhook', false, 1]]);
    expect(failedLog[0]?.message).toContain('ResourceNotFoundException');
    expect(found.batchItemFailures).toEqual([]);
    expect(ops.r.received).toHaveLength(1);
    expect(ops.r.received[0]?.verified).toBe(true);
    expect((await platformLog()).map((i) => [i.channel, i.ok, i.attempts])).toEqual([['webhook', true, 2]]);
    expect(JSON.stringify([failedLog, await platformLog()])).not.toContain(PLATFORM_SECRET);
  });

  it('aggregates dead letters of a 15-minute window into one event, sent when the window has closed', async () => {
    // Prepare
    const { r, url } = await receiver();
    const tenantId = await tenant(url);
    const window = deadLetterWindowStart(f.clock.now());
    const firsts = [];
    for (const [reason, id] of [
      ['undeliverable', 'm1'],
      ['validation', 'm2'],
      ['undeliverable', 'm3'],
    ]) {
      firsts.push((await alerts.store.addDeadLetter(tenantId, window, reason as string, id as string)).first);
    }
    const digest: AlertMessage = { v: 1, kind: 'dead-letter-digest', tenantId, windowStart: window };
    const early = await receiveRecords(f.sqs, alertsQueueUrl, [digest]);

    // Act
    const before = await run(early);
    f.clock.shift(DEAD_LETTER_WINDOW_SECONDS * 1000);
    const after = await run(early);

    // Assess
    expect(firsts).toEqual([true, false, false]);
    expect(before.batchItemFailures).toHaveLength(1);
    expect(after.batchItemFailures).toEqual([]);
    expect(r.received).toHaveLength(1);
    const event = JSON.parse(r.received[0]?.body ?? '{}') as AlertEvent;
    expect(event).toMatchObject({
      type: 'messages.dead-lettered',
      tenantId,
      data: { count: 3, reasons: { undeliverable: 2, validation: 1 }, lastMessageId: 'm3' },
    });
    expect(event.id).toMatch(/^evt_/);
  });

  it('counts the outage messages sent through the fallback into a recovered event', async () => {
    // Prepare
    const { r, url } = await receiver();
    const tenantId = await tenant(url);
    const since = new Date(f.clock.now() - 60_000).toISOString();
    for (const [i, route, status] of [
      [1, 'platform', 'sent'],
      [2, 'split', 'sent'],
      [3, null, 'held'],
    ] as const) {
      await f.store.putDelivery(tenantId, {
        id: `${new Date(f.clock.now() - 30_000 + i).toISOString()}#m${i}`,
        messageId: `m${i}`,
        kind: 'notification',
        route,
        fallbackReason: route ? 'auth' : 'unhealthy',
        status,
        accepted: [],
        rejected: [],
        attempts: 1,
        timings: { totalMs: 1 },
        at: new Date(f.clock.now()).toISOString(),
      });
    }
    const recovered: AlertMessage = {
      v: 1,
      kind: 'event',
      event: {
        id: 'evt_recovered000000001',
        type: 'sender.recovered',
        tenantId,
        createdAt: new Date(f.clock.now()).toISOString(),
        data: { unhealthySince: since },
      },
    };
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [recovered]);

    // Act
    await run(records);

    // Assess
    expect(JSON.parse(r.received[0]?.body ?? '{}').data).toEqual({
      unhealthySince: since,
      messagesViaFallback: 2,
      messagesHeld: 1,
    });
  });

  it('counts a delivered and a failed-for-good alert in its metrics', async () => {
    // Prepare
    const { url } = await receiver();
    const tenantId = await tenant(url);
    const metrics = new Metrics({ namespace: 'test', serviceName: 'notifier-test' });
    const added: string[] = [];
    const records = await receiveRecords(f.sqs, alertsQueueUrl, [unhealthyEvent(tenantId)]);

    // Act
    await run(records, {
      metrics: {
        addMetric: ((name: string) => {
          added.push(name);
        }) as never,
        hasStoredMetrics: () => metrics.hasStoredMetrics(),
        publishStoredMetrics: (() => undefined) as never,
      },
    });

    // Assess
    expect(added).toEqual(['notificationDelivered', 'notificationDelivered']);
  });
});
