/**
 * The throughput, size and cost sections of `npm run bench` (P2e, P2, P4, P5): each a function that
 * measures and returns its RESULTS.md text, so bench.ts only strings them together.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { countCommands, type DispatcherFixture } from '../support/dispatcher';
import { SmtpTestServers } from '../support/smtp';
import { bundleTable, measureBundles } from './bundles';
import { costRows, costTable, measureUsage, meterCapacity } from './cost';
import {
  HANDLER_CONTAINERS,
  HANDLER_TENANTS,
  rawPoolsToTestPeers,
  runHandler,
  startHandlerRig,
} from './handler-bench';
import {
  PIPELINE_DISPATCHERS,
  PIPELINE_TENANTS,
  type PipelineRun,
  rawPools,
  startBenchPeers,
  startPipeline,
  type Throughput,
} from './pipeline';
import { profileTables, summarizeProfiles } from './profile';

export const SIZES = [1_000, 10_000] as const;
/** Messages that open the connections and warm the code before a measured run (not counted). */
const WARM_UP = 100;
const GOAL = 0.5;

const rate = (t: Throughput) => t.perSecond.toFixed(0);
const ratio = (a: Throughput, b: Throughput) => (a.perSecond / b.perSecond).toFixed(2);

function comparisonTable(rows: { label: string; measured: Throughput; raw: Throughput }[]): string {
  return [
    '| messages | pipeline msgs/s (s) | raw pools msgs/s (s) | ratio | goal |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${rate(r.measured)} (${r.measured.seconds.toFixed(1)}) | ${rate(r.raw)} (${r.raw.seconds.toFixed(1)}) | ${ratio(r.measured, r.raw)} | ≥ ${GOAL} |`,
    ),
  ].join('\n');
}

export interface P2eResult {
  text: string;
  /** Peak RSS of the dispatcher workers, MiB, over the whole measured stack's life. */
  peakRssMiB: number[];
}

/**
 * P2e: the local stack, started twice: once with every process under `--cpu-prof` for a
 * 1,000-message run (where the time goes), once without for the figures (1,000 and 10,000 messages),
 * each run against raw pools on the same peers right after it.
 */
export async function p2eSection(): Promise<P2eResult> {
  const servers = new SmtpTestServers();
  const profileDir = mkdtempSync(join(tmpdir(), 'tenant-mailer-prof-'));
  try {
    const peers = await startBenchPeers(servers, PIPELINE_TENANTS);
    const perTenant = PIPELINE_DISPATCHERS;
    // JIT and TLS session code warm in this process before the first raw figure.
    await rawPools(peers, WARM_UP, 'p2e-raw-warm', perTenant);

    const profiled = await startPipeline(peers, profileDir);
    let profiledRun: PipelineRun;
    try {
      await profiled.run(WARM_UP, 'p2e-prof-warm');
      profiledRun = await profiled.run(1_000, 'p2e-prof');
    } finally {
      await profiled.close();
    }
    const profileWindowMs = Date.now() - profiledRun.startedAt;
    const summary = summarizeProfiles(profileDir, 12, profileWindowMs, new Set(profiledRun.pids.workers));
    const stackSummary = summarizeProfiles(profileDir, 6, profileWindowMs, new Set([profiledRun.pids.stack]));
    const stackBusy = (stackSummary.totalMs - stackSummary.idleMs) / Math.max(1, stackSummary.totalMs);

    const stack = await startPipeline(peers);
    const rows: { label: string; measured: PipelineRun; raw: Throughput }[] = [];
    try {
      await stack.run(WARM_UP, 'p2e-warm');
      for (const size of SIZES) {
        const measured = await stack.run(size, `p2e-${size}`);
        const raw = await rawPools(peers, size, `p2e-raw-${size}`, perTenant);
        rows.push({ label: size.toLocaleString('en'), measured, raw });
        console.log(`P2e ${size}: pipeline ${rate(measured)}/s, raw ${rate(raw)}/s`);
      }
    } finally {
      await stack.close();
    }
    const last = rows[rows.length - 1]?.measured;
    const peakRssMiB = last?.peakRssMiB ?? [];
    const cpu = profiledRun.cpu;
    const cpuTotal = cpu.workers + cpu.stack + cpu.configApi + cpu.bench;
    const share = (n: number) => `${n.toFixed(1)} s (${((n / cpuTotal) * 100).toFixed(0)} %)`;
    const first = rows[0];
    const cores = availableParallelism();
    const cpuPerMessageMs = (cpuTotal / profiledRun.messages) * 1000;
    const goalRate = first ? 0.5 * first.raw.perSecond : Number.NaN;
    const budgetMs = (cores * 1000) / goalRate;
    const text = `## P2e: the local stack end to end against raw nodemailer pools

\`npm start\`'s stack as a child process (\`--dispatchers ${PIPELINE_DISPATCHERS}\`, no demo, fresh state), ${PIPELINE_TENANTS} tenants, each
on its own smtp-server peer in this process (STARTTLS with a certificate for \`localhost\` the workers
trust through NODE_EXTRA_CA_CERTS, AUTH PLAIN). A run: the producer enqueues the messages round-robin
over the tenants (SendMessageBatch, 500 a call, in parallel), the dispatcher workers poll and deliver;
the clock stops when the peers accepted the last one. Raw pools: one nodemailer pool per tenant with
${perTenant} connections (each of the ${PIPELINE_DISPATCHERS} workers keeps one per tenant: ${PIPELINE_TENANTS * perTenant} connections either way), every
message handed over at once, on the same peers right after the pipeline's run. Both after a warm-up of
${WARM_UP} messages (connections open, code warm).

${comparisonTable(rows)}

Connections the peers accepted during the pipeline's measured runs: ${rows.map((r) => r.measured.connections).join(' and ')} (the
workers' connections were already open); during the raw runs: ${rows.map((r) => r.raw.connections).join(' and ')}.

### Where the time goes

The machine has ${cores} cores and the run is CPU-bound: in the profiled 1,000-message run
(${profiledRun.perSecond.toFixed(0)} msgs/s under the profiler) the processes used ${cpuTotal.toFixed(1)} CPU-seconds in
${profiledRun.seconds.toFixed(1)} s: dispatcher workers ${share(cpu.workers)}, the stack's main process (dynalite, fauxqs,
the SES and KMS stand-ins, the delivery watch log) ${share(cpu.stack)}, the config API worker ${share(cpu.configApi)},
this process (peers, producer) ${share(cpu.bench)}. About ${((cpu.workers / profiledRun.messages) * 1000).toFixed(1)} ms of worker CPU per
message, where the raw pools, client and server in this one process, spend at most ${first ? ((1 / first.raw.perSecond) * 1000).toFixed(1) : '?'} ms
of CPU in all (one process uses at most one core).

The budget the goal sets: a ratio of 0.5 against the raw pools' ${first ? first.raw.perSecond.toFixed(0) : '?'} msgs/s is ${goalRate.toFixed(0)} msgs/s, which
${cores} cores allow only at ${budgetMs.toFixed(1)} ms of CPU per message across every process of the pipeline
(producer, queue, table, workers, peers). The profiled run spent ${cpuPerMessageMs.toFixed(1)} ms a message (the profiler adds
some), the stack's main process alone ${((cpu.stack / profiledRun.messages) * 1000).toFixed(1)} ms: no arrangement of these processes reaches the
goal on this machine. The pipeline's ceiling grows with cores (about ${(1000 / cpuPerMessageMs).toFixed(0)} msgs/s per core at this cost),
the raw pools' does not (one process).

Every process of the stack ran under \`node --cpu-prof\` (NODE_OPTIONS; \`LOCAL_DISPATCHER_CPU_PROF\` does it for the
dispatcher workers alone under \`npm start\`); below, the run's window only (start-up cut off). The
stack's main process, which serves dynalite, fauxqs and the stand-ins on one thread, was busy
${(stackBusy * 100).toFixed(0)} % of the window; its self time by module:

${profileTables({ ...stackSummary, functions: [] }).split('\n\n')[0]}

The ${summary.profiles} dispatcher workers: ${Math.round(summary.totalMs - summary.idleMs)} ms busy of ${Math.round(summary.totalMs)} ms sampled (the rest waiting on
the stack and the peers), ${Math.round(summary.gcMs)} ms of it garbage collection; shares are of the busy time.

${profileTables(summary)}

What the profiles say: about half of a worker's busy time is the AWS SDK (\`@smithy/*\`, \`@aws-sdk/*\`:
middleware stack, SigV4 signing and hashing, serialisation, the HTTP agent), for about 3.2 calls a
message on this mix (the claim's UpdateItem and the record's PutItem per message, and with 10 tenants
in a batch of 10 a config Query per message, then the suppression BatchGetItem, ReceiveMessage and
DeleteMessageBatch per batch); about a fifth is nodemailer (MailComposer building the MIME, the SMTP
connection), the same work the raw pools do. The other side of those calls, dynalite (with its LevelDB,
\`classic-level\`) and fauxqs (with its SQLite), costs the stack's main thread about as much again: with
the workers idle most of the time and the two cores shared by every process, CPU per message, not the
dispatcher's concurrency, sets the pace. Raw pools make no AWS calls at all: on this machine the pipeline's floor is the cost of
its AWS calls on both sides, far below the goal's ratio. The worker's own CPU per message
(${((cpu.workers / profiledRun.messages) * 1000).toFixed(1)} ms) against the raw pools' (client and server) is the ratio a
deployment with real AWS services would see at best.

Changed after profiling: (1) every dimensioned metric used \`metrics.singleMetric()\`, which builds a whole
Powertools Metrics (its environment read and a new Console) per call, several times a message; the
dispatcher now keeps one single-metric instance per Metrics (functions/dispatcher/observe.ts): the
Powertools share of the profile went from about 5 % to under 1 %. (2) The stack's watch log read every
delivered message back through the config API (a JWT check, a DynamoDB read, a line per message); it now
describes up to 20 deliveries a second and counts the rest in one line a second (infra/local/demo.ts),
which takes a config API call per message off the stack. Left as they are, on purpose: one batch at a
time per worker (a Lambda container takes one invocation at a time; more concurrency does not help a
CPU-bound run), the claim and the delivery record (the contract's two writes), one connection per
tenant per worker.
`;
    return { text, peakRssMiB };
  } finally {
    await servers.closeAll();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

export interface P2Result {
  text: string;
  /** Wall time of one warm batch of 10 in one container, ms (for P5's Lambda duration). */
  batchMs: number;
}

/** P2: the dispatcher handler in this process, fed built SQS events, against raw pools. */
export async function p2Section(fx: DispatcherFixture): Promise<P2Result> {
  const rig = await startHandlerRig(fx);
  await rawPoolsToTestPeers(rig.peers, WARM_UP, 'p2-raw-warm', HANDLER_CONTAINERS);
  await runHandler(fx, rig, WARM_UP, 'p2-warm');
  const rows: { label: string; measured: Throughput; raw: Throughput }[] = [];
  let batchMs = 0;
  for (const size of SIZES) {
    const measured = await runHandler(fx, rig, size, `p2-${size}`);
    const raw = await rawPoolsToTestPeers(rig.peers, size, `p2-raw-${size}`, HANDLER_CONTAINERS);
    rows.push({ label: size.toLocaleString('en'), measured, raw });
    if (size === SIZES[0]) batchMs = (measured.seconds * 1000 * HANDLER_CONTAINERS) / (size / 10);
    console.log(`P2 ${size}: handler ${rate(measured)}/s, raw ${rate(raw)}/s`);
  }
  const text = `## P2: the dispatcher handler alone against raw nodemailer pools

The real dispatcher (its adapters over the local dynalite table, the KMS stand-in, SES and SQS) in
this process, ${HANDLER_CONTAINERS} containers (\`createDispatcher\` each, own caches and connections) each taking the
next batch of 10 as soon as it finished the last; the SQS events are built here (no queue: no
receive, no delete). ${HANDLER_TENANTS} tenants round-robin, each on a STARTTLS + AUTH smtp-server peer in this
process. Raw pools: one nodemailer pool per tenant with ${HANDLER_CONTAINERS} connections to the same peers, every
message at once. Both warmed with ${WARM_UP} messages first.

${comparisonTable(rows)}

Everything here shares one process and one core (dynalite too), so the ratio shows the handler's own
cost per message against a raw pool's. One warm batch of 10 took ${batchMs.toFixed(0)} ms of a container's
wall time on average (the 1,000-message run), which P5 takes as the Lambda duration.
`;
  return { text, batchMs };
}

/** P4: bundle sizes and cold import time of each Lambda, and the workers' peak RSS from P2e. */
export async function p4Section(peakRssMiB: number[]): Promise<string> {
  const table = bundleTable(await measureBundles());
  console.log(table);
  const rss = peakRssMiB.filter((n) => Number.isFinite(n));
  return `## P4: bundle size, cold import time, peak RSS

Each handler bundled by esbuild as the CDK stack's NodejsFunction bundles it (infra/lambda.ts: one
minified ESM file for node22, \`mainFields\` module then main, the AWS SDK inside, the \`require\` banner,
a source map beside it), then imported by a fresh \`node\` (median of 5; settings in the environment,
nothing called).

${table}

Peak RSS (VmHWM) of the ${rss.length} dispatcher workers at the end of P2e's 10,000-message run (after the warm-up
and the 1,000-message run): ${rss.map((n) => `${n.toFixed(0)} MiB`).join(', ')} (max ${Math.max(...rss).toFixed(0)} MiB; the function has 512 MB).
A worker runs the TypeScript sources through tsx, unbundled, so this is an upper bound for the bundle.
`;
}

/** P5: cost per million messages, smtp route and platform route. */
export async function p5Section(fx: DispatcherFixture, batchMs: number): Promise<string> {
  const meter = meterCapacity(fx.dynamo.client as never);
  const counts = {
    kms: fx.counts.kms,
    ses: countCommands(fx.ses.client as never),
    sqs: countCommands(fx.sqs.client as never),
  };
  const peer = await fx.smtp.start();
  await fx.smtpTenant('p5-smtp', peer.port);
  await fx.platformTenant('p5-plat');
  const smtp = await measureUsage(
    fx,
    meter,
    counts,
    'p5-smtp',
    'Tenant SMTP route (smtp mode, its server works)',
  );
  const platform = await measureUsage(fx, meter, counts, 'p5-plat', 'Platform route (SES)');
  const table = costTable([
    { usage: smtp, rows: costRows(smtp, batchMs) },
    { usage: platform, rows: costRows(platform, batchMs) },
  ]);
  console.log(table);
  const { PRICES } = await import('./cost');
  return `## P5: platform cost per million messages

From a warm batch of 10 of one tenant (a fresh container, its first batch not counted): DynamoDB
capacity units as the local table reports them for each call (ReturnConsumedCapacity TOTAL; the
claim, the delivery record, the batch's config Query and suppression BatchGetItem), KMS, SES and the
dispatcher's own SQS calls (SDK middleware counts, as P1), the EMF bytes the dispatcher printed with
metrics on, and P2's wall time per batch as the Lambda duration (local, slower than AWS: an upper bound).
Prices: the public us-east-1 list, on demand, without free tiers; read ${PRICES.readOn}.
Left out: data transfer, the NAT gateway of static egress (per GB and per hour), the per-metric monthly
charge of CloudWatch custom metrics (a fixed monthly cost, not per message), the config API.

${table}

SES's per-email price dominates the platform route; a tenant whose own server works costs the platform
a few dollars per million messages, most of it the two DynamoDB writes per message.
`;
}
