import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlertEmitter } from '../../functions/adapters/alert-emitter';
import { createQueueAdapter } from '../../functions/adapters/queue';
import type { AlertMessage } from '../../functions/core/alert-message';
import {
  type AlertEvent,
  deadLetterDigestDueAt,
  deadLetterWindowStart,
  REMINDER_INTERVAL_MS,
} from '../../functions/core/alerts';
import { type HealthState, initialHealth } from '../../functions/core/types';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { startWebhookReceiver } from '../../infra/local/webhook-receiver';
import { type AlertsFixture, receiveRecords, startDispatcherAlerts } from '../support/alerts';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';
import { eventually } from '../support/local-stack';
import { TEST_HOST, TEST_TLS } from '../support/smtp';

let f: DispatcherFixture;
let alerts: AlertsFixture;
let alertsQueueUrl: string;

useDispatcherFixture((started) => {
  f = started;
});

beforeAll(async () => {
  ({ alerts, queueUrl: alertsQueueUrl } = await startDispatcherAlerts(f, 'dispatcher-alerts'));
});

beforeEach(async () => {
  await drain();
});

/** A dispatcher container that emits alerts onto the real alerts queue. */
function container(): DispatchHandler {
  return f.newContainer({
    alerts: createAlertEmitter({
      sqs: f.sqs.client,
      queueUrl: alertsQueueUrl,
      store: alerts.store,
      clock: f.clock,
      logger: new Logger({ serviceName: 'alerts-test', logLevel: 'ERROR' }),
    }),
  });
}

/** Everything on the alerts queue now, removed from it. */
async function drain(): Promise<AlertMessage[]> {
  const messages: Message[] = await f.sqs.receiveAll(alertsQueueUrl);
  for (const m of messages) {
    await f.sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: alertsQueueUrl, ReceiptHandle: m.ReceiptHandle }),
    );
  }
  return messages.map((m) => JSON.parse(m.Body ?? '{}') as AlertMessage);
}

function eventsOf(messages: AlertMessage[], tenantId: string): AlertEvent[] {
  return messages.flatMap((m) => (m.kind === 'event' && m.event.tenantId === tenantId ? [m.event] : []));
}

async function openBreaker(tenantId: string, version: number, retryAt: number): Promise<HealthState> {
  const health: HealthState = {
    ...initialHealth(version),
    state: 'unhealthy',
    consecutiveFailures: 3,
    retryAt: new Date(retryAt).toISOString(),
    lastFailure: {
      class: 'server-rejected',
      code: 'EENVELOPE',
      phase: 'MAIL',
      message: '550 5.7.1 Sender not allowed',
      at: new Date(retryAt - 60_000).toISOString(),
    },
  };
  expect(await f.store.writeHealth(tenantId, health)).toBe(true);
  return health;
}

describe('dispatcher: tenant alerts', () => {
  it('two containers failing at once for one tenant emit one sender.unhealthy', async () => {
    // Prepare: a server that refuses the login (opens the breaker at once)
    const server = await f.smtp.start();
    await f.smtpTenant('race', server.port, { password: 'wrong-password' });
    const [a, b] = [container(), container()];
    const first = await f.receive([mail('race', { subject: 'a' })]);
    const second = await f.receive([mail('race', { subject: 'b' })]);

    // Act
    await Promise.all([f.invoke(first, { handler: a }), f.invoke(second, { handler: b })]);

    // Assess
    const events = eventsOf(await drain(), 'race');
    expect(events.map((e) => e.type)).toEqual(['sender.unhealthy']);
    expect(events[0]?.data).toMatchObject({
      lastFailure: { class: 'auth', phase: 'AUTH' },
      fallback: 'platform',
      configVersion: 1,
    });
    expect(await f.ses.store()).toHaveLength(2);
  });

  it('a config change that resets health emits nothing, and the next success is no recovery', async () => {
    // Prepare
    const server = await f.smtp.start();
    const config = await f.smtpTenant('reset', server.port);
    await openBreaker('reset', config.version, f.clock.now() + 600_000);
    await f.smtpTenant('reset', server.port);

    // Act
    await f.invoke(await f.receive([mail('reset')]), { handler: container() });

    // Assess
    expect(server.received).toHaveLength(1);
    expect(eventsOf(await drain(), 'reset')).toEqual([]);
  });

  it('a successful probe emits sender.recovered since the breaker opened', async () => {
    // Prepare
    const server = await f.smtp.start();
    const config = await f.smtpTenant('heal', server.port);
    await openBreaker('heal', config.version, f.clock.now() - 1);
    const since = f.clock.now() - 300_000;
    await alerts.store.openOutage('heal', config.version, since);

    // Act
    await f.invoke(await f.receive([mail('heal')]), { handler: container() });

    // Assess
    expect(server.received).toHaveLength(1);
    const events = eventsOf(await drain(), 'heal');
    expect(events.map((e) => e.type)).toEqual(['sender.recovered']);
    expect(events[0]?.data).toEqual({ unhealthySince: new Date(since).toISOString() });
  });

  it('reminds with sender.still-unhealthy at a failed probe 24 h after the last alert, not sooner', async () => {
    // Prepare
    const server = await f.smtp.start({ mail: '550 5.7.1 Sender not allowed' });
    const config = await f.smtpTenant('sick', server.port);
    await alerts.store.openOutage('sick', config.version, f.clock.now());
    await openBreaker('sick', config.version, f.clock.now() - 1);
    await f.invoke(await f.receive([mail('sick', { subject: 'early probe' })]), { handler: container() });
    const early = eventsOf(await drain(), 'sick');
    f.clock.shift(REMINDER_INTERVAL_MS + 3_600_000);

    // Act
    await f.invoke(await f.receive([mail('sick', { subject: 'late probe' })]), { handler: container() });

    // Assess
    expect(early).toEqual([]);
    const events = eventsOf(await drain(), 'sick');
    expect(events.map((e) => e.type)).toEqual(['sender.still-unhealthy']);
    expect(events[0]?.data).toMatchObject({
      lastFailure: { class: 'server-rejected' },
      fallback: 'platform',
    });
  });

  it('queues one dead-letter digest per tenant and window, counting every dead letter', async () => {
    // Prepare: close to the end of a window, so the digest's delay is short
    const now = f.clock.now();
    f.clock.shift(deadLetterDigestDueAt(deadLetterWindowStart(now)) - 1_500 - now);
    const window = deadLetterWindowStart(f.clock.now());
    const bad = [1, 2, 3].map((i) => ({ ...mail('dlq'), to: `not-an-address-${i}` }));

    // Act
    await f.invoke(await f.receive(bad), { handler: container() });

    // Assess
    expect(await alerts.store.deadLetters('dlq', window)).toMatchObject({
      count: 3,
      reasons: { validation: 3 },
    });
    const digests = await eventually('the digest on the alerts queue', 10_000, async () => {
      const found = (await drain()).filter((m) => m.kind === 'dead-letter-digest');
      return found.length > 0 ? found : undefined;
    });
    expect(digests).toEqual([{ v: 1, kind: 'dead-letter-digest', tenantId: 'dlq', windowStart: window }]);
  });

  it('a receiver that hangs does not delay mail: the alert waits on its own queue', async () => {
    // Prepare
    const receiver = await startWebhookReceiver({ tls: TEST_TLS, answer: () => 'hang' });
    try {
      await alerts.store.putSettings(
        {
          tenantId: 'slow',
          emails: [],
          webhook: {
            url: `https://${TEST_HOST}:${receiver.port}/hooks`,
            secretCiphertext: await alerts.secrets.encrypt('slow', 'whsec-slow-0123456789'),
          },
          events: ['sender.unhealthy'],
          version: 1,
          updatedAt: new Date(f.clock.now()).toISOString(),
        },
        0,
      );
      const server = await f.smtp.start();
      await f.smtpTenant('slow', server.port, { password: 'wrong-password' });

      // Act
      const response = await f.invoke(await f.receive([mail('slow')]), { handler: container() });
      const mailed = (await f.ses.store()).length;
      const receivedWhileMailing = receiver.received.length;
      const queued = await drain();
      const notify = alerts.notifier(
        createQueueAdapter({ sqs: f.sqs.client, queueUrl: alertsQueueUrl, dlqUrl: f.sqs.dlqUrl }),
      );
      const records = await receiveRecords(f.sqs, alertsQueueUrl, queued);
      const notified = await notify(
        { Records: records },
        localLambdaContext('notifier', 30_000, f.clock.now),
      );

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(mailed).toBe(1);
      expect(receivedWhileMailing).toBe(0);
      expect(eventsOf(queued, 'slow').map((e) => e.type)).toEqual(['sender.unhealthy']);
      expect(notified.batchItemFailures).toHaveLength(1);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});
