import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createKmsCipher, type KmsCipherOptions } from '../../functions/adapters/kms-cipher';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import { createQueueAdapter } from '../../functions/adapters/queue';
import { createSesSender } from '../../functions/adapters/ses-sender';
import type { PasswordCipher } from '../../functions/core/ports';
import { DLQ_REASONS } from '../../functions/core/types';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localClientConfig } from './aws-client';
import {
  type ContainerOverrides,
  type DispatcherFixture,
  mail,
  startDispatcherFixture,
  toSqsRecord,
} from './dispatcher';
import { localDynamoClient } from './dynamo';
import { type FaultProxy, type HttpFault, type HttpRequestInfo, startHttpFaultProxy } from './fault-proxy';
import type { TestSmtpServer } from './smtp';

type HttpProxy = FaultProxy<HttpRequestInfo, HttpFault>;

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  context: Record<string, unknown>;
}

/** Where each message of a run ended up, and the rules it broke (each list must be empty). */
export interface Accounting {
  /** Copies per key: at a tenant peer, in the SES store. */
  copies: Map<string, { tenant: number; ses: number }>;
  /** DLQ entries per key with their reason. */
  dlq: Map<string, { reason: string; detail: string }[]>;
  /** Neither delivered nor in the DLQ. */
  lost: string[];
  /** Delivered more than once (or delivered and dead-lettered) with no recorded reason. */
  unexplainedDoubles: string[];
  /** DLQ entries without a known reason or a detail. */
  badDlq: string[];
  /** Claims neither done nor released by the end of the last invocation's lease. */
  stuckClaims: string[];
}

/** Log lines that record why a message may have gone out twice. */
const DOUBT = /possible duplicate|send again|sent again|settled recipients again/i;

export interface FaultRig {
  fx: DispatcherFixture;
  /** Proxies in front of dynalite, the KMS stand-in, local SES and SQS (the dispatcher's only way to them). */
  dynamo: HttpProxy;
  kms: HttpProxy;
  ses: HttpProxy;
  sqs: HttpProxy;
  /** What the dispatchers built by `container` logged (info and above). */
  logs: LogEntry[];
  /** A KMS cipher through the proxy (a container's default one, or with other options). */
  cipher(options?: Partial<KmsCipherOptions>): PasswordCipher;
  /** A dispatcher container talking to DynamoDB, KMS and SES through the proxies. */
  container(overrides?: ContainerOverrides): DispatchHandler;
  /** Queues messages (subject `msg <key>`, idempotencyKey `key`) for the given tenant. */
  enqueue(tenantId: string, keys: string[], extra?: Record<string, unknown>): Promise<void>;
  /**
   * Invokes `handler` with batches of 10 until the queue is empty. When every message left waits
   * (retry backoff, a lease, a hold), time passes: the clock moves `idleShiftMs` on and they come back.
   */
  drain(handler: DispatchHandler, opts?: { remainingMs?: number; idleShiftMs?: number }): Promise<number>;
  /** Accounts for every key against the tenant peers, the SES store, the DLQ and the claims. */
  account(keys: string[], peers: TestSmtpServer[]): Promise<Accounting>;
}

function capturingLogger(logs: LogEntry[]): Logger {
  const logger = new Logger({ serviceName: 'dispatcher-fault', logLevel: 'SILENT' });
  const record =
    (level: LogEntry['level']) =>
    (message: string, ...extra: unknown[]) => {
      const context = Object.assign({}, ...extra.filter((e) => typeof e === 'object' && e !== null));
      logs.push({ level, message, context });
    };
  return Object.assign(logger, { info: record('info'), warn: record('warn'), error: record('error') });
}

/** Keys named in a text as `msg <key>` (the subject line of each test message). */
function keysIn(text: string): string[] {
  return [...text.matchAll(/msg (k-[\w-]+)/g)].map((m) => m[1] ?? '');
}

/** Registers a fault rig for the file: a dispatcher fixture plus the proxies, reset before each test. */
export function useFaultRig(onStart: (rig: FaultRig) => void): void {
  let rig: FaultRig | undefined;
  const clients: { destroy(): void }[] = [];
  const proxies: HttpProxy[] = [];
  beforeAll(async () => {
    const fx = await startDispatcherFixture();
    const [dynamo, kms, ses, sqs] = await Promise.all([
      startHttpFaultProxy(fx.dynamo.endpoint, { seed: 11 }),
      startHttpFaultProxy(fx.kms.endpoint, { seed: 12 }),
      startHttpFaultProxy(fx.ses.endpoint, { seed: 13 }),
      startHttpFaultProxy(fx.sqs.endpoint, { seed: 14 }),
    ]);
    proxies.push(dynamo, kms, ses, sqs);
    const dynamoClient = localDynamoClient(dynamo.url);
    const doc = DynamoDBDocumentClient.from(dynamoClient, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const kmsClient = new KMSClient(localClientConfig(kms.url));
    const sesClient = new SESv2Client(localClientConfig(ses.url));
    const sqsClient = new SQSClient({ ...localClientConfig(sqs.url), useQueueUrlAsEndpoint: false });
    clients.push(doc, dynamoClient, kmsClient, sesClient, sqsClient);
    const logs: LogEntry[] = [];
    let lastDeadline = 0;

    const invokeAll = async (handler: DispatchHandler, remainingMs: number) => {
      const messages = await fx.sqs.receiveAll(fx.sqs.queueUrl);
      for (let i = 0; i < messages.length; i += 10) {
        await fx.invoke(messages.slice(i, i + 10).map(toSqsRecord), { handler, remainingMs });
        // An upper bound of the invocation's deadline (its context was made a moment after the call).
        lastDeadline = Math.max(lastDeadline, fx.clock.now() + remainingMs);
      }
      return messages.length;
    };

    const cipher = (options: Partial<KmsCipherOptions> = {}) =>
      createKmsCipher({ kms: kmsClient, keyId: fx.kms.keyId, clock: fx.clock, ...options });
    rig = {
      fx,
      cipher,
      dynamo,
      kms,
      ses,
      sqs,
      logs,
      container: (overrides = {}) =>
        fx.newContainer({
          store: createDynamoStore({ doc, tableName: fx.dynamo.tableName, clock: fx.clock }),
          credentials: createKmsCredentials(cipher()),
          ses: createSesSender({ ses: sesClient }),
          queue: createQueueAdapter({ sqs: sqsClient, queueUrl: fx.sqs.queueUrl, dlqUrl: fx.sqs.dlqUrl }),
          logger: capturingLogger(logs),
          ...overrides,
        }),
      async enqueue(tenantId, keys, extra = {}) {
        for (let i = 0; i < keys.length; i += 10) {
          const entries = keys.slice(i, i + 10).map((key, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(
              mail(tenantId, { subject: `msg ${key}`, idempotencyKey: key, ...extra }),
            ),
          }));
          const out = await fx.sqs.client.send(
            new SendMessageBatchCommand({ QueueUrl: fx.sqs.queueUrl, Entries: entries }),
          );
          if (out.Failed?.length) throw new Error(`enqueue failed: ${JSON.stringify(out.Failed)}`);
        }
      },
      async drain(handler, opts = {}) {
        const remainingMs = opts.remainingMs ?? 20_000;
        for (let round = 1; round <= 80; round += 1) {
          if ((await invokeAll(handler, remainingMs)) > 0) continue;
          const waiting = await fx.sqs.inflight('mail');
          if (waiting.length === 0) return round;
          fx.clock.shift(opts.idleShiftMs ?? 5 * 60_000);
          for (const w of waiting) {
            await fx.sqs.client.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: fx.sqs.queueUrl,
                ReceiptHandle: w.receiptHandle,
                VisibilityTimeout: 0,
              }),
            );
          }
        }
        throw new Error('the queue did not drain in 80 rounds');
      },
      async account(keys, peers) {
        const copies = new Map(keys.map((k) => [k, { tenant: 0, ses: 0 }]));
        for (const peer of peers) {
          for (const m of peer.received) {
            for (const key of keysIn(m.raw.toString())) {
              const c = copies.get(key);
              if (c) c.tenant += 1;
            }
          }
        }
        for (const email of await fx.ses.store()) {
          for (const key of keysIn(email.subject)) {
            const c = copies.get(key);
            if (c) c.ses += 1;
          }
        }
        const dlq = new Map<string, { reason: string; detail: string }[]>();
        const badDlq: string[] = [];
        for (const m of await fx.dlqMessages()) {
          const key = keysIn(m.body)[0] ?? m.body.slice(0, 40);
          const entry = { reason: m.attributes.reason ?? '', detail: m.attributes.detail ?? '' };
          dlq.set(key, [...(dlq.get(key) ?? []), entry]);
          if (!(DLQ_REASONS as readonly string[]).includes(entry.reason) || entry.detail === '')
            badDlq.push(key);
        }
        const doubted = new Set<string>();
        for (const entry of logs) {
          const id = entry.context.messageId;
          if (typeof id === 'string' && DOUBT.test(entry.message)) doubted.add(id);
        }
        const lost: string[] = [];
        const unexplainedDoubles: string[] = [];
        for (const key of keys) {
          const c = copies.get(key) ?? { tenant: 0, ses: 0 };
          const sent = c.tenant + c.ses;
          const dead = dlq.get(key)?.length ?? 0;
          if (sent + dead === 0) lost.push(key);
          if (sent + dead > 1 && !doubted.has(key) && !(await recordedDoubt(fx, key))) {
            unexplainedDoubles.push(key);
          }
        }
        const claims = await fx.dynamo.doc.send(
          new ScanCommand({
            TableName: fx.dynamo.tableName,
            FilterExpression: 'begins_with(pk, :p)',
            ExpressionAttributeValues: { ':p': 'IDEMP#' },
          }),
        );
        const stuckClaims = (claims.Items ?? [])
          .filter((c) => c.done !== true && Number(c.leaseUntil) > lastDeadline)
          .map((c) => String(c.pk));
        return { copies, dlq, lost, unexplainedDoubles, badDlq, stuckClaims };
      },
    };
    onStart(rig);
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await rig?.fx.close();
  });
  beforeEach(async () => {
    if (!rig) return;
    for (const p of proxies) p.clear();
    rig.logs.length = 0;
    await rig.fx.ses.clear();
  });
}

/** The delivery record says the tenant server may have the message too (after-DATA uncertainty). */
async function recordedDoubt(fx: DispatcherFixture, key: string): Promise<boolean> {
  const scan = await fx.dynamo.doc.send(
    new ScanCommand({
      TableName: fx.dynamo.tableName,
      FilterExpression: 'messageId = :k',
      ExpressionAttributeValues: { ':k': key },
    }),
  );
  return (scan.Items ?? []).some((item) => item.possibleDuplicate === true);
}

/** The accounting's rules: nothing lost, no unexplained double, every DLQ entry explained, no stuck claim. */
export function expectSound(a: Accounting): void {
  const { lost, unexplainedDoubles, badDlq, stuckClaims } = a;
  expect({ lost, unexplainedDoubles, badDlq, stuckClaims }).toEqual({
    lost: [],
    unexplainedDoubles: [],
    badDlq: [],
    stuckClaims: [],
  });
}

/** `n` message keys (`k-<prefix>-<i>`). */
export function keysFor(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `k-${prefix}-${i}`);
}
