import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { createAlertDelivery } from '../adapters/alert-delivery';
import { createNotifyStore } from '../adapters/dynamo-notify';
import { createSecretCipher } from '../adapters/kms-secrets';
import { createNetworkGuard } from '../adapters/network-guard';
import { createQueueAdapter } from '../adapters/queue';
import { createSesSender } from '../adapters/ses-sender';
import { createWebhookPoster, WEBHOOK_PORTS } from '../adapters/webhook';
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
  const guard = createNetworkGuard({ allowPrivate: settings.allowPrivateSmtp, ports: WEBHOOK_PORTS });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  // The platform channel (PLATFORM_WEBHOOK_URL / _SECRET_ARN) is wired once its secret reader lands.
  const platformWebhook = undefined as NotifierDeps['platformWebhook'];
  return createNotifier({
    store: createNotifyStore({ doc, tableName: settings.tableName, clock }),
    delivery: createAlertDelivery({
      ses: createSesSender({
        ses: new SESv2Client({}),
        ...(settings.sesConfigurationSet !== undefined && { configurationSet: settings.sesConfigurationSet }),
      }),
      webhook: createWebhookPoster({ guard, clock, allowInsecure: settings.allowPrivateSmtp }),
      secrets: createSecretCipher({
        kms: new KMSClient({}),
        keyId: settings.kmsKeyId,
        purpose: 'webhook-secret',
      }),
      platform: { address: settings.platformFromAddress, name: settings.platformName },
    }),
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
