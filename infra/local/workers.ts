import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSRecord } from 'aws-lambda';
import type { SqsHandler } from './poller';

/**
 * Worker processes of the local stack (docs/design.md §16): the dispatcher runs in `--dispatchers N`
 * processes, like Lambda containers (each with its own caches and its own poller), and the config API in
 * one process of its own. A worker that dies is started again after a second, as Lambda starts a new
 * container; stopping the stack ends every worker and starts none.
 */

/** What a worker tells the stack over its IPC channel. */
export type WorkerMessage =
  | { type: 'ready'; url?: string }
  | { type: 'batch'; records: SQSRecord[]; failed: string[] };

/** What a worker reads from LOCAL_WORKER_CONFIG (JSON). */
export interface WorkerConfig {
  /** Dispatcher workers: the queue they poll and the invocation deadline. */
  queueUrl?: string;
  queueArn?: string;
  timeoutMs: number;
  /** Config API worker: where it listens and the key file of the local token issuer. */
  port?: number;
  keyFile?: string;
}

export interface WorkerSpec {
  /** The script under infra/local/ and the argument that names the worker in `ps`. */
  script: 'dispatcher-worker.ts' | 'config-api-worker.ts';
  arg: string;
  config: WorkerConfig;
  /** Pause before a worker that died is started again (default 1 s). */
  restartDelayMs?: number;
  onMessage?: (message: WorkerMessage) => void;
  log?: (line: string) => void;
}

export interface Worker {
  /** Resolves with the first `ready` message; rejects when the worker exits before it. */
  ready: Promise<WorkerMessage & { type: 'ready' }>;
  pid(): number | undefined;
  /** How many times the worker was started (1 + restarts). */
  starts(): number;
  close(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const STOP_GRACE_MS = 5_000;

/** Starts one worker process and keeps it running until close(). */
/**
 * Ctrl-C reaches the whole process group: the workers may exit on it before the stack has asked each
 * to stop. Such an exit is the shutdown, not a crash to restart (nor to announce as one).
 */
let stackStopping = false;
let watchingSignals = false;

/** Only the supervisor (the stack, which handles both signals itself) listens; worker processes never. */
function watchStopSignals(): void {
  if (watchingSignals) return;
  watchingSignals = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stackStopping = true;
    });
  }
}

/**
 * LOCAL_DISPATCHER_CPU_PROF=<folder>: each dispatcher worker runs under `node --cpu-prof` and writes its
 * profile there when it exits (the benchmark's P2e profile; docs/design.md §16).
 */
function profileFlags(script: WorkerSpec['script']): string[] {
  const folder = process.env.LOCAL_DISPATCHER_CPU_PROF;
  if (!folder || script !== 'dispatcher-worker.ts') return [];
  return ['--cpu-prof', `--cpu-prof-dir=${folder}`];
}

export function superviseWorker(spec: WorkerSpec): Worker {
  const log = spec.log ?? (() => undefined);
  let child: ChildProcess | undefined;
  let closing = false;
  let started = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let firstReady: (message: WorkerMessage & { type: 'ready' }) => void = () => undefined;
  let firstFailed: (error: Error) => void = () => undefined;
  const ready = new Promise<WorkerMessage & { type: 'ready' }>((resolve, reject) => {
    firstReady = resolve;
    firstFailed = reject;
  });
  let isReady = false;
  ready.catch(() => undefined);

  watchStopSignals();
  const launch = () => {
    started += 1;
    const current = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        ...profileFlags(spec.script),
        '--import',
        'tsx',
        join(HERE, spec.script),
        spec.arg,
      ],
      {
        env: { ...process.env, LOCAL_WORKER_CONFIG: JSON.stringify(spec.config) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    child = current;
    current.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready' && !isReady) {
        isReady = true;
        firstReady(message);
      }
      spec.onMessage?.(message);
    });
    current.once('exit', (code, signal) => {
      if (child === current) child = undefined;
      if (!isReady) {
        firstFailed(new Error(`${spec.arg} exited before it was ready (code ${code}, signal ${signal})`));
        return;
      }
      if (closing || stackStopping) return;
      log(`  ${spec.arg} exited (code ${code}, signal ${signal}); starting it again in a second`);
      restartTimer = setTimeout(() => {
        if (!closing && !stackStopping) launch();
      }, spec.restartDelayMs ?? 1_000);
    });
  };
  launch();

  return {
    ready,
    pid: () => child?.pid,
    starts: () => started,
    async close() {
      closing = true;
      clearTimeout(restartTimer);
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        current.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** The config a worker process was started with (LOCAL_WORKER_CONFIG). */
export function workerConfig(): WorkerConfig {
  const raw = process.env.LOCAL_WORKER_CONFIG;
  if (!raw) throw new Error('LOCAL_WORKER_CONFIG is not set: workers are started by npm start');
  return JSON.parse(raw) as WorkerConfig;
}

/** Sends a message to the stack, if it is still there. */
export function tellStack(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/**
 * Stops the worker on SIGTERM/SIGINT or when the stack's IPC channel closes (the stack died): `stop`
 * finishes what is in hand, then the process exits.
 */
export function onWorkerStop(stop: () => Promise<void>): void {
  let stopping = false;
  const end = () => {
    if (stopping) return;
    stopping = true;
    stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
  process.on('disconnect', end);
}

/** The stack's default number of dispatcher workers: the CDK stack's maximum concurrency. */
export const DEFAULT_DISPATCHERS = 5;

export interface StartWorkersOptions {
  dispatchers: number;
  queue: { queueUrl: string; queueArn: string };
  apiPort: number;
  keyFile: string;
  timeoutMs: number;
  onBatch: (records: SQSRecord[], failed: Set<string>) => Promise<void>;
  log: (line: string) => void;
  /** The stack's list of parts to close: each worker joins it before it is waited for. */
  started: Array<{ close(): Promise<void> }>;
  /** Stops waiting for the workers (the stack is being stopped while it starts). */
  signal?: AbortSignal;
  /** Runs the handlers in this process rather than in workers (tests that record their calls). */
  inProcess?: boolean;
}

/**
 * Starts the config API worker and the dispatcher workers, and waits until each is ready. With
 * `inProcess`, the handlers run in this process instead (one poller): a test that records what the
 * handlers call (test/infra/least-privilege.test.ts) sees every call.
 */
export async function startWorkers(
  options: StartWorkersOptions,
): Promise<{ apiUrl: string; workers: Worker[] }> {
  const { log } = options;
  if (options.inProcess) return { apiUrl: await startInProcess(options), workers: [] };
  const api = superviseWorker({
    script: 'config-api-worker.ts',
    arg: '--config-api-worker',
    config: { port: options.apiPort, keyFile: options.keyFile, timeoutMs: options.timeoutMs },
    log,
  });
  options.started.push(api);
  // Batches are reported in order per worker; listeners run one batch at a time.
  let reported = Promise.resolve();
  const dispatchers = Array.from({ length: options.dispatchers }, (_, i) => {
    const worker = superviseWorker({
      script: 'dispatcher-worker.ts',
      arg: `--dispatcher-worker=${i + 1}`,
      config: { ...options.queue, timeoutMs: options.timeoutMs },
      log,
      onMessage: (message) => {
        if (message.type !== 'batch') return;
        reported = reported
          .then(() => options.onBatch(message.records, new Set(message.failed)))
          .catch(() => undefined);
      },
    });
    options.started.push(worker);
    return worker;
  });
  const apiUrl =
    (await unlessAborted(api.ready, options.signal)).url ?? `http://127.0.0.1:${options.apiPort}`;
  log(`  ${'config API'.padEnd(22)} ${apiUrl} (pid ${api.pid()})`);
  await unlessAborted(Promise.all(dispatchers.map((w) => w.ready)), options.signal);
  log(
    `  ${'dispatcher workers'.padEnd(22)} ${options.dispatchers} processes (pids ${dispatchers.map((w) => w.pid()).join(', ')}), ` +
      `each polling batches of 10 (deadline ${options.timeoutMs / 1000} s)`,
  );
  return { apiUrl, workers: [api, ...dispatchers] };
}

/** The promise's value, or the signal's reason as soon as it is aborted. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function startInProcess(options: StartWorkersOptions): Promise<string> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const { startPoller } = await import('./poller');
  const { startLocalApiGateway } = await import('./api-gateway');
  const { loadOrCreateLocalIssuer } = await import('./jwt');
  const dispatcher = (await import('../../functions/dispatcher/handler')).handler as SqsHandler;
  const configApi = (await import('../../functions/config-api/handler')).handler;
  const issuer = await loadOrCreateLocalIssuer(options.keyFile);
  const gateway = await startLocalApiGateway({
    handler: configApi,
    verify: issuer.verify,
    port: options.apiPort,
    timeoutMs: options.timeoutMs,
  });
  options.started.push(gateway);
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const poller = startPoller({
    sqs,
    ...options.queue,
    handler: dispatcher,
    timeoutMs: options.timeoutMs,
    onBatch: options.onBatch,
    onError: (error) => options.log(`  poller: ${error instanceof Error ? error.message : String(error)}`),
  });
  options.started.push({
    close: async () => {
      await poller.stop();
      sqs.destroy();
    },
  });
  options.log(`  ${'config API'.padEnd(22)} ${gateway.url} (in process)`);
  return gateway.url;
}
