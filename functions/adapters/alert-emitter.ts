import { randomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AlertMessage } from '../core/alert-message';
import {
  type AlertEmitter,
  type AlertEvent,
  deadLetterDigestDueAt,
  deadLetterWindowStart,
  REMINDER_INTERVAL_MS,
  unhealthyData,
} from '../core/alerts';
import { errorText } from '../core/errors';
import type { NotifyStore } from '../core/ports';
import type { Clock } from '../core/types';

export interface AlertEmitterOptions {
  /** Built with `useQueueUrlAsEndpoint: false`, as every SQS client. */
  sqs: SQSClient;
  queueUrl: string;
  store: Pick<NotifyStore, 'openOutage' | 'claimReminder' | 'closeOutage' | 'addDeadLetter'>;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Each SQS or DynamoDB step ends after this (default 2 s): an alert never holds mail long. */
  timeoutMs?: number;
}

/** The dispatcher's side of tenant alerts: outage bookkeeping and events onto the alerts queue. */
export function createAlertEmitter(options: AlertEmitterOptions): AlertEmitter {
  const { sqs, queueUrl, store, clock, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;

  async function send(message: AlertMessage, delaySeconds = 0): Promise<void> {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        ...(delaySeconds > 0 && { DelaySeconds: Math.min(900, delaySeconds) }),
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
  }

  function event(tenantId: string, type: AlertEvent['type'], data: AlertEvent['data']): AlertMessage {
    const id = `evt_${randomBytes(16).toString('base64url')}`;
    return {
      v: 1,
      kind: 'event',
      event: { id, type, tenantId, createdAt: new Date(clock.now()).toISOString(), data },
    };
  }

  async function guarded(what: string, tenantId: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      logger.warn('alert not queued', { tenantId, alert: what, error: errorText(err) });
    }
  }

  return {
    breakerChanged: ({ tenantId, transition, health, previous, fallback }) =>
      guarded(transition, tenantId, async () => {
        const now = clock.now();
        const failure = health.lastFailure ?? previous.lastFailure;
        if (transition === 'opened') {
          await store.openOutage(tenantId, health.configVersion, now);
          const data = unhealthyData({
            failure,
            retryAt: health.retryAt,
            fallback,
            configVersion: health.configVersion,
          });
          await send(event(tenantId, 'sender.unhealthy', data));
        } else if (transition === 'reopened') {
          const claimed = await store.claimReminder(tenantId, now, REMINDER_INTERVAL_MS);
          if (!claimed) return;
          const { lastFailure } = unhealthyData({ failure, retryAt: null, fallback, configVersion: 0 });
          await send(
            event(tenantId, 'sender.still-unhealthy', {
              unhealthySince: claimed.since,
              lastFailure,
              fallback,
            }),
          );
        } else {
          const outage = await store.closeOutage(tenantId);
          const since = outage?.since ?? previous.lastFailure?.at ?? new Date(now).toISOString();
          await send(event(tenantId, 'sender.recovered', { unhealthySince: since }));
        }
        logger.info('alert queued', { tenantId, transition });
      }),

    domainChanged: ({ tenantId, ...data }) =>
      guarded(`domain.${data.status}`, tenantId, async () => {
        await send(event(tenantId, `domain.${data.status}`, data));
        logger.info('alert queued', { tenantId, domain: data.domain, status: data.status });
      }),

    reputationWarning: ({ tenantId, ...data }) =>
      guarded('reputation.warning', tenantId, async () => {
        await send(event(tenantId, 'reputation.warning', data));
        logger.info('alert queued', { tenantId, kind: data.kind });
      }),

    deadLettered: ({ tenantId, reason, messageId }) =>
      guarded('dead-lettered', tenantId, async () => {
        const now = clock.now();
        const windowStart = deadLetterWindowStart(now);
        const { first } = await store.addDeadLetter(tenantId, windowStart, reason, messageId);
        if (!first) return;
        // Read when the window has closed (the notifier waits out any remainder itself).
        const delay = Math.ceil((deadLetterDigestDueAt(windowStart) - now) / 1000) + 1;
        await send({ v: 1, kind: 'dead-letter-digest', tenantId, windowStart }, delay);
      }),
  };
}
