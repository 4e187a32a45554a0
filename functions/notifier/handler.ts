import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { createAlertAdapters } from '../adapters/alert-wiring';
import { createQueueAdapter } from '../adapters/queue';
import { systemClock } from '../core/types';
import { loadSettings, SettingsError } from '../settings';
import { createNotifier, type NotifierDeps, type NotifierHandler } from './notifier';

let notify: NotifierHandler | undefined;

/** Builds the notifier once per container from the environment (endpoints from AWS_ENDPOINT_URL_*). */
export function buildNotifier(env: Record<string, string | undefined> = process.env): NotifierHandler {
  const settings = loadSettings(env);
  if (!settings.alertsQueueUrl) throw new SettingsError('invalid settings: ALERTS_QUEUE_URL is required');
  const clock = systemClock;
  const logger = new Logger();
  const metrics = new Metrics();
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const { store, delivery } = createAlertAdapters({
    doc,
    tableName: settings.tableName,
    kms: new KMSClient({}),
    keyId: settings.kmsKeyId,
    ses: new SESv2Client({}),
    configurationSet: settings.sesConfigurationSet,
    allowPrivate: settings.allowPrivateSmtp,
    clock,
    platform: { address: settings.platformFromAddress, name: settings.platformName },
  });
  // The platform channel (PLATFORM_WEBHOOK_URL / _SECRET_ARN) is wired once its secret reader lands.
  const platformWebhook = undefined as NotifierDeps['platformWebhook'];
  return createNotifier({
    store,
    delivery,
    // The local SQS's queue URLs carry a host that does not resolve; the endpoint comes from settings.
    queue: createQueueAdapter({
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      queueUrl: settings.alertsQueueUrl,
      dlqUrl: settings.dlqUrl,
    }),
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
