import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { createAlertAdapters } from '../adapters/alert-wiring';
import { createDynamoStore } from '../adapters/dynamo-store';
import { createKmsCipher } from '../adapters/kms-cipher';
import { createKmsCredentials } from '../adapters/kms-credentials';
import { createNetworkGuard } from '../adapters/network-guard';
import { createTenantSmtpSender } from '../adapters/tenant-smtp';
import { systemClock } from '../core/types';
import { loadSettings } from '../settings';
import { type ConfigApiHandler, createConfigApi } from './app';

let api: ConfigApiHandler | undefined;

/**
 * Wires the real adapters from the settings, once per container. The SDK clients take region and
 * endpoints from the SDK's own environment (AWS_REGION, AWS_ENDPOINT_URL_*), so the same code runs in
 * Lambda and in the local stack.
 */
function buildApi(): ConfigApiHandler {
  const settings = loadSettings();
  const clock = systemClock;
  // Powertools reads its own POWERTOOLS_SERVICE_NAME (set by the stack).
  const logger = new Logger();
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const guard = createNetworkGuard({ allowPrivate: settings.allowPrivateSmtp });
  const cipher = createKmsCipher({ kms: new KMSClient({}), keyId: settings.kmsKeyId, clock });
  const alerts =
    settings.alertsQueueUrl === undefined
      ? undefined
      : createAlertAdapters({
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
  return createConfigApi({
    // Tenant alert routes (docs/design.md §18); deployed together with the alerts queue.
    ...(alerts && { alerts }),
    store: createDynamoStore({ doc, tableName: settings.tableName, clock }),
    cipher,
    guard,
    smtp: createTenantSmtpSender({
      vet: guard.vet,
      // A stored config's password is decrypted when the test connects; a typed one comes per call.
      credentials: createKmsCredentials(cipher),
      clock,
      allowInsecure: settings.allowPrivateSmtp,
      timeouts: { connectMs: 10_000, socketMs: 15_000 },
      logger,
    }),
    logger,
    clock,
    allowPrivateSmtp: settings.allowPrivateSmtp,
  });
}

/** The config API Lambda (HTTP API, payload format 2.0, JWT authorizer in front). */
export const handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => {
  api ??= buildApi();
  return api(event, context);
};
