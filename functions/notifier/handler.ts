import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import { systemClock } from '../core/types';
import { loadSettings, SettingsError } from '../settings';
import { alertAdaptersFrom, platformWebhookFrom, queueFrom } from '../wiring';
import { createNotifier, type NotifierHandler } from './notifier';

let notify: NotifierHandler | undefined;

/** Builds the notifier once per container from the environment (endpoints from AWS_ENDPOINT_URL_*). */
export function buildNotifier(env: Record<string, string | undefined> = process.env): NotifierHandler {
  const settings = loadSettings(env);
  if (!settings.alertsQueueUrl) throw new SettingsError('invalid settings: ALERTS_QUEUE_URL is required');
  const clock = systemClock;
  const logger = new Logger();
  const metrics = new Metrics();
  const alerts = alertAdaptersFrom(settings, clock);
  if (!alerts) throw new SettingsError('invalid settings: ALERTS_QUEUE_URL is required');
  const { store, delivery } = alerts;
  const platformWebhook = platformWebhookFrom(settings, clock);
  return createNotifier({
    store,
    delivery,
    queue: queueFrom(settings, settings.alertsQueueUrl),
    ...(platformWebhook && { platformWebhook }),
    logger,
    metrics,
    clock,
  });
}

/** Lambda entry: the alerts queue as event source with ReportBatchItemFailures. */
export const handler = async (event: SQSEvent, context: Context) => {
  notify ??= buildNotifier();
  return notify(event, context);
};
