import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDynamoStore, type DynamoStore } from '../../functions/adapters/dynamo-store';
import { createKmsCipher, type KmsCipher } from '../../functions/adapters/kms-cipher';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import { createQueueAdapter } from '../../functions/adapters/queue';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { createTenantSmtpSender, type TenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import type { Clock, SenderConfig, SmtpSecurity } from '../../functions/core/types';
import { createDispatcher, type DispatchHandler } from '../../functions/dispatcher/dispatcher';
import {
  type DispatcherDeps,
  DOMAIN_UNVERIFIED_MEMORY_MS,
  ExpiringSet,
} from '../../functions/dispatcher/ports';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type DynamoFixture, startDynamo } from './dynamo';
import { type LocalKms, startKms } from './kms';
import { type LocalSes, startLocalSes } from './ses';
import { SmtpTestServers, TEST_CA, TEST_HOST, TEST_PASSWORD, TEST_USER } from './smtp';
import { type LocalSqs, startLocalSqs } from './sqs';

export const PLATFORM = { address: 'mail@platform.test', name: 'Platform' };

/** Counts SDK commands by name on a client (middleware), e.g. counts.QueryCommand. */
export function countCommands(client: {
  middlewareStack: {
    add: (
      mw: (next: (args: unknown) => unknown, ctx: { commandName?: string }) => unknown,
      opts: object,
    ) => void;
  };
}): Record<string, number> {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, ctx) => (args: unknown) => {
      const name = ctx.commandName ?? 'unknown';
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: `count-${Math.random()}` },
  );
  return counts;
}

export function resetCounts(counts: Record<string, number>): void {
  for (const key of Object.keys(counts)) delete counts[key];
}

/** A clock that follows real time, shifted by hand (breaker tests jump minutes ahead). */
export function shiftableClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    shift: (ms) => {
      offset += ms;
    },
  };
}

export interface DispatcherFixture {
  dynamo: DynamoFixture;
  kms: LocalKms;
  ses: LocalSes;
  sqs: LocalSqs;
  smtp: SmtpTestServers;
  store: DynamoStore;
  cipher: KmsCipher;
  sender: TenantSmtpSender;
  clock: ReturnType<typeof shiftableClock>;
  deps: DispatcherDeps;
  dispatch: DispatchHandler;
  /** SDK command counts per client; reset between tests with resetCounts. */
  counts: { dynamo: Record<string, number>; kms: Record<string, number> };
  /** A new dispatcher "container" (fresh caches, pools and per-container memory) over the same servers. */
  newContainer(overrides?: Partial<DispatcherDeps>): DispatchHandler;
  /** Stores an smtp-mode config for the tenant pointing at a test server port. */
  smtpTenant(
    tenantId: string,
    port: number,
    extra?: Partial<SenderConfig> & { security?: SmtpSecurity; password?: string },
  ): Promise<SenderConfig>;
  domainTenant(tenantId: string, domain: string): Promise<SenderConfig>;
  platformTenant(tenantId: string): Promise<SenderConfig>;
  /** Puts messages on the real queue and receives them as Lambda's event source would. */
  receive(bodies: (string | object)[]): Promise<SQSRecord[]>;
  invoke(
    records: SQSRecord[],
    opts?: { remainingMs?: number; handler?: DispatchHandler },
  ): Promise<SQSBatchResponse>;
  dlqMessages(): Promise<{ body: string; attributes: Record<string, string> }[]>;
  close(): Promise<void>;
}

/** Starts dynalite, the KMS stand-in, local SES and SQS, and builds a dispatcher wired to them. */
export async function startDispatcherFixture(
  options: { maxAttempts?: number } = {},
): Promise<DispatcherFixture> {
  const [dynamo, kms, ses, sqs] = await Promise.all([
    startDynamo(),
    startKms(),
    startLocalSes(),
    startLocalSqs(),
  ]);
  const smtp = new SmtpTestServers();
  const clock = shiftableClock();
  const counts = { dynamo: countCommands(dynamo.client as never), kms: countCommands(kms.client as never) };
  const store = createDynamoStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  const cipher = createKmsCipher({ kms: kms.client, keyId: kms.keyId, clock });
  const queue = createQueueAdapter({ sqs: sqs.client, queueUrl: sqs.queueUrl, dlqUrl: sqs.dlqUrl });
  const sesSender = createSesSender({ ses: ses.client });
  const logger = new Logger({ serviceName: 'dispatcher-test', logLevel: 'ERROR' });
  const guard = createNetworkGuard({
    allowPrivate: true,
    resolve: async (host) => (host === TEST_HOST ? ['127.0.0.1'] : []),
  });
  const buildSender = () =>
    createTenantSmtpSender({
      vet: guard.vet,
      clock,
      timeouts: { connectMs: 800, socketMs: 1500 },
      tls: { ca: [TEST_CA] },
      allowInsecure: true,
      name: 'dispatcher.test',
    });
  const senders: TenantSmtpSender[] = [];
  const buildDeps = (overrides: Partial<DispatcherDeps> = {}): DispatcherDeps => {
    const sender = buildSender();
    senders.push(sender);
    return {
      store,
      cipher: createKmsCipher({ kms: kms.client, keyId: kms.keyId, clock }),
      smtp: sender,
      ses: sesSender,
      queue,
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

  const invoke: DispatcherFixture['invoke'] = (records, opts = {}) => {
    const event: SQSEvent = { Records: records };
    const context: Context = localLambdaContext('dispatcher', opts.remainingMs ?? 20_000, clock.now);
    return (opts.handler ?? dispatch)(event, context);
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
    cipher,
    sender: deps.smtp,
    clock,
    deps,
    dispatch,
    counts,
    newContainer: (overrides) => createDispatcher(buildDeps(overrides)),
    async smtpTenant(tenantId, port, extra = {}) {
      const { security, password, ...rest } = extra;
      return putConfig({
        tenantId,
        mode: 'smtp',
        fallback: 'platform',
        smtp: {
          host: TEST_HOST,
          port,
          security: security ?? 'starttls',
          username: TEST_USER,
          passwordCiphertext: await cipher.encryptPassword(tenantId, password ?? TEST_PASSWORD),
          fromAddress: `notifications@${tenantId}.test`,
          fromName: tenantId.toUpperCase(),
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
      for (const body of bodies) {
        await sqs.client.send(
          new SendMessageCommand({
            QueueUrl: sqs.queueUrl,
            MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
          }),
        );
      }
      const messages = await sqs.receiveAll(sqs.queueUrl);
      return messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp:
            m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mail',
        awsRegion: 'us-east-1',
      }));
    },
    invoke,
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
