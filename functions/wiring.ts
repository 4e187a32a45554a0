import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AlertEmitterOptions, createAlertEmitter } from './adapters/alert-emitter';
import { type AlertAdapters, createAlertAdapters } from './adapters/alert-wiring';
import { createDomainStore } from './adapters/dynamo-domains';
import { createNotifyStore } from './adapters/dynamo-notify';
import { createReputationStore } from './adapters/dynamo-reputation';
import { createDynamoStore } from './adapters/dynamo-store';
import { createSuppressionStore } from './adapters/dynamo-suppressions';
import { createKmsCipher } from './adapters/kms-cipher';
import { buildMime } from './adapters/mime';
import { createNetworkGuard, type NetworkGuard } from './adapters/network-guard';
import { createQueueAdapter } from './adapters/queue';
import { createSecretReader } from './adapters/secrets-manager';
import { createSesDomains } from './adapters/ses-domains';
import { createSesSender, sendOnceRetryStrategy } from './adapters/ses-sender';
import { withSesTenants } from './adapters/ses-tenant-sender';
import { createOAuthTokens, createTenantCredentials } from './adapters/smtp-credentials';
import {
  createTenantSmtpSender,
  type SenderLogger,
  type TenantSmtpSenderOptions,
} from './adapters/tenant-smtp';
import type { AlertEmitter } from './core/alerts';
import type {
  DomainStore,
  MailQueue,
  MimeBuilder,
  OAuthTokens,
  PasswordCipher,
  SesDomains,
  SesSender,
  Store,
  TenantSmtpSender,
} from './core/ports';
import type { ReputationStore } from './core/reputation';
import type { SuppressionStore } from './core/suppression';
import type { Clock } from './core/types';
import type { Settings } from './settings';

/**
 * The one place that builds the AWS clients and the adapters from the settings, for both handlers
 * (each takes what it needs, once per container). The SDK clients take region and endpoints from the
 * SDK's own environment (AWS_REGION, AWS_ENDPOINT_URL_*), so the same code runs in Lambda and in the
 * local stack; nothing here has a local branch.
 */

let doc: DynamoDBDocumentClient | undefined;

/** The container's one document client (built on first use), dropping undefined values. */
function documentClient(): DynamoDBDocumentClient {
  doc ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return doc;
}

export function storeFrom(settings: Settings, clock: Clock): Store {
  return createDynamoStore({ doc: documentClient(), tableName: settings.tableName, clock });
}

/** The per-tenant suppression list and the delivery timeline, in the same table (docs/design.md §19). */
export function suppressionsFrom(settings: Pick<Settings, 'tableName'>, clock: Clock): SuppressionStore {
  return createSuppressionStore({ doc: documentClient(), tableName: settings.tableName, clock });
}

export function cipherFrom(settings: Settings, clock: Clock): PasswordCipher {
  return createKmsCipher({ kms: new KMSClient({}), keyId: settings.kmsKeyId, clock });
}

/** The network guard: private hosts open only with TENANT_SMTP_ALLOW_PRIVATE (local development). */
export function guardFrom(settings: Settings): NetworkGuard {
  return createNetworkGuard({ allowPrivate: settings.allowPrivateSmtp });
}

/**
 * The tenant SMTP sender, guarded at connect time by `guard`. When it opens a connection, KMS decrypts
 * (and caches per container) the stored password through `cipher`, or the token client fetches (and
 * caches) an OAuth2 access token, storing a rotated refresh token back.
 */
export function tenantSmtpFrom(
  settings: Settings,
  options: {
    guard: NetworkGuard;
    cipher: PasswordCipher;
    clock: Clock;
    logger: SenderLogger;
    timeouts?: TenantSmtpSenderOptions['timeouts'];
  },
): TenantSmtpSender {
  return createTenantSmtpSender({
    vet: options.guard.vet,
    credentials: createTenantCredentials({
      cipher: options.cipher,
      store: storeFrom(settings, options.clock),
      clock: options.clock,
      allowPrivate: settings.allowPrivateSmtp,
      logger: options.logger,
    }),
    clock: options.clock,
    allowInsecure: settings.allowPrivateSmtp,
    logger: options.logger,
    ...(options.timeouts !== undefined && { timeouts: options.timeouts }),
  });
}

/** The config API's OAuth2 port (token URLs vetted on PUT, unsaved configs tested). */
export function oauthTokensFrom(settings: Settings, clock: Clock): OAuthTokens {
  return createOAuthTokens({ clock, allowPrivate: settings.allowPrivateSmtp });
}

/**
 * The dispatcher's SES sender; with the stack's SES account named (SES_ARN_PREFIX) every send goes
 * through the tenant's SES tenant, made on first need (docs/design.md §20).
 */
export function sesFrom(settings: Settings, clock: Clock): SesSender {
  const inner = createSesSender({
    // A SendEmail the SDK retried after SES may have taken it could reach a recipient twice unrecorded.
    ses: new SESv2Client({ retryStrategy: sendOnceRetryStrategy() }),
    ...(settings.sesConfigurationSet !== undefined && { configurationSet: settings.sesConfigurationSet }),
  });
  const domains = domainAdaptersFrom(settings);
  if (domains === undefined) return inner;
  return withSesTenants({ inner, store: domains.store, ses: domains.ses, clock });
}

/** The queue operations on `queueUrl` (the mail queue by default; the notifier's is the alerts queue). */
export function queueFrom(settings: Settings, queueUrl: string = settings.queueUrl): MailQueue {
  // The local SQS's queue URLs carry a host that does not resolve; the endpoint comes from settings.
  return createQueueAdapter({
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    queueUrl,
    dlqUrl: settings.dlqUrl,
  });
}

/** The MIME builder both routes and the test endpoint use. */
export const mime: MimeBuilder = buildMime;

/**
 * The tenant alert adapters the config API uses (docs/design.md §18); undefined when alerts are off
 * (no ALERTS_QUEUE_URL).
 */
export function alertAdaptersFrom(settings: Settings, clock: Clock): AlertAdapters | undefined {
  if (settings.alertsQueueUrl === undefined) return undefined;
  // With the stack's SES account named, alert emails about a tenant go through its SES tenant too.
  const domains = domainAdaptersFrom(settings);
  return createAlertAdapters({
    ...(domains && {
      tenantSes: (inner: SesSender) =>
        withSesTenants({ inner, store: domains.store, ses: domains.ses, clock }),
    }),
    doc: documentClient(),
    tableName: settings.tableName,
    kms: new KMSClient({}),
    keyId: settings.kmsKeyId,
    ses: new SESv2Client({}),
    configurationSet: settings.sesConfigurationSet,
    allowPrivate: settings.allowPrivateSmtp,
    clock,
    platform: { address: settings.platformFromAddress, name: settings.platformName },
  });
}

/** The dispatcher's alert emitter (breaker transitions, dead letters); undefined when alerts are off. */
export function alertEmitterFrom(
  settings: Pick<Settings, 'alertsQueueUrl' | 'tableName'>,
  options: { clock: Clock; logger: AlertEmitterOptions['logger'] },
): AlertEmitter | undefined {
  if (settings.alertsQueueUrl === undefined) return undefined;
  return createAlertEmitter({
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    queueUrl: settings.alertsQueueUrl,
    store: createNotifyStore({ doc: documentClient(), tableName: settings.tableName, clock: options.clock }),
    clock: options.clock,
    logger: options.logger,
  });
}

/**
 * The platform operators' alert webhook (stack props platformWebhookUrl / platformWebhookSecretArn,
 * docs/design.md §18): its signing secret read from Secrets Manager, cached per container.
 */
export function platformWebhookFrom(
  settings: Pick<Settings, 'platformWebhookUrl' | 'platformWebhookSecretArn'>,
  clock: Clock,
): { url: string; secret(): Promise<string> } | undefined {
  if (settings.platformWebhookUrl === undefined || settings.platformWebhookSecretArn === undefined) {
    return undefined;
  }
  const secret = createSecretReader({
    client: new SecretsManagerClient({}),
    secretId: settings.platformWebhookSecretArn,
    clock,
  });
  return { url: settings.platformWebhookUrl, secret };
}

/** The events function's per-tenant 24-hour SES counts (docs/design.md §19). */
export function reputationFrom(settings: Pick<Settings, 'tableName'>): ReputationStore {
  return createReputationStore({ doc: documentClient(), tableName: settings.tableName });
}

/** The delivery events DLQ (docs/design.md §19): only its SendMessage is used. */
export function eventsDlqFrom(dlqUrl: string): Pick<MailQueue, 'sendToDlq'> {
  // The local SQS's queue URLs carry a host that does not resolve; the endpoint comes from settings.
  return createQueueAdapter({
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
    queueUrl: dlqUrl,
    dlqUrl,
  });
}

/**
 * The domain routes' adapters (claims in the table, SES identities and tenants), or undefined when the
 * stack names no SES account (SES_ARN_PREFIX): the routes then answer 404.
 */
export function domainAdaptersFrom(
  settings: Settings,
): { store: DomainStore; ses: SesDomains; platformDomain: string; region: string } | undefined {
  const arnPrefix = settings.sesArnPrefix;
  if (arnPrefix === undefined) return undefined;
  return {
    store: createDomainStore({ doc: documentClient(), tableName: settings.tableName }),
    ses: createSesDomains({
      ses: new SESv2Client({}),
      arnPrefix,
      platformIdentity: settings.sesPlatformIdentity,
      ...(settings.sesConfigurationSet !== undefined && { configurationSet: settings.sesConfigurationSet }),
      reputationPolicy: settings.sesReputationPolicy,
    }),
    platformDomain: settings.platformFromAddress.split('@').at(-1) ?? settings.platformFromAddress,
    region: arnPrefix.split(':')[3] ?? '',
  };
}
