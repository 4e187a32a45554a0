import http from 'node:http';
import net from 'node:net';

/**
 * Fault-injecting proxies for tests: a real local server sits behind, the proxy decides per TCP
 * connection (SMTP, or any TCP service) or per HTTP request (the AWS services) whether to pass or to
 * misbehave. Rules are set and cleared while the proxy runs; a rule fires for the requests it matches,
 * at its rate (seeded, so a run can be replayed), at most `times` times.
 */

/** Faults of one TCP connection. */
export type TcpFault =
  /** Reset at accept, before a byte is exchanged (the client sees ECONNRESET). */
  | { type: 'refuse' }
  /** Forward until the client has sent `afterBytes` bytes, then reset both sides (mid-conversation loss). */
  | { type: 'reset'; afterBytes: number }
  /** Connect to the server only after `ms`: a slow network. */
  | { type: 'delay'; ms: number }
  /** Accept and never answer nor forward (a blackhole). */
  | { type: 'hang' };

/** Faults of one HTTP request. */
export type HttpFault =
  /** Reset the connection without forwarding: the server never saw the request. */
  | { type: 'refuse' }
  /** Forward, let the server act on it, then reset instead of answering: the answer is lost. */
  | { type: 'lose-response' }
  /** Forward after `ms`. */
  | { type: 'delay'; ms: number }
  /** Never forward, never answer. */
  | { type: 'hang' }
  /** Answer in the server's place (see `awsErrors` in aws-wire.ts for real AWS wire formats). */
  | { type: 'respond'; response: CannedResponse };

export interface CannedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a rule sees of an HTTP request. */
export interface HttpRequestInfo {
  method: string;
  path: string;
  /** The X-Amz-Target header (JSON protocols: "DynamoDB_20120810.UpdateItem", "TrentService.Decrypt"). */
  target: string;
  body: string;
}

/** What a rule sees of a TCP connection: its number, counted from 1. */
export interface TcpConnectionInfo {
  index: number;
}

export interface FaultRule<Info, Fault> {
  fault: Fault;
  /** Which requests or connections the rule is about (default: all). */
  when?: (info: Info) => boolean;
  /** Share of the matching ones that get the fault, 0..1 (default 1). */
  rate?: number;
  /** Fires at most this many times (default: unlimited). */
  times?: number;
}

interface RuleState<Info, Fault> extends FaultRule<Info, Fault> {
  fired: number;
}

export interface FaultStats {
  /** Connections (TCP) or requests (HTTP) seen. */
  seen: number;
  /** Faults applied, by type. */
  faults: Record<string, number>;
}

export interface FaultProxy<Info, Fault> {
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Replaces the rules: the first that matches and fires (its rate) decides; none: pass. */
  set(...rules: FaultRule<Info, Fault>[]): void;
  clear(): void;
  stats: FaultStats;
  /** Stops listening (new connections are refused: ECONNREFUSED) and drops every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Resets every open connection (pooled ones too), still listening: the next use must reconnect. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Seed of the generator that applies rates (default 1): the same seed, the same faults. */
  seed?: number;
}

/** mulberry32: a seeded generator, so a run with rates can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rules, rates and counts, shared by both kinds of proxy. */
class Rules<Info, Fault extends { type: string }> {
  private rules: RuleState<Info, Fault>[] = [];
  readonly stats: FaultStats = { seen: 0, faults: {} };
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seeded(seed);
  }

  set(rules: FaultRule<Info, Fault>[]): void {
    this.rules = rules.map((r) => ({ ...r, fired: 0 }));
  }

  decide(info: Info): Fault | undefined {
    this.stats.seen += 1;
    for (const rule of this.rules) {
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      if (rule.when && !rule.when(info)) continue;
      if (this.random() >= (rule.rate ?? 1)) continue;
      rule.fired += 1;
      this.stats.faults[rule.fault.type] = (this.stats.faults[rule.fault.type] ?? 0) + 1;
      return rule.fault;
    }
    return undefined;
  }
}

/** Listening, stopping and restarting on one port, with every open socket tracked for a clean stop. */
function lifecycle(server: net.Server, sockets: Set<net.Socket>, initialPort = 0) {
  let port = initialPort;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
  const drop = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };
  return { listen, stop, drop, port: () => port };
}

function track(sockets: Set<net.Socket>, socket: net.Socket): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  // A reset or a destroyed peer is the point of this proxy, not an error of the test.
  socket.on('error', () => undefined);
}

/** A TCP proxy in front of `target` (SMTP servers and any other TCP service). */
export async function startTcpFaultProxy(
  target: { host?: string; port: number },
  options: FaultProxyOptions = {},
): Promise<FaultProxy<TcpConnectionInfo, TcpFault>> {
  const rules = new Rules<TcpConnectionInfo, TcpFault>(options.seed ?? 1);
  const sockets = new Set<net.Socket>();
  const host = target.host ?? '127.0.0.1';

  const pipe = (client: net.Socket, resetAfter?: number) => {
    const upstream = net.connect({ host, port: target.port });
    track(sockets, upstream);
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (resetAfter !== undefined && sent >= resetAfter) {
        // Forward only up to the cut, then reset both sides.
        const keep = chunk.subarray(0, chunk.length - (sent - resetAfter));
        upstream.write(keep, () => upstream.resetAndDestroy());
        client.resetAndDestroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  };

  const server = net.createServer((client) => {
    track(sockets, client);
    const fault = rules.decide({ index: rules.stats.seen + 1 });
    if (!fault) return pipe(client);
    if (fault.type === 'refuse') return client.resetAndDestroy();
    if (fault.type === 'hang') return;
    if (fault.type === 'reset') return pipe(client, fault.afterBytes);
    client.pause();
    const timer = setTimeout(() => {
      client.resume();
      pipe(client);
    }, fault.ms);
    client.once('close', () => clearTimeout(timer));
  });
  const life = lifecycle(server, sockets);
  await life.listen();
  return proxyOf(rules, life, server);
}

function proxyOf<Info, Fault extends { type: string }>(
  rules: Rules<Info, Fault>,
  life: ReturnType<typeof lifecycle>,
  server: net.Server,
  onClose: () => void = () => undefined,
): FaultProxy<Info, Fault> {
  return {
    get port() {
      return life.port();
    },
    get url() {
      return `http://127.0.0.1:${life.port()}`;
    },
    set: (...list) => rules.set(list),
    clear: () => rules.set([]),
    stats: rules.stats,
    stop: life.stop,
    start: life.listen,
    dropConnections: life.drop,
    async close() {
      await life.stop();
      server.removeAllListeners();
      onClose();
    },
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

/** An HTTP proxy in front of the server at `targetUrl` (dynalite, the KMS stand-in, SES, SQS). */
export async function startHttpFaultProxy(
  targetUrl: string,
  options: FaultProxyOptions = {},
): Promise<FaultProxy<HttpRequestInfo, HttpFault>> {
  const rules = new Rules<HttpRequestInfo, HttpFault>(options.seed ?? 1);
  const sockets = new Set<net.Socket>();
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true });

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
    onAnswer: (status: number, headers: http.IncomingHttpHeaders, data: Buffer) => void,
  ) => {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
    );
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        agent,
        headers: { ...headers, host: target.host, 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => onAnswer(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
      },
    );
    upstream.on('error', () => req.socket.resetAndDestroy());
    upstream.end(body);
  };

  const answer = (
    res: http.ServerResponse,
    status: number,
    headers: http.IncomingHttpHeaders,
    data: Buffer,
  ) => {
    const kept = Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()));
    res.writeHead(status, { ...Object.fromEntries(kept), 'content-length': String(data.length) });
    res.end(data);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.headers['x-amz-target'];
      const fault = rules.decide({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        target: typeof target === 'string' ? target : '',
        body: body.toString('utf8'),
      });
      const pass = () => forward(req, body, (status, headers, data) => answer(res, status, headers, data));
      if (!fault) return pass();
      switch (fault.type) {
        case 'refuse':
          return req.socket.resetAndDestroy();
        case 'hang':
          return;
        case 'lose-response':
          return forward(req, body, () => req.socket.resetAndDestroy());
        case 'delay': {
          const timer = setTimeout(pass, fault.ms);
          req.socket.once('close', () => clearTimeout(timer));
          return;
        }
        case 'respond':
          return answer(res, fault.response.status, fault.response.headers, Buffer.from(fault.response.body));
      }
    });
  });
  server.on('connection', (socket) => track(sockets, socket));
  const life = lifecycle(server, sockets);
  await life.listen();
  return proxyOf(rules, life, server, () => agent.destroy());
}
