import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { loadOrCreateLocalIssuer } from './jwt';
import { DEFAULT_KEY_ID, startKmsStandIn } from './kms-stand-in';
import { type LocalOAuthInfo, startLocalOAuth } from './oauth-stack';
import { type Poller, type SqsHandler, startPoller } from './poller';
import { choosePort, DEFAULT_PORTS, type PortName } from './ports';
import { startSecretsStandIn } from './secrets-stand-in';
import {
  createQueues,
  type LocalService,
  startDynalite,
  startFauxqs,
  startMailbox,
  startSesLocal,
} from './services';
import type { RecordMail } from './ses-event-records';
import { createEventsTopic, publishToTopic, simulatedRecords } from './ses-events-path';
import { SES_STAND_IN_ACCOUNT, startSesStandIn } from './ses-stand-in';
import { loadOrCreateKmsMaterial, STATE } from './state';
import { createTable } from './table';
import { startWebhookReceiver } from './webhook-receiver';
import { DEFAULT_DISPATCHERS, startWorkers } from './workers';

/** `.local/stack.json` (docs/design.md §16 Local stack): where every part of the running stack is. */
export interface StackInfo {
  apiUrl: string;
  queueUrl: string;
  dlqUrl: string;
  sesUrl: string;
  mailboxUrl: string;
  mailboxSmtp: { host: string; port: number; username: string; password: string };
  endpoints: { dynamodb: string; sqs: string; sesv2: string; kms: string; secretsManager: string };
  region: string;
  tableName: string;
  platformFrom: string;
  platformName: string;
  visibilityTimeoutSeconds: number;
  maxAttempts: number;
  adminToken: string;
  /** The local alert webhook receiver (docs/design.md §18): checks signatures, appends to webhooks.jsonl. */
  webhookUrl: string;
  /** The platform operators' webhook receiver (PLATFORM_WEBHOOK_URL): every tenant's events. */
  platformWebhookUrl: string;
  /** The local OAuth2 token server and XOAUTH2 submission server the demo tenant umbrella uses (§21). */
  oauth: LocalOAuthInfo;
  /** The SES events topic (fauxqs SNS), its raw-delivery queue and that queue's DLQ (docs/design.md §19). */
  eventsTopicArn: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
}

export interface LocalStack {
  info: StackInfo;
  /** Notified after each batch the poller hands to the dispatcher. */
  onBatch(listener: BatchListener): void;
  close(): Promise<void>;
}

export type BatchListener = (records: SQSRecord[], failed: Set<string>) => void | Promise<void>;

export interface LocalStackOptions {
  /** Folder for stack.json, the signing key and the mailbox's files (default `<repo>/.local`). */
  dir: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Aborted when the stack is stopped while it starts: start-up stops at the next step. */
  signal?: AbortSignal;
  /** The dispatcher and config API in this process, not in workers (tests that record their calls). */
  inProcess?: boolean;
  /** How many dispatcher worker processes poll the queue (default 5, the stack's maximum concurrency). */
  dispatchers?: number;
}

/** `.local/` at the top of the repository, or LOCAL_STACK_DIR (tests run a stack in a temp folder). */
export function localDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOCAL_STACK_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.local');
}

const REGION = 'us-east-1';
const TABLE = 'tenant-mailer';
/**
 * The local stack's timing (docs/design.md §16): its invocation deadline (LOCAL_DEADLINE_SECONDS) and the
 * wait for the reply after DATA (DATA_REPLY_TIMEOUT_SECONDS) default short, so a demo stays quick; the
 * queue's visibility timeout follows the deadline, as in AWS it follows the function timeout.
 */
export interface LocalTiming {
  deadlineSeconds: number;
  dataReplySeconds: number;
  visibilityTimeoutSeconds: number;
}

function positiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of seconds ≥ 1`);
  return value;
}

/** Reads LOCAL_DEADLINE_SECONDS (default 30) and DATA_REPLY_TIMEOUT_SECONDS (default 20). */
export function localTiming(env: NodeJS.ProcessEnv): LocalTiming {
  const deadlineSeconds = positiveInt(env.LOCAL_DEADLINE_SECONDS, 30, 'LOCAL_DEADLINE_SECONDS');
  const dataReplySeconds = positiveInt(env.DATA_REPLY_TIMEOUT_SECONDS, 20, 'DATA_REPLY_TIMEOUT_SECONDS');
  // A message is never received again while an invocation may still hold it.
  return { deadlineSeconds, dataReplySeconds, visibilityTimeoutSeconds: deadlineSeconds + 5 };
}
const MAX_ATTEMPTS = 5;
const KMS_ALIAS = 'alias/tenant-mailer';
const PLATFORM_FROM = 'notifications@platform.example';
const PLATFORM_NAME = 'Tenant Mailer';
/** The SES configuration set the dispatcher names, as the CDK stack's in AWS (it exists in the local SES). */
const SES_CONFIGURATION_SET = 'tenant-mailer-local';
/** How long after a send the mailbox simulator's events reach the topic. */
const SIMULATED_EVENT_DELAY_MS = 1_000;
/** The signing secret of the local webhook receiver (the demo's globex registers it). Local only. */
export const LOCAL_WEBHOOK_SECRET = 'local-webhook-secret-not-for-production';
/** The platform channel's signing secret, kept in the Secrets Manager stand-in. Local only. */
export const LOCAL_PLATFORM_WEBHOOK_SECRET = 'local-platform-webhook-secret-not-for-production';
const PLATFORM_WEBHOOK_SECRET_NAME = 'tenant-mailer/platform-webhook';

/**
 * Brings up the whole pipeline on 127.0.0.1: dynalite, fauxqs, aws-ses-v2-local behind the SES v2
 * stand-in, the KMS stand-in, maildev, the config API behind the local HTTP API gateway, and the SQS
 * poller feeding the dispatcher.
 * The handlers are the real Lambda handlers, configured through the same environment as in AWS.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async () => {
    for (const part of started.reverse()) await part.close().catch(() => undefined);
  };
  const port = (name: PortName) => choosePort(name, env);
  // Bound once the events topic exists; sends before that publish nothing.
  let publishSimulated: (mail: RecordMail) => Promise<void> = async () => undefined;
  const timing = localTiming(env);
  const invocationMs = timing.deadlineSeconds * 1000;

  try {
    await mkdir(options.dir, { recursive: true });
    const up = async <T extends LocalService>(name: string, start: Promise<T>): Promise<T> => {
      const service = await start;
      started.push(service);
      options.signal?.throwIfAborted();
      log(`  ${name.padEnd(22)} ${service.url}`);
      return service;
    };

    // The table and the queues live under the stack's folder, so a restart finds them (state.ts).
    const dynamodb = await up(
      'DynamoDB (dynalite)',
      startDynalite(await port('dynamodb'), join(options.dir, STATE.dynamodb)),
    );
    const sqsServer = await up('SQS (fauxqs)', startFauxqs(await port('sqs'), join(options.dir, STATE.sqs)));
    const ses = await up('SES mailbox (aws-ses-v2-local)', startSesLocal(await port('ses')));
    // The handlers talk to the stand-in (identities, tenants, SES's send checks); it hands what SES would
    // accept to aws-ses-v2-local, which keeps the mailbox. The platform's own domain is verified from the start.
    const sesApi = await up(
      'SES v2 stand-in',
      startSesStandIn({
        forwardTo: ses.url,
        port: await port('sesApi'),
        region: REGION,
        verifiedIdentities: [PLATFORM_FROM.split('@')[1] ?? PLATFORM_FROM],
        configurationSets: [SES_CONFIGURATION_SET],
        // The mailbox simulator's events, published once the events path exists (below).
        onAccepted: (mail) => void publishSimulated(mail),
      }),
    );
    const kms = await up(
      'KMS stand-in',
      startKmsStandIn({
        port: await port('kms'),
        keys: [
          {
            keyId: DEFAULT_KEY_ID,
            material: await loadOrCreateKmsMaterial(options.dir),
            aliases: [KMS_ALIAS],
          },
        ],
      }),
    );
    const mailbox = await up(
      'tenant mailbox (maildev)',
      startMailbox({
        webPort: await port('mailboxWeb'),
        smtpPort: await port('mailboxSmtp'),
        mailDirectory: join(options.dir, STATE.maildev),
        username: 'acme-relay',
        password: 'local-mailbox-password',
      }),
    );
    log(`  ${'tenant mailbox SMTP'.padEnd(22)} ${mailbox.smtp.host}:${mailbox.smtp.port} (AUTH, no TLS)`);
    const oauth = await startLocalOAuth(
      { token: await port('oauthToken'), smtp: await port('oauthSmtp') },
      mailbox,
    );
    started.push(...oauth.services);
    log(`  ${'OAuth2 token server'.padEnd(22)} ${oauth.info.tokenUrl}`);
    log(
      `  ${'XOAUTH2 submission'.padEnd(22)} ${oauth.info.smtp.host}:${oauth.info.smtp.port} (XOAUTH2 only, no TLS)`,
    );

    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const ddb = new DynamoDBClient({ endpoint: dynamodb.url, region: REGION, credentials });
    await createTable(ddb, TABLE);
    ddb.destroy();
    const sqs = new SQSClient({
      endpoint: sqsServer.url,
      region: REGION,
      credentials,
      useQueueUrlAsEndpoint: false,
    });
    started.push({ close: async () => sqs.destroy() });
    const queues = await createQueues(
      sqs,
      { queue: 'tenant-mailer', dlq: 'tenant-mailer-dlq' },
      timing.visibilityTimeoutSeconds,
    );

    // Delivery events as in AWS (docs/design.md §19): SES → SNS topic → raw SQS subscription → events function.
    const eventQueues = await createQueues(
      sqs,
      { queue: 'tenant-mailer-ses-events', dlq: 'tenant-mailer-ses-events-dlq' },
      timing.visibilityTimeoutSeconds,
    );
    const eventsTopicArn = await createEventsTopic(
      sqsServer.url,
      'tenant-mailer-ses-events',
      eventQueues.queueArn,
    );
    publishSimulated = async (mail) => {
      // After the dispatcher's record of the send, as SES's events come seconds later (the events
      // function retries an event whose delivery is not recorded yet).
      await new Promise((resolve) => setTimeout(resolve, SIMULATED_EVENT_DELAY_MS));
      for (const record of simulatedRecords(mail)) {
        await publishToTopic(sqsServer.url, eventsTopicArn, record).catch((error: unknown) =>
          log(`  SES events: ${error instanceof Error ? error.message : String(error)}`),
        );
      }
    };

    const alertQueues = await createQueues(
      sqs,
      { queue: 'tenant-mailer-alerts', dlq: 'tenant-mailer-alerts-dlq' },
      timing.visibilityTimeoutSeconds,
    );
    const webhooks = await up(
      'alert webhook receiver',
      startWebhookReceiver({
        secret: LOCAL_WEBHOOK_SECRET,
        file: join(options.dir, STATE.webhooks),
        port: await port('webhooks'),
      }),
    );

    // The platform operators' channel (stack props platformWebhookUrl / platformWebhookSecretArn): every
    // tenant's events, signed with a secret the notifier reads from Secrets Manager (here its stand-in).
    const secrets = await up(
      'Secrets Manager stand-in',
      startSecretsStandIn({ port: await port('secrets') }),
    );
    const platformWebhookSecretArn = secrets.put(PLATFORM_WEBHOOK_SECRET_NAME, LOCAL_PLATFORM_WEBHOOK_SECRET);
    const platformWebhooks = await up(
      'platform webhook receiver',
      startWebhookReceiver({
        secret: LOCAL_PLATFORM_WEBHOOK_SECRET,
        file: join(options.dir, STATE.platformWebhooks),
        port: await port('platformWebhooks'),
      }),
    );

    // The handlers read exactly what Lambda would give them; the SDK takes endpoints from AWS_ENDPOINT_URL_*.
    Object.assign(process.env, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      // LOCAL_HANDLER_ENDPOINT_*: what the handlers are given instead, e.g. a fault-injecting proxy in
      // front of the service (npm run soak); the stack itself still talks to the service directly.
      AWS_ENDPOINT_URL_DYNAMODB: env.LOCAL_HANDLER_ENDPOINT_DYNAMODB || dynamodb.url,
      AWS_ENDPOINT_URL_SQS: env.LOCAL_HANDLER_ENDPOINT_SQS || sqsServer.url,
      AWS_ENDPOINT_URL_SESV2: env.LOCAL_HANDLER_ENDPOINT_SESV2 || sesApi.url,
      AWS_ENDPOINT_URL_KMS: env.LOCAL_HANDLER_ENDPOINT_KMS || kms.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      PLATFORM_WEBHOOK_URL: platformWebhooks.url,
      PLATFORM_WEBHOOK_SECRET_ARN: platformWebhookSecretArn,
      TABLE_NAME: TABLE,
      KMS_KEY_ID: kms.keyId,
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.dlqUrl,
      ALERTS_QUEUE_URL: alertQueues.queueUrl,
      EVENTS_DLQ_URL: eventQueues.dlqUrl,
      PLATFORM_FROM_ADDRESS: PLATFORM_FROM,
      PLATFORM_NAME: PLATFORM_NAME,
      SES_CONFIGURATION_SET,
      // The stand-in's account: the config API's domain routes are on (AWS: the CDK stack's account).
      SES_ARN_PREFIX: `arn:aws:ses:${REGION}:${SES_STAND_IN_ACCOUNT}:`,
      MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      TENANT_SMTP_ALLOW_PRIVATE: env.TENANT_SMTP_ALLOW_PRIVATE ?? '1',
      DATA_REPLY_TIMEOUT_SECONDS: String(timing.dataReplySeconds),
      POWERTOOLS_LOG_LEVEL: env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
      POWERTOOLS_METRICS_DISABLED: env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'TenantMailerLocal',
    });
    const notifier = (await import('../../functions/notifier/handler')).handler as SqsHandler;
    const eventsHandler = (await import('../../functions/events/handler')).handler as SqsHandler;

    const issuer = await loadOrCreateLocalIssuer(join(options.dir, 'jwt-key.json'));
    const listeners: BatchListener[] = [];
    const { apiUrl } = await startWorkers({
      dispatchers: options.dispatchers ?? DEFAULT_DISPATCHERS,
      queue: queues,
      apiPort: await port('api'),
      keyFile: join(options.dir, 'jwt-key.json'),
      timeoutMs: invocationMs,
      onBatch: async (records, failed) => {
        for (const listener of listeners) await listener(records, failed);
      },
      log,
      started,
      ...(options.signal && { signal: options.signal }),
      inProcess: options.inProcess ?? false,
    });
    log(
      `  ${'tenant SMTP timing'.padEnd(22)} reply after DATA ${timing.dataReplySeconds} s, ` +
        `queue visibility ${timing.visibilityTimeoutSeconds} s`,
    );
    // Alerts leave through their own queue and notifier, as in AWS: a slow webhook never holds up mail.
    const alertPoller: Poller = startPoller({
      sqs,
      queueUrl: alertQueues.queueUrl,
      queueArn: alertQueues.queueArn,
      handler: notifier,
      timeoutMs: invocationMs,
      onError: (error) => log(`  alert poller: ${error instanceof Error ? error.message : String(error)}`),
    });
    started.push({ close: () => alertPoller.stop() });
    const eventsPoller: Poller = startPoller({
      sqs,
      queueUrl: eventQueues.queueUrl,
      queueArn: eventQueues.queueArn,
      handler: eventsHandler,
      timeoutMs: invocationMs,
      onError: (error) => log(`  events poller: ${error instanceof Error ? error.message : String(error)}`),
    });
    started.push({ close: () => eventsPoller.stop() });

    const info: StackInfo = {
      apiUrl,
      queueUrl: queues.queueUrl,
      dlqUrl: queues.dlqUrl,
      sesUrl: ses.url,
      mailboxUrl: mailbox.url,
      mailboxSmtp: mailbox.smtp,
      endpoints: {
        dynamodb: dynamodb.url,
        sqs: sqsServer.url,
        sesv2: sesApi.url,
        kms: kms.url,
        secretsManager: secrets.url,
      },
      region: REGION,
      tableName: TABLE,
      platformFrom: PLATFORM_FROM,
      platformName: PLATFORM_NAME,
      visibilityTimeoutSeconds: timing.visibilityTimeoutSeconds,
      maxAttempts: MAX_ATTEMPTS,
      adminToken: await issuer.token('platform-admin', { admin: true }),
      webhookUrl: webhooks.url,
      platformWebhookUrl: platformWebhooks.url,
      oauth: oauth.info,
      eventsTopicArn,
      eventsQueueUrl: eventQueues.queueUrl,
      eventsDlqUrl: eventQueues.dlqUrl,
    };
    const stackFile = join(options.dir, 'stack.json');
    // Written whole, then renamed: a script polling for stack.json never reads half of it.
    await writeFile(`${stackFile}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    await rename(`${stackFile}.tmp`, stackFile);
    started.push({ close: () => rm(stackFile, { force: true }) });

    return {
      info,
      onBatch: (listener) => void listeners.push(listener),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export { DEFAULT_PORTS };
