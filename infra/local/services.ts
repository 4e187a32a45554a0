import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { MailDev } from 'maildev';
import { closeServer, listen } from './http-server';

/** A started local server: where it listens and how to stop it. */
export interface LocalService {
  url: string;
  port: number;
  close(): Promise<void>;
}

const requireCjs = createRequire(import.meta.url);
// dynalite and aws-ses-v2-local are CommonJS without type declarations of their own.
const dynalite = requireCjs('dynalite') as (options: Record<string, number | string>) => Server;
const sesServer = (
  requireCjs('aws-ses-v2-local') as {
    default: (config?: Partial<{ host: string; port: number }>) => Promise<Server>;
  }
).default;

const HOST = '127.0.0.1';

/**
 * dynalite (no TTL deletion, no transactions: the project designs around both), in memory, or on LevelDB
 * under `path` so the table outlives a restart.
 */
export async function startDynalite(port = 0, path?: string): Promise<LocalService> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path && { path }) });
  const bound = await listen(server, port, HOST);
  return { url: `http://${HOST}:${bound}`, port: bound, close: () => closeServer(server) };
}

/**
 * fauxqs bound to loopback (its own starter binds every interface). Queue URLs use a `*.localhost` host.
 * With `dataDir`, queues and messages live in SQLite there (fauxqs's persistence, which only its own
 * starter wires: the same wiring is done here around buildApp).
 */
export async function startFauxqs(port = 0, dataDir?: string): Promise<LocalService> {
  const persistent = dataDir ? await fauxqsPersistence(dataDir) : undefined;
  const app = buildApp({
    logger: false,
    host: 'localhost',
    ...(persistent && { stores: persistent.stores }),
  });
  if (persistent) app.addHook('preClose', () => persistent.close());
  await app.listen({ port, host: HOST });
  const address = app.server.address() as AddressInfo;
  return { url: `http://${HOST}:${address.port}`, port: address.port, close: () => app.close() };
}

type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>['stores']>;
interface Persistence {
  load(sqs: unknown, sns: unknown, s3: unknown): void;
  close(): void;
}
type Persisted = { persistence?: Persistence };

/** fauxqs's stores with its SQLite persistence loaded and attached, as its startFauxqs does. */
async function fauxqsPersistence(dataDir: string): Promise<{ stores: Stores; close(): void }> {
  const base = import.meta.resolve('fauxqs');
  const load = async <T>(file: string, name: string): Promise<T> =>
    ((await import(new URL(file, base).href)) as Record<string, T>)[name] as T;
  const SqsStore = await load<new () => Stores['sqsStore']>('./sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<new () => Stores['snsStore']>('./sns/snsStore.js', 'SnsStore');
  const S3Store = await load<new () => Stores['s3Store']>('./s3/s3Store.js', 'S3Store');
  const Manager = await load<new (dir: string) => Persistence>('./persistence.js', 'PersistenceManager');
  await mkdir(dataDir, { recursive: true });
  const stores: Stores = { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
  const persistence = new Manager(dataDir);
  // Loaded before the stores get their persistence, so loading writes nothing back.
  persistence.load(stores.sqsStore, stores.snsStore, stores.s3Store);
  for (const store of [stores.sqsStore, stores.snsStore, stores.s3Store]) {
    (store as unknown as Persisted).persistence = persistence;
  }
  for (const queue of (stores.sqsStore as unknown as { allQueues(): Persisted[] }).allQueues()) {
    queue.persistence = persistence;
  }
  return { stores, close: () => persistence.close() };
}

/** aws-ses-v2-local: SES v2 API plus `/store` and a mailbox page at its base URL. */
export async function startSesLocal(port = 0): Promise<LocalService> {
  const server = await sesServer({ host: HOST, port });
  const bound = (server.address() as AddressInfo).port;
  return { url: `http://${HOST}:${bound}`, port: bound, close: () => closeServer(server) };
}

export interface Mailbox extends LocalService {
  smtp: { host: string; port: number; username: string; password: string };
}

/** maildev with incoming AUTH (plain, no TLS): the demo tenant's own SMTP server and its web mailbox. */
export async function startMailbox(options: {
  webPort: number;
  smtpPort: number;
  mailDirectory: string;
  username: string;
  password: string;
}): Promise<Mailbox> {
  await mkdir(options.mailDirectory, { recursive: true });
  const maildev = new MailDev({
    smtp: options.smtpPort,
    ip: HOST,
    web: options.webPort,
    webIp: HOST,
    incomingUser: options.username,
    incomingPass: options.password,
    mailDirectory: options.mailDirectory,
    silent: true,
  });
  await maildev.start();
  return {
    url: `http://${HOST}:${options.webPort}`,
    port: options.webPort,
    smtp: { host: HOST, port: options.smtpPort, username: options.username, password: options.password },
    close: () => stopMailbox(maildev),
  };
}

// The parts of maildev's internals that stopMailbox reaches into (maildev 3: orchestrator → SMTP → smtp-server).
interface MaildevInternals {
  orchestrator?: { smtp?: { smtp?: { options?: { closeTimeout?: number } } } | null };
}

/**
 * maildev's stop waits smtp-server's close timeout (30 s) for open sessions, and the dispatcher's pooled
 * transport keeps one open: Ctrl-C would hang that long. Shorten the grace (smtp-server then answers 421
 * and hangs up); should maildev's internals move, the listeners are closed by then and the wait is cut.
 */
async function stopMailbox(maildev: MailDev): Promise<void> {
  const smtpServer = (maildev as unknown as MaildevInternals).orchestrator?.smtp?.smtp;
  if (smtpServer?.options) smtpServer.options.closeTimeout = 500;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    maildev.stop(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 3_000);
    }),
  ]);
  clearTimeout(timer);
}

/** Creates the queue and its DLQ (redrive after 50 receives: the crash safety net). */
export async function createQueues(
  sqs: SQSClient,
  names: { queue: string; dlq: string },
  visibilityTimeoutSeconds: number,
): Promise<{ queueUrl: string; queueArn: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: names.dlq }));
  const dlqUrl = required(dlq.QueueUrl, 'DLQ URL');
  const dlqArn = await queueArn(sqs, dlqUrl);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 50 }),
      },
    }),
  );
  const queueUrl = required(queue.QueueUrl, 'queue URL');
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), dlqUrl };
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return required(Attributes?.QueueArn, 'queue ARN');
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`local SQS returned no ${what}`);
  return value;
}
