/**
 * P2e for `npm run bench`: the local stack end to end (the producer enqueues to the local SQS, the
 * dispatcher worker processes deliver to the tenants' STARTTLS + AUTH peers) against raw nodemailer pools
 * with as many connections to the same kind of peers, in the same run. Also the peak RSS of each
 * dispatcher worker (P4) and, with a profile folder, the dispatcher workers' CPU profiles.
 */
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import nodemailer from 'nodemailer';
import { createProducer, type QueueMessageInput } from '../../functions/producer';
import { callApi, type LocalStackProcess, spawnLocalStack, workerProcesses } from '../support/local-stack';
import {
  BENCH_CA_FILE,
  type SmtpTestServers,
  TEST_PASSWORD,
  TEST_USER,
  type TestSmtpServer,
} from '../support/smtp';

export const PIPELINE_TENANTS = 10;
export const PIPELINE_DISPATCHERS = 5;
const HOST = 'localhost';

export interface Throughput {
  messages: number;
  seconds: number;
  perSecond: number;
  /** TCP connections the peers accepted during the run. */
  connections: number;
}

export interface PipelineRun extends Throughput {
  /** Peak resident set (VmHWM) of each dispatcher worker, MiB. */
  peakRssMiB: number[];
  /** CPU seconds (user + system) spent during the run, by process. */
  cpu: { workers: number; stack: number; configApi: number; bench: number };
  /** When the run started (Date.now()), to cut the profiles to it. */
  startedAt: number;
  /** The processes of the stack during the run. */
  pids: { stack: number; workers: number[]; configApi: number[] };
}

/** One STARTTLS + AUTH smtp-server per tenant, presenting a certificate for `localhost`. */
export async function startBenchPeers(servers: SmtpTestServers, count: number): Promise<TestSmtpServer[]> {
  return Promise.all(
    Array.from({ length: count }, () => servers.start({ tls: 'starttls', localhostCertificate: true })),
  );
}

function received(peers: TestSmtpServer[]): number {
  return peers.reduce((n, p) => n + p.received.length, 0);
}

function connections(peers: TestSmtpServer[]): number {
  return peers.reduce((n, p) => n + p.connections(), 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilReceived(peers: TestSmtpServer[], target: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (received(peers) < target) {
    if (Date.now() > deadline) {
      throw new Error(`only ${received(peers)} of ${target} messages reached the peers in ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

function tenantId(i: number): string {
  return `bench-t${i}`;
}

function message(i: number, tag: string, tenants: number): QueueMessageInput {
  return {
    v: 1,
    tenantId: tenantId(i % tenants),
    kind: 'notification',
    to: [`lead-${i}@customer.example`],
    subject: `${tag} ${i}`,
    text: `Bench message ${i}: a form was submitted on your site.`,
    idempotencyKey: `${tag}-${i}`,
  };
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks (100 Hz).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Peak RSS (VmHWM) of a process, MiB; NaN when it is gone. */
function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

export interface PipelineStack {
  stack: LocalStackProcess;
  /** Enqueues `count` messages over the tenants and waits until the peers accepted all of them. */
  run(count: number, tag: string): Promise<PipelineRun>;
  /** Stops the stack (SIGTERM: workers exit and write their profiles). */
  close(): Promise<void>;
}

/**
 * Starts the local stack as `npm start` does (`--dispatchers 5`, no demo) and points one tenant at each
 * peer. `profileDir` runs every process of the stack (its main process, the config API and dispatcher
 * workers) under `node --cpu-prof` (NODE_OPTIONS), each writing `CPU.<date>.<time>.<pid>.….cpuprofile`
 * there when it stops.
 */
export async function startPipeline(peers: TestSmtpServer[], profileDir?: string): Promise<PipelineStack> {
  // The workers inherit these: they trust the peers' CA and may profile themselves.
  const saved = { ca: process.env.NODE_EXTRA_CA_CERTS, prof: process.env.NODE_OPTIONS };
  process.env.NODE_EXTRA_CA_CERTS = BENCH_CA_FILE;
  if (profileDir) {
    process.env.NODE_OPTIONS = `${saved.prof ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`.trim();
  }
  let stack: LocalStackProcess;
  try {
    stack = await spawnLocalStack({
      demo: false,
      args: ['--fresh', '--dispatchers', String(PIPELINE_DISPATCHERS)],
    });
  } finally {
    restore('NODE_EXTRA_CA_CERTS', saved.ca);
    restore('NODE_OPTIONS', saved.prof);
  }
  const info = await stack.ready(120_000);
  for (const [i, peer] of peers.entries()) {
    const put = await callApi(info, info.adminToken, 'PUT', `/tenants/${tenantId(i)}/sender`, {
      mode: 'smtp',
      fallback: 'platform',
      smtp: {
        host: HOST,
        port: peer.port,
        security: 'starttls',
        username: TEST_USER,
        password: TEST_PASSWORD,
        fromAddress: `notifications@${tenantId(i)}.example`,
      },
    });
    if (put.status !== 200) throw new Error(`configuring ${tenantId(i)}: ${JSON.stringify(put.body)}`);
  }
  const sqs = new SQSClient({
    endpoint: info.endpoints.sqs,
    region: info.region,
    useQueueUrlAsEndpoint: false,
  });
  const producer = createProducer({ sqs, queueUrl: info.queueUrl });
  const pid = stack.child.pid ?? -1;
  return {
    stack,
    async run(count, tag) {
      const messages = Array.from({ length: count }, (_, i) => message(i, tag, peers.length));
      const before = { received: received(peers), connections: connections(peers) };
      const procs = [...workerProcesses(pid).entries()];
      const dispatchers = procs.filter(([name]) => name.startsWith('--dispatcher')).map(([, p]) => p);
      const api = procs.filter(([name]) => name.startsWith('--config-api')).map(([, p]) => p);
      const sumCpu = (pids: number[]) => pids.reduce((n, p) => n + cpuSeconds(p), 0);
      const cpuBefore = {
        workers: sumCpu(dispatchers),
        stack: cpuSeconds(pid),
        configApi: sumCpu(api),
        bench: process.cpuUsage(),
      };
      const started = Date.now();
      // Enqueued in parallel chunks, as producers in several request handlers would.
      const chunks = Array.from({ length: Math.ceil(count / 500) }, (_, c) =>
        messages.slice(c * 500, c * 500 + 500),
      );
      await Promise.all(
        chunks.map(async (chunk) => {
          const { failed } = await producer.enqueueBatch(chunk);
          if (failed.length > 0) throw new Error(`enqueue failed: ${failed[0]?.message}`);
        }),
      );
      await untilReceived(peers, before.received + count, 30_000 + count * 100);
      const seconds = (Date.now() - started) / 1000;
      const benchCpu = process.cpuUsage(cpuBefore.bench);
      return {
        messages: count,
        seconds,
        perSecond: count / seconds,
        connections: connections(peers) - before.connections,
        peakRssMiB: dispatchers.map(peakRssMiB),
        cpu: {
          workers: sumCpu(dispatchers) - cpuBefore.workers,
          stack: cpuSeconds(pid) - cpuBefore.stack,
          configApi: sumCpu(api) - cpuBefore.configApi,
          bench: (benchCpu.user + benchCpu.system) / 1e6,
        },
        startedAt: started,
        pids: { stack: pid, workers: dispatchers, configApi: api },
      };
    },
    async close() {
      sqs.destroy();
      await stack.stop('SIGTERM', 30_000).catch(() => undefined);
      await stack.dispose();
    },
  };
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * The same messages through raw nodemailer pools: one pool per tenant with `connectionsPerTenant`
 * connections (the stack's dispatcher workers each keep one per tenant), all sent at once.
 */
export async function rawPools(
  peers: TestSmtpServer[],
  count: number,
  tag: string,
  connectionsPerTenant: number,
): Promise<Throughput> {
  const ca = readFileSync(BENCH_CA_FILE);
  const pools = peers.map((peer) =>
    nodemailer.createTransport({
      pool: true,
      maxConnections: connectionsPerTenant,
      host: HOST,
      port: peer.port,
      secure: false,
      requireTLS: true,
      auth: { user: TEST_USER, pass: TEST_PASSWORD },
      tls: { ca: [ca] },
    }),
  );
  const before = { received: received(peers), connections: connections(peers) };
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const m = message(i, tag, peers.length);
        const pool = pools[i % peers.length];
        return pool?.sendMail({
          from: `notifications@${m.tenantId}.example`,
          to: [...m.to],
          subject: m.subject,
          text: m.text,
        });
      }),
    );
    await untilReceived(peers, before.received + count, 30_000 + count * 100);
  } finally {
    for (const pool of pools) pool.close();
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    messages: count,
    seconds,
    perSecond: count / seconds,
    connections: connections(peers) - before.connections,
  };
}
