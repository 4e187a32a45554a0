import type { KMSClient } from '@aws-sdk/client-kms';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PlatformSender } from '../core/fallback';
import type { AlertDelivery, NotifyStore, SecretCipher, SesSender, WebhookPoster } from '../core/ports';
import type { Clock } from '../core/types';
import { createAlertDelivery } from './alert-delivery';
import { createNotifyStore } from './dynamo-notify';
import { createSecretCipher } from './kms-secrets';
import { createNetworkGuard } from './network-guard';
import { createSesSender } from './ses-sender';
import { createWebhookPoster, WEBHOOK_PORTS } from './webhook';

/** The KMS encryption-context purpose of webhook secrets (docs/design.md §18 Tenant alerts). */
export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';

export interface AlertAdapters {
  store: NotifyStore;
  secrets: SecretCipher;
  webhook: WebhookPoster;
  delivery: AlertDelivery;
}

/** The alert adapters the config API and the notifier share, over clients their handler built. */
export function createAlertAdapters(input: {
  doc: DynamoDBDocumentClient;
  tableName: string;
  kms: KMSClient;
  keyId: string;
  ses: SESv2Client;
  configurationSet: string | undefined;
  /** TENANT_SMTP_ALLOW_PRIVATE: http: and private webhook addresses (local development only). */
  allowPrivate: boolean;
  clock: Clock;
  platform: PlatformSender;
  /** Wraps the SES sender: the tenant's SES tenant on every alert email about it (docs/design.md §20). */
  tenantSes?: (inner: SesSender) => SesSender;
}): AlertAdapters {
  const { clock } = input;
  const guard = createNetworkGuard({ allowPrivate: input.allowPrivate, ports: WEBHOOK_PORTS });
  const secrets = createSecretCipher({ kms: input.kms, keyId: input.keyId, purpose: WEBHOOK_SECRET_PURPOSE });
  const webhook = createWebhookPoster({ guard, clock, allowInsecure: input.allowPrivate });
  const plain = createSesSender({
    ses: input.ses,
    ...(input.configurationSet !== undefined && { configurationSet: input.configurationSet }),
  });
  const ses = input.tenantSes ? input.tenantSes(plain) : plain;
  return {
    store: createNotifyStore({ doc: input.doc, tableName: input.tableName, clock }),
    secrets,
    webhook,
    delivery: createAlertDelivery({ ses, webhook, secrets, platform: input.platform }),
  };
}
