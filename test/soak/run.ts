/**
 * `npm run soak -- --messages 5000 --tenants 50 --dispatchers 5 [--seed 1] [--timeout 900]
 * [--aws-throttle 0.02] [--aws-5xx 0.02] [--aws-timeout 0.01]`: the whole local stack as child processes
 * (`npm start -- --no-demo --fresh`, in a temp folder on free ports), tenants whose peers are local SMTP
 * servers covering the SMTP failure classes and healthy ones behind fault-injecting proxies, the handlers'
 * DynamoDB, SQS, SES and KMS behind fault-injecting HTTP proxies (throttling, 5xx, slow or lost answers at
 * those rates while the mail is processed), a dispatcher worker killed with SIGKILL mid-run; waits until
 * every message is settled and prints the accounting. Exits 1 when a message is lost or reached someone
 * twice without a recorded reason for the doubt. A script, not a
 * test: it measures nothing against a clock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createProducer, type QueueMessageInput } from '../../functions/producer';
import { DEFAULT_PORTS } from '../../infra/local/ports';
import {
  callApi,
  descendants,
  REPO_ROOT,
  readStackInfo,
  type StackInfo,
  workerProcesses,
} from '../support/local-stack';
import { SmtpTestServers } from '../support/smtp';
import { type AwsFaultRates, type AwsFaults, DEFAULT_AWS_FAULTS, startAwsFaults } from './aws-faults';
import { countCopies, drainDlq, listDeliveries } from './observe';
import { GONE, type Peer, senderConfig, startPeers } from './peers';
import { accountingTable, type Outcome } from './report';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '10' },
    dispatchers: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '900' },
    'aws-throttle': { type: 'string', default: String(DEFAULT_AWS_FAULTS.throttle) },
    'aws-5xx': { type: 'string', default: String(DEFAULT_AWS_FAULTS.serverError) },
    'aws-timeout': { type: 'string', default: String(DEFAULT_AWS_FAULTS.timeout) },
  },
  strict: true,
});
const MESSAGES = Number(values.messages);
const TENANTS = Number(values.tenants);
const SEED = Number(values.seed);
const AWS_FAULTS: AwsFaultRates = {
  throttle: rate(values['aws-throttle'], '--aws-throttle'),
  serverError: rate(values['aws-5xx'], '--aws-5xx'),
  timeout: rate(values['aws-timeout'], '--aws-timeout'),
  slowMs: DEFAULT_AWS_FAULTS.slowMs,
};

function rate(raw: string, name: string): number {
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be a share from 0 to 1 (got ${raw})`);
  return value;
}
const FINAL = new Set(['sent', 'partial', 'rejected', 'suppressed', 'dead']);
const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-mailer-soak-'));
  const servers = new SmtpTestServers();
  let peers: Peer[] = [];
  let stack: ChildProcess | undefined;
  let output = '';
  let faults: AwsFaults | undefined;
  try {
    peers = await startPeers(servers, TENANTS, SEED);
    faults = await startAwsFaults(AWS_FAULTS, SEED);
    const ports = {
      ...Object.fromEntries(Object.values(DEFAULT_PORTS).map((spec) => [spec.env, '0'])),
      ...faults.env,
    };
    stack = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        '--import',
        'tsx',
        'infra/local/start.ts',
        '--no-demo',
        '--fresh',
        '--dispatchers',
        values.dispatchers,
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...ports, LOCAL_STACK_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    stack.stdout?.on('data', collect);
    stack.stderr?.on('data', collect);
    const info = await waitFor('the local stack', 120_000, () => readStackInfo(dir));
    say(
      `soak: ${MESSAGES} messages, ${TENANTS} tenants, ${values.dispatchers} dispatcher workers, seed ${SEED}`,
    );
    say(
      `soak: AWS faults while the mail is processed: throttling ${AWS_FAULTS.throttle}, 5xx ${AWS_FAULTS.serverError}, ` +
        `timeouts ${AWS_FAULTS.timeout} (half answered after ${AWS_FAULTS.slowMs / 1000} s, half lost) of the handlers' DynamoDB, SQS, SES and KMS requests`,
    );

    const tenantOf = (i: number) => `soak-t${i % TENANTS}`;
    for (const [i, peer] of peers.entries()) {
      const put = await callApi(
        info,
        info.adminToken,
        'PUT',
        `/tenants/${tenantOf(i)}/sender`,
        senderConfig(peer, tenantOf(i)),
      );
      if (put.status !== 200) throw new Error(`configuring ${tenantOf(i)}: ${JSON.stringify(put.body)}`);
    }
    const sqs = new SQSClient({
      endpoint: info.endpoints.sqs,
      region: info.region,
      useQueueUrlAsEndpoint: false,
    });
    const messages = buildMessages(peers, tenantOf);
    const producer = createProducer({ sqs, queueUrl: info.queueUrl });
    const started = Date.now();
    faults.start();
    for (let i = 0; i < messages.length; i += 500) {
      const { failed } = await producer.enqueueBatch(messages.slice(i, i + 500));
      if (failed.length > 0) throw new Error(`enqueue failed: ${failed[0]?.message}`);
    }
    // One message in 200 is invalid (no recipient; sent raw, the producer refuses it): the DLQ, validation.
    const invalid = Array.from(
      { length: Math.max(1, Math.floor(MESSAGES / 200)) },
      (_, i) => `soak-invalid-${i}`,
    );
    for (const key of invalid) {
      const body = JSON.stringify({
        v: 1,
        tenantId: tenantOf(0),
        kind: 'notification',
        subject: key,
        idempotencyKey: key,
      });
      await sqs.send(new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: body }));
    }
    const keys = [...messages.map((m) => m.idempotencyKey ?? ''), ...invalid];
    say(
      `soak: enqueued in ${((Date.now() - started) / 1000).toFixed(1)} s; a dispatcher worker dies mid-run`,
    );
    await sleep(1_500);
    killOneWorker(stack.pid ?? -1);

    const outcomes = await settle(
      info,
      sqs,
      keys,
      [...new Set(messages.map((m) => m.tenantId))],
      Number(values.timeout) * 1000,
    );
    faults.stop();
    say(`soak: settled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`soak: AWS faults injected: ${faults.describe()}`);
    const copies = await countCopies(info, peers);
    const duplicates = await duplicatesWithReason(info, outcomes, copies);
    say();
    const { table, lost } = accountingTable(keys.length, outcomes, duplicates);
    say(table);
    sqs.destroy();
    const unrecorded = [...duplicates.values()].filter((reason) => reason === UNRECORDED).length;
    return lost > 0 || unrecorded > 0 ? 1 : 0;
  } catch (error) {
    say(`soak failed: ${error instanceof Error ? error.message : String(error)}`);
    say(`--- output of the local stack ---\n${output}`);
    return 2;
  } finally {
    await stop(stack);
    await faults?.close();
    for (const peer of peers) await peer.proxy?.close();
    await servers.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Round-robin over the tenants; recipient-rejected peers get some mail only for the address they refuse. */
function buildMessages(peers: Peer[], tenantOf: (i: number) => string): QueueMessageInput[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    const peer = peers[i % TENANTS];
    const lead = `lead-${i}@customer.example`;
    const to = peer?.kind === 'recipient-rejected' ? [[GONE], [GONE, lead], [lead]][i % 3] : [lead];
    return {
      v: 1,
      tenantId: tenantOf(i),
      kind: 'notification',
      to: to ?? [lead],
      subject: `soak ${i}`,
      text: `Soak message ${i}.`,
      idempotencyKey: `soak-${i}`,
    };
  });
}

/** SIGKILL for one dispatcher worker (the stack starts it again): what it held returns after its visibility. */
function killOneWorker(stackPid: number): void {
  const workers = [...workerProcesses(stackPid).entries()].filter(([name]) =>
    name.startsWith('--dispatcher'),
  );
  const victim = workers[SEED % Math.max(1, workers.length)];
  if (victim) {
    process.kill(victim[1], 'SIGKILL');
    say(`soak: killed ${victim[0]} (pid ${victim[1]}) with SIGKILL`);
  }
}

/** Polls the delivery records and drains the DLQ until every message is final, or the timeout passes. */
async function settle(info: StackInfo, sqs: SQSClient, keys: string[], tenants: string[], timeoutMs: number) {
  const outcomes = new Map<string, Outcome>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const dead of await drainDlq(info, sqs)) outcomes.set(dead.key, dead);
    for (const tenant of tenants) {
      for (const d of await listDeliveries(info, tenant)) {
        if (FINAL.has(d.status) && !outcomes.has(d.messageId))
          outcomes.set(d.messageId, { key: d.messageId, delivery: d });
      }
    }
    if (keys.every((key) => outcomes.has(key))) break;
    await sleep(2_000);
  }
  return outcomes;
}

/** Messages a recipient got more than once, with the reason the record gives for the doubt. */
async function duplicatesWithReason(
  info: StackInfo,
  outcomes: Map<string, Outcome>,
  copies: Map<string, number>,
) {
  const reasons = new Map<string, string>();
  for (const [pair, count] of copies) {
    if (count < 2) continue;
    const key = pair.split(' ')[0] ?? '';
    const tenant = outcomes.get(key)?.delivery ? tenantOfKey(key) : undefined;
    const detail = tenant
      ? await callApi<{ possibleDuplicate?: boolean; route?: string; attempts?: number; status?: string }>(
          info,
          info.adminToken,
          'GET',
          `/tenants/${tenant}/deliveries/${key}`,
        )
      : undefined;
    const d = detail?.body;
    say(
      `soak: ${key} (${pair.split(' ')[1]}) reached its recipient ${count} times; record: route ${d?.route}, ` +
        `status ${d?.status}, attempts ${d?.attempts}, possibleDuplicate ${d?.possibleDuplicate}`,
    );
    reasons.set(key, detail?.body.possibleDuplicate ? 'recorded (possibleDuplicate)' : UNRECORDED);
  }
  return reasons;
}

/** A duplicate whose record gives no reason for the doubt: the soak fails on it as on a lost message. */
const UNRECORDED = 'NOT RECORDED: no reason for the doubt in the record';

function tenantOfKey(key: string): string {
  return `soak-t${Number(key.replace('soak-', '')) % TENANTS}`;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** SIGTERM for the stack (it stops its workers and frees every port); SIGKILL for anything left after 20 s. */
async function stop(stack: ChildProcess | undefined): Promise<void> {
  if (!stack?.pid || stack.exitCode !== null) return;
  const below = descendants(stack.pid);
  const exited = new Promise<void>((resolve) => stack.once('exit', () => resolve()));
  stack.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  for (const pid of [stack.pid, ...below]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

// Exits even if a socket of a peer or client still holds the event loop.
process.exit(await main());
