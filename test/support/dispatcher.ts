import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { DeleteMessageCommand, type Message, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { createDomainStore } from '../../functions/adapters/dynamo-domains';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createSuppressionStore } from '../../functions/adapters/dynamo-suppressions';
import { createKmsCipher } from '../../functions/adapters/kms-cipher';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import { buildMime } from '../../functions/adapters/mime';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import { createQueueAdapter } from '../../functions/adapters/queue';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { withSesTenants } from '../../functions/adapters/ses-tenant-sender';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import type { SendingLimits } from '../../functions/core/oauth2';
import type {
  DeliveryRecord,
  PasswordCipher,
  SmtpCredentials,
  Store,
  TenantSmtpSender,
} from '../../functions/core/ports';
import type { SuppressionStore } from '../../functions/core/suppression';
import type { HealthState, SenderConfig, SmtpSecurity } from '../../functions/core/types';
import { createDispatcher, type DispatchHandler } from '../../functions/dispatcher/dispatcher';
import {
  type DispatcherDeps,
  DOMAIN_UNVERIFIED_MEMORY_MS,
  ExpiringSet,
} from '../../functions/dispatcher/ports';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { SES_STAND_IN_ACCOUNT } from '../../infra/local/ses-stand-in';
import { type DynamoFixture, startDynamo } from './dynamo';
import { type LocalKms, startKms } from './kms';
import { countCommands, resetCounts, type SesHook, shiftableClock, watchSes } from './sdk';
import { type LocalSes, startLocalSes } from './ses';
import { SmtpTestServers, TEST_CA, TEST_HOST, TEST_PASSWORD, TEST_USER } from './smtp';
import { type LocalSqs, startLocalSqs } from './sqs';

export const PLATFORM = { address: 'mail@platform.test', name: 'Platform' };

export { countCommands, resetCounts, type SesHook, sesTenant, shiftableClock } from './sdk';

/** What a new container may do differently: its deps, and the credentials its SMTP sender asks. */
export type ContainerOverrides = Partial<DispatcherDeps> & { credentials?: SmtpCredentials };

export interface DispatcherFixture {
  dynamo: DynamoFixture;
  kms: LocalKms;
  ses: LocalSes;
  sqs: LocalSqs;
  smtp: SmtpTestServers;
  store: Store;
  suppressions: SuppressionStore;
  cipher: PasswordCipher;
  sender: TenantSmtpSender;
  clock: ReturnType<typeof shiftableClock>;
  deps: DispatcherDeps;
  dispatch: DispatchHandler;
  /** SDK command counts per client; reset between tests with resetCounts. */
  counts: { dynamo: Record<string, number>; kms: Record<string, number> };
  /** Every SES SendEmail request since the fixture started (clear with `.length = 0`). */
  sesRequests: SendEmailCommandInput[];
  /** Makes chosen SES requests throw (undefined: none). */
  failSes(hook: SesHook | undefined): void;
  /**
   * A new dispatcher "container" (fresh caches, pools and per-container memory) over the same servers;
   * a `logger` override is handed to its tenant SMTP sender too.
   */
  newContainer(overrides?: ContainerOverrides): DispatchHandler;
  /** Stores an smtp-mode config for the tenant pointing at a test server port. */
  smtpTenant(
    tenantId: string,
    port: number,
    extra?: Partial<SenderConfig> & {
      security?: SmtpSecurity;
      password?: string;
      /** Stored as is instead of the tenant's own encryption of `password`. */
      passwordCiphertext?: string;
      /** The tenant's sending limits (docs/design.md §21). */
      limits?: SendingLimits;
    },
  ): Promise<SenderConfig>;
  domainTenant(tenantId: string, domain: string): Promise<SenderConfig>;
  platformTenant(tenantId: string): Promise<SenderConfig>;
  /**
   * Puts messages on the real queue and receives them as Lambda's event source would. Only these
   * messages come back: a leftover of an earlier test that became visible again is deleted.
   */
  receive(bodies: (string | object)[]): Promise<SQSRecord[]>;
  /**
   * Invokes the dispatcher as Lambda's event source mapping does: afterwards the records not reported
   * as batch item failures are deleted from the queue, unless `keep` (to invoke the same record again).
   */
  invoke(
    records: SQSRecord[],
    opts?: { remainingMs?: number; handler?: DispatchHandler; keep?: boolean },
  ): Promise<SQSBatchResponse>;
  /** The tenant's delivery log, newest first. */
  deliveries(tenantId: string): Promise<DeliveryRecord[]>;
  /** The tenant's HEALTH item as stored (null when none). */
  health(tenantId: string): Promise<HealthState | null>;
  dlqMessages(): Promise<{ body: string; attributes: Record<string, string> }[]>;
  close(): Promise<void>;
}

/**
 * Starts dynalite, the KMS stand-in, local SES and SQS, and builds a dispatcher wired to them. Powertools
 * metrics are silenced (their EMF lines flood the output); a test that checks them stubs
 * POWERTOOLS_METRICS_DISABLED to 'false' and builds a new container.
 */
export async function startDispatcherFixture(
  options: {
    maxAttempts?: number;
    /** SES through the SES v2 stand-in, every send in the tenant's SES tenant (docs/design.md §20). */
    sesTenants?: boolean;
  } = {},
): Promise<DispatcherFixture> {
  try {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  } catch {
    // Outside vitest (npm run bench): no stubs to restore, the variable is simply set.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  }
  const [dynamo, kms, ses, sqs] = await Promise.all([
    startDynamo(),
    startKms(),
    startLocalSes(
      options.sesTenants
        ? { standIn: { verifiedIdentities: [PLATFORM.address.split('@')[1] ?? ''], configurationSets: [] } }
        : {},
    ),
    startLocalSqs(),
  ]);
  const smtp = new SmtpTestServers();
  const clock = shiftableClock();
  const counts = { dynamo: countCommands(dynamo.client as never), kms: countCommands(kms.client as never) };
  const sesWatch = watchSes(ses.client);
  const store = createDynamoStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  const suppressions = createSuppressionStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  const cipher = createKmsCipher({ kms: kms.client, keyId: kms.keyId, clock });
  const queue = createQueueAdapter({ sqs: sqs.client, queueUrl: sqs.queueUrl, dlqUrl: sqs.dlqUrl });
  const plainSes = createSesSender({ ses: ses.client });
  const sesSender = options.sesTenants
    ? withSesTenants({
        inner: plainSes,
        store: createDomainStore({ doc: dynamo.doc, tableName: dynamo.tableName }),
        ses: createSesDomains({
          ses: ses.client,
          arnPrefix: `arn:aws:ses:us-east-1:${SES_STAND_IN_ACCOUNT}:`,
          platformIdentity: PLATFORM.address.split('@')[1] ?? '',
        }),
        clock,
      })
    : plainSes;
  const logger = new Logger({ serviceName: 'dispatcher-test', logLevel: 'ERROR' });
  const guard = createNetworkGuard({
    allowPrivate: true,
    resolve: async (host) => (host === TEST_HOST ? ['127.0.0.1'] : []),
  });
  const buildSender = (senderLogger?: Logger, credentials?: SmtpCredentials) =>
    createTenantSmtpSender({
      vet: guard.vet,
      // A container's own cipher: its own plaintext cache.
      credentials:
        credentials ?? createKmsCredentials(createKmsCipher({ kms: kms.client, keyId: kms.keyId, clock })),
      clock,
      timeouts: { connectMs: 800, commandMs: 1500, dataReplyMs: 1500 },
      tls: { ca: [TEST_CA] },
      allowInsecure: true,
      name: 'dispatcher.test',
      ...(senderLogger !== undefined && { logger: senderLogger }),
    });
  const senders: TenantSmtpSender[] = [];
  const buildDeps = ({ credentials, ...overrides }: ContainerOverrides = {}): DispatcherDeps => {
    const sender = buildSender(overrides.logger, credentials);
    senders.push(sender);
    return {
      store,
      suppressions,
      smtp: sender,
      ses: sesSender,
      queue,
      mime: buildMime,
      logger,
      metrics: new Metrics({ namespace: 'TenantMailerTest', serviceName: 'dispatcher-test' }),
      clock,
      platform: PLATFORM,
      maxAttempts: options.maxAttempts ?? 3,
      holdMaxAgeSeconds: 3600,
      sesReserveMs: 1000,
      unverifiedDomains: new ExpiringSet(DOMAIN_UNVERIFIED_MEMORY_MS, clock),
      ...overrides,
    };
  };
  const deps = buildDeps();

  const deleteMessage = (receiptHandle: string) =>
    sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: receiptHandle }));

  const invoke: DispatcherFixture['invoke'] = async (records, opts = {}) => {
    const event: SQSEvent = { Records: records };
    const context: Context = localLambdaContext('dispatcher', opts.remainingMs ?? 20_000, clock.now);
    const response = await (opts.handler ?? dispatch)(event, context);
    if (!opts.keep) {
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      for (const record of records) {
        if (!failed.has(record.messageId)) await deleteMessage(record.receiptHandle);
      }
    }
    return response;
  };
  const dispatch = createDispatcher(deps);

  async function putConfig(config: SenderConfig): Promise<SenderConfig> {
    const current = await store.getSender(config.tenantId);
    const version = (current?.version ?? 0) + 1;
    const next = { ...config, version };
    await store.putSender(next, current?.version ?? 0);
    await store.resetHealth(config.tenantId, version);
    return next;
  }

  return {
    dynamo,
    kms,
    ses,
    sqs,
    smtp,
    store,
    suppressions,
    cipher,
    sender: deps.smtp,
    clock,
    deps,
    dispatch,
    counts,
    sesRequests: sesWatch.requests,
    failSes(hook) {
      sesWatch.hook.fn = hook;
    },
    newContainer: (overrides) => createDispatcher(buildDeps(overrides)),
    async smtpTenant(tenantId, port, extra = {}) {
      const { security, password, passwordCiphertext, limits, ...rest } = extra;
      return putConfig({
        tenantId,
        mode: 'smtp',
        fallback: 'platform',
        smtp: {
          host: TEST_HOST,
          port,
          security: security ?? 'starttls',
          username: TEST_USER,
          passwordCiphertext:
            passwordCiphertext ?? (await cipher.encryptPassword(tenantId, password ?? TEST_PASSWORD)),
          fromAddress: `notifications@${tenantId}.test`,
          fromName: tenantId.toUpperCase(),
          ...(limits && { limits }),
        },
        version: 0,
        updatedAt: new Date(clock.now()).toISOString(),
        ...rest,
      });
    },
    domainTenant: (tenantId, domain) =>
      putConfig({
        tenantId,
        mode: 'domain',
        fallback: 'platform',
        domain: { name: domain, fromAddress: `hello@${domain}`, fromName: tenantId },
        version: 0,
        updatedAt: new Date(clock.now()).toISOString(),
      }),
    platformTenant: (tenantId) =>
      putConfig({
        tenantId,
        mode: 'platform',
        fallback: 'platform',
        version: 0,
        updatedAt: new Date().toISOString(),
      }),
    async receive(bodies) {
      const sent = new Set<string>();
      for (const body of bodies) {
        const { MessageId } = await sqs.client.send(
          new SendMessageCommand({
            QueueUrl: sqs.queueUrl,
            MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
          }),
        );
        if (MessageId !== undefined) sent.add(MessageId);
      }
      const messages = [];
      for (const m of await sqs.receiveAll(sqs.queueUrl)) {
        if (sent.has(m.MessageId ?? '')) messages.push(m);
        else if (m.ReceiptHandle !== undefined) await deleteMessage(m.ReceiptHandle);
      }
      return messages.map(toSqsRecord);
    },
    invoke,
    async deliveries(tenantId) {
      return (await store.listDeliveries(tenantId, { limit: 100 })).items;
    },
    async health(tenantId) {
      return (await store.loadTenant(tenantId)).health;
    },
    async dlqMessages() {
      const messages = await sqs.receiveAll(sqs.dlqUrl);
      return messages.map((m) => ({
        body: m.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        ),
      }));
    },
    async close() {
      for (const s of senders) s.close();
      await smtp.closeAll();
      await Promise.all([dynamo.close(), kms.close(), ses.close(), sqs.close()]);
    },
  };
}

/**
 * Registers the usual hooks of a dispatcher test file: one fixture for the file (started before all,
 * closed after all) and a clean slate before each test (SES store and requests, SES failures, counters).
 */
export function useDispatcherFixture(
  onStart: (fixture: DispatcherFixture) => void,
  options: Parameters<typeof startDispatcherFixture>[0] = {},
): void {
  let fixture: DispatcherFixture | undefined;
  beforeAll(async () => {
    fixture = await startDispatcherFixture(options);
    onStart(fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });
  beforeEach(async () => {
    if (!fixture) return;
    await fixture.ses.clear();
    fixture.sesRequests.length = 0;
    fixture.failSes(undefined);
    resetCounts(fixture.counts.dynamo);
    resetCounts(fixture.counts.kms);
  });
}

/** An SQS message as Lambda's event source mapping hands it to the dispatcher. */
export function toSqsRecord(m: Message): SQSRecord {
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mail',
    awsRegion: 'us-east-1',
  };
}

/**
 * Runs `run` with Powertools metrics on and stdout/stderr captured (logs and EMF lines), then restores
 * both. Build the container inside `run`: metrics are read from the environment when it is built.
 */
export async function captureOutput(run: () => Promise<void>): Promise<{ text: string; emf: Emf[] }> {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(chunk.toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  }
  const text = lines.join('');
  const emf = text
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
  return { text, emf };
}

/** One EMF line: metric values and dimension values by name, and the directive. */
export type Emf = Record<string, unknown> & {
  _aws?: { CloudWatchMetrics: { Dimensions: string[][] }[] };
};

/** A valid queue message for a tenant. */
export function mail(tenantId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    tenantId,
    kind: 'notification',
    to: 'ann@example.test',
    subject: 'New form submission',
    text: 'Someone filled in your form.',
    ...extra,
  };
}

export { TEST_PASSWORD, TEST_USER };
