/**
 * The local stack (`npm start`) as a child process, started as a new user would, for the e2e tests: its own
 * temp folder (LOCAL_STACK_DIR) and a free port for every service, so it never meets a developer's stack.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateLocalIssuer } from '../../infra/local/jwt';
import { DEFAULT_PORTS } from '../../infra/local/ports';
import type { StackInfo } from '../../infra/local/stack';

export type { StackInfo } from '../../infra/local/stack';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LocalStackProcess {
  /** The stack's LOCAL_STACK_DIR (stack.json, jwt-key.json, maildev/). */
  dir: string;
  /** The LOCAL_*_PORT settings it was started with. */
  ports: Record<string, string>;
  child: ChildProcess;
  /** Everything the stack printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Waits for stack.json and returns it; throws with the stack's output on timeout or early exit. */
  ready(timeoutMs: number): Promise<StackInfo>;
  /** Waits until the output matches; throws with the output on timeout or early exit. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit; SIGKILLs and throws when it does not exit in time. */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit>;
  /** Kills the stack and every process under it if still alive, and removes its folder. Never throws. */
  dispose(): Promise<void>;
}

// Every stack this test process started, and its folder: killed and removed on the way out even when a
// test never reached its afterAll.
const live = new Set<ChildProcess>();
const folders = new Set<string>();
process.once('exit', () => {
  for (const child of live) killTree(child.pid);
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/**
 * Free ports below the kernel's ephemeral range (32768+), so that no server another test binds to port 0
 * can take one of them over after the stack stopped: "nothing is left listening" stays a sharp check.
 */
async function stablePorts(): Promise<Record<string, string>> {
  const chosen: Record<string, string> = {};
  const taken = new Set<number>();
  for (const spec of Object.values(DEFAULT_PORTS)) {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (taken.has(port) || (await probePort(port)) !== 'ECONNREFUSED' || !(await canListen(port))) continue;
      taken.add(port);
      chosen[spec.env] = String(port);
      break;
    }
  }
  return chosen;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Spawns what `npm start` runs (`node … infra/local/start.ts [--no-demo] [args…]`) on free ports, in a fresh
 * temp folder or in `dir` (a restart over the state a previous stack left there).
 */
export async function spawnLocalStack(options: {
  demo: boolean;
  args?: string[];
  dir?: string;
  /** The LOCAL_*_PORT settings of a previous stack, to restart on the same ports. */
  ports?: Record<string, string>;
}): Promise<LocalStackProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tenant-mailer-e2e-'));
  const ports = options.ports ?? (await stablePorts());
  const args = [
    '--disable-warning=ExperimentalWarning',
    '--import',
    'tsx',
    'infra/local/start.ts',
    ...(options.demo ? [] : ['--no-demo']),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...ports, LOCAL_STACK_DIR: dir, AWS_EC2_METADATA_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  folders.add(dir);
  let output = '';
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve(exit);
    });
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.once('error', (error) => {
    output += `\n[spawn failed: ${error.message}]\n`;
  });

  const fail = (what: string): Error =>
    new Error(
      `${what}${exit ? ` (the stack exited: code ${exit.code}, signal ${exit.signal})` : ''}\n` +
        `--- output of the local stack ---\n${output}`,
    );

  async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (exit) throw fail(`${what}: the stack is gone`);
      if (Date.now() > deadline) throw fail(`${what}: not within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  return {
    dir,
    ports,
    child,
    output: () => output,
    ready: (timeoutMs) => poll('waiting for stack.json', timeoutMs, () => readStackInfo(dir)),
    waitForOutput: (pattern, timeoutMs) =>
      poll(`waiting for output ${pattern}`, timeoutMs, async () => output.match(pattern) ?? undefined),
    async stop(signal, timeoutMs) {
      if (exit) return exit;
      child.kill(signal);
      const result = await Promise.race([exited, sleep(timeoutMs).then(() => undefined)]);
      if (result) return result;
      killTree(child.pid);
      throw fail(`${signal}: no exit within ${timeoutMs} ms`);
    },
    async dispose() {
      if (!exit) {
        killTree(child.pid);
        await Promise.race([exited, sleep(5_000)]);
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      folders.delete(dir);
    },
  };
}

/** stack.json of a running stack, or undefined while there is none (written whole, renamed into place). */
export async function readStackInfo(dir: string): Promise<StackInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'stack.json'), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

/** A token as `npm run token` mints it, from the stack's own key file. */
export async function mintToken(dir: string, tenantId: string, admin = false): Promise<string> {
  const issuer = await loadOrCreateLocalIssuer(join(dir, 'jwt-key.json'));
  return issuer.token(tenantId, { admin });
}

/** Runs the token script itself (`npm run token -- <tenantId>`) against the stack's folder. */
export function runTokenScript(dir: string, tenantId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/local/token.ts', tenantId],
      { cwd: REPO_ROOT, env: { ...process.env, LOCAL_STACK_DIR: dir }, timeout: 15_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`token script: ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

/** Calls the stack's config API as a client would (a bearer token, or none). */
export async function callApi<T = unknown>(
  info: StackInfo,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${info.apiUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Every TCP port the stack listens on, from the URLs in stack.json and the mailbox's SMTP port. */
export function stackPorts(info: StackInfo): number[] {
  const urls = [info.apiUrl, info.sesUrl, info.mailboxUrl, info.queueUrl, info.dlqUrl];
  const ports = [...urls, ...Object.values(info.endpoints)].map((url) => Number(new URL(url).port));
  return [...new Set([...ports, info.mailboxSmtp.port])].sort((a, b) => a - b);
}

/** What connecting to 127.0.0.1:port gives: 'connected', or the error code (ECONNREFUSED when closed). */
export function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The pids of every live process below `pid` (children, grandchildren, …). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child === undefined || parent === undefined || Number.isNaN(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * The stack's worker processes below `pid`, by the argument that names them in `ps`
 * (`--dispatcher-worker=<n>`, `--config-api-worker`) → pid.
 */
export function workerProcesses(pid: number): Map<string, number> {
  const below = new Set(descendants(pid));
  const found = new Map<string, number>();
  for (const line of execFileSync('ps', ['-A', '-o', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const match = /^\s*(\d+)\s.*\s(--dispatcher-worker=\d+|--config-api-worker)(\s|$)/.exec(line);
    if (match?.[1] && match[2] && below.has(Number(match[1]))) found.set(match[2], Number(match[1]));
  }
  return found;
}

/** Whether a process with this pid is still there (a zombie counts until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `probe` gives a value; throws after the timeout with the last probe's description. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  let below: number[] = [];
  try {
    below = descendants(pid);
  } catch {
    // ps missing: the stack starts no processes of its own, so the child alone is enough
  }
  for (const target of [pid, ...below]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
