import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAlertEmitter } from '../adapters/alert-emitter';
import { createNotifyStore } from '../adapters/dynamo-notify';
import { createDynamoStore } from '../adapters/dynamo-store';
import { createKmsCipher } from '../adapters/kms-cipher';
import { createKmsCredentials } from '../adapters/kms-credentials';
import { createNetworkGuard } from '../adapters/network-guard';
import { createQueueAdapter } from '../adapters/queue';
import { createSesSender } from '../adapters/ses-sender';
import { createTenantSmtpSender } from '../adapters/tenant-smtp';
import { systemClock } from '../core/types';
import { loadSettings } from '../settings';
import { createDispatcher, type DispatchHandler } from './dispatcher';
import { DOMAIN_UNVERIFIED_MEMORY_MS, ExpiringSet } from './ports';

/** Time kept back from the deadline so the SES fallback still fits after a slow tenant server. */
const SES_RESERVE_MS = 5_000;

let dispatch: DispatchHandler | undefined;

/** Builds the dispatcher once per container from the environment (endpoints from AWS_ENDPOINT_URL_*). */
function build(): DispatchHandler {
  const settings = loadSettings();
  const clock = systemClock;
  // Powertools reads its own POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by the stack).
  const logger = new Logger();
  const metrics = new Metrics();
  const guard = createNetworkGuard({ allowPrivate: settings.allowPrivateSmtp });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return createDispatcher({
    store: createDynamoStore({ doc, tableName: settings.tableName, clock }),
    smtp: createTenantSmtpSender({
      vet: guard.vet,
      // KMS decrypts (and caches per container) the password when the sender opens a connection.
      credentials: createKmsCredentials(
        createKmsCipher({ kms: new KMSClient({}), keyId: settings.kmsKeyId, clock }),
      ),
      clock,
      allowInsecure: settings.allowPrivateSmtp,
      logger,
    }),
    ses: createSesSender({
      ses: new SESv2Client({}),
      ...(settings.sesConfigurationSet !== undefined && { configurationSet: settings.sesConfigurationSet }),
    }),
    // The local SQS's queue URLs carry a host that does not resolve; the endpoint comes from settings.
    queue: createQueueAdapter({
      sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
      queueUrl: settings.queueUrl,
      dlqUrl: settings.dlqUrl,
    }),
    logger,
    metrics,
    clock,
    platform: { address: settings.platformFromAddress, name: settings.platformName },
    maxAttempts: settings.maxAttempts,
    holdMaxAgeSeconds: settings.holdMaxAgeSeconds,
    sesReserveMs: SES_RESERVE_MS,
    unverifiedDomains: new ExpiringSet(DOMAIN_UNVERIFIED_MEMORY_MS, clock),
    ...(settings.alertsQueueUrl !== undefined && {
      alerts: createAlertEmitter({
        sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
        queueUrl: settings.alertsQueueUrl,
        store: createNotifyStore({ doc, tableName: settings.tableName, clock }),
        clock,
        logger,
      }),
    }),
  });
}

/** Lambda entry: SQS event source with ReportBatchItemFailures. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  dispatch ??= build();
  return dispatch(event, context);
};
