import { createHash } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type AlertMessage, needsOutageCounts, parseAlertMessage } from '../core/alert-message';
import {
  type AlertEvent,
  deadLetterDigestDueAt,
  NOTIFY_MAX_ATTEMPTS,
  type NotificationLogEntry,
  type NotificationSettings,
  notifyRetryDelaySeconds,
  subscribed,
} from '../core/alerts';
import { errorText } from '../core/errors';
import type { AlertDelivery, ChannelResult, NotifyStore } from '../core/ports';
import type { Clock } from '../core/types';

/** Everything the notifier talks to, built once per container by the handler (or by a test). */
export interface NotifierDeps {
  store: NotifyStore;
  delivery: AlertDelivery;
  queue: { changeVisibility(receiptHandle: string, seconds: number): Promise<void> };
  /** The platform operators' channel (stack props); the secret is fetched once per container. */
  platformWebhook?: { url: string; secret(): Promise<string> };
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  metrics: Pick<Metrics, 'addMetric' | 'publishStoredMetrics' | 'hasStoredMetrics'>;
  clock: Clock;
}

/** The record stays queued (a batch item failure); its visibility was already set. */
export class NotifyLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotifyLaterError';
  }
}

type ChannelKey = 'email' | 'webhook' | 'platform';

interface Channel {
  key: ChannelKey;
  send(event: AlertEvent): Promise<ChannelResult>;
}

/** A dead-letter window's digest is one event with an id derived from tenant and window (same on retries). */
function digestEventId(tenantId: string, windowStart: number): string {
  return `evt_${createHash('sha256').update(`dead-letter\n${tenantId}\n${windowStart}`).digest('base64url').slice(0, 24)}`;
}

/** The event a queue message stands for, completed from the store; null when there is nothing to send. */
async function eventOf(deps: NotifierDeps, msg: AlertMessage, record: SQSRecord): Promise<AlertEvent | null> {
  if (msg.kind === 'dead-letter-digest') {
    const due = deadLetterDigestDueAt(msg.windowStart);
    const now = deps.clock.now();
    if (now < due) {
      await deps.queue.changeVisibility(record.receiptHandle, Math.ceil((due - now) / 1000) + 1);
      throw new NotifyLaterError('dead-letter window still open');
    }
    const data = await deps.store.deadLetters(msg.tenantId, msg.windowStart);
    if (data.count === 0) return null;
    return {
      id: digestEventId(msg.tenantId, msg.windowStart),
      type: 'messages.dead-lettered',
      tenantId: msg.tenantId,
      createdAt: new Date(due).toISOString(),
      data,
    };
  }
  const event = msg.event;
  if (!needsOutageCounts(event)) return event;
  const since = (event.data as { unhealthySince?: unknown }).unhealthySince;
  const from = typeof since === 'string' ? since : event.createdAt;
  // The window ends at the event's own time, so every retry counts the same messages.
  const counts = await deps.store.countOutage(event.tenantId, from, event.createdAt);
  return {
    ...event,
    data: {
      ...event.data,
      unhealthySince: from,
      messagesViaFallback: counts.viaFallback,
      messagesHeld: counts.held,
    },
  };
}

function channelsFor(
  deps: NotifierDeps,
  settings: NotificationSettings | null,
  event: AlertEvent,
): Channel[] {
  const channels: Channel[] = [];
  if (settings && subscribed(settings.events, event.type)) {
    if (settings.emails.length > 0) {
      channels.push({ key: 'email', send: (e) => deps.delivery.email(settings.emails, e) });
    }
    const webhook = settings.webhook;
    if (webhook) channels.push({ key: 'webhook', send: (e) => deps.delivery.webhook(webhook, e) });
  }
  const platform = deps.platformWebhook;
  if (platform && event.type !== 'test') {
    channels.push({
      key: 'platform',
      send: async (e) => {
        let secret: string;
        try {
          secret = await platform.secret();
        } catch (err) {
          // An unreadable secret is a failed attempt of this channel, retried like a refused POST.
          return { channel: 'webhook', target: platform.url, ok: false, message: errorText(err) };
        }
        return deps.delivery.platformWebhook({ url: platform.url, secret }, e);
      },
    });
  }
  return channels;
}

/** Delivers one event to every channel not yet done; returns the channels that want another attempt. */
async function deliverEvent(deps: NotifierDeps, event: AlertEvent): Promise<number[]> {
  const settings = await deps.store.getSettings(event.tenantId);
  const channels = channelsFor(deps, settings, event);
  const [tenantLog, platformLog] = await Promise.all([
    deps.store.eventLog(event.tenantId, event.createdAt, event.id),
    deps.platformWebhook ? deps.store.eventLog(null, event.createdAt, event.id) : Promise.resolve([]),
  ]);
  const pending: number[] = [];
  await Promise.all(
    channels.map(async (channel) => {
      const logChannel = channel.key === 'platform' ? 'webhook' : channel.key;
      const previous = (channel.key === 'platform' ? platformLog : tenantLog).find(
        (e) => e.channel === logChannel,
      );
      if (previous?.final) return;
      const attempts = (previous?.attempts ?? 0) + 1;
      const result = await channel.send(event);
      const final = result.ok || attempts >= NOTIFY_MAX_ATTEMPTS;
      const entry: NotificationLogEntry = {
        at: new Date(deps.clock.now()).toISOString(),
        eventId: event.id,
        type: event.type,
        eventCreatedAt: event.createdAt,
        channel: logChannel,
        target: result.target,
        ok: result.ok,
        attempts,
        final,
        message: result.message,
        ...(result.status !== undefined && { status: result.status }),
      };
      await deps.store.putLog(channel.key === 'platform' ? null : event.tenantId, entry);
      const context = { tenantId: event.tenantId, eventId: event.id, type: event.type, channel: channel.key };
      if (result.ok) {
        deps.metrics.addMetric('notificationDelivered', MetricUnit.Count, 1);
        deps.logger.info('alert delivered', { ...context, attempts });
      } else if (final) {
        deps.metrics.addMetric('notificationFailed', MetricUnit.Count, 1);
        deps.logger.error('alert delivery failed for good', { ...context, attempts, reason: result.message });
      } else {
        deps.logger.warn('alert delivery failed; retrying', { ...context, attempts, reason: result.message });
        pending.push(attempts);
      }
    }),
  );
  return pending;
}

/** One alerts-queue record: deliver, or leave it queued with the backoff as its visibility. */
export async function processAlertRecord(deps: NotifierDeps, record: SQSRecord): Promise<void> {
  const msg = parseAlertMessage(record.body);
  if (!msg) {
    // Only our own code writes this queue; a body we cannot read is a bug, not a reason to retry.
    deps.logger.error('alerts queue message not understood; dropped', { messageId: record.messageId });
    return;
  }
  const event = await eventOf(deps, msg, record);
  if (!event) return;
  const pending = await deliverEvent(deps, event);
  if (pending.length === 0) return;
  const delay = notifyRetryDelaySeconds(Math.max(...pending)) ?? 60;
  await deps.queue.changeVisibility(record.receiptHandle, delay);
  throw new NotifyLaterError(`${pending.length} channel(s) failed; next attempt in ${delay} s`);
}

export type NotifierHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The notifier Lambda over injected deps: one SQS batch → partial batch response. */
export function createNotifier(deps: NotifierDeps): NotifierHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => processAlertRecord(deps, record),
        processor,
        {
          context,
          throwOnFullBatchFailure: false,
        },
      );
    } finally {
      for (const error of processor.errors) {
        if (error instanceof NotifyLaterError)
          deps.logger.info('alert left queued', { reason: error.message });
        else deps.logger.error('alert record failed', { error });
      }
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  };
}
