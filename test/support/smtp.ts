import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterAll } from 'vitest';
import { createTenantSmtpSender, type TenantSmtpSenderOptions } from '../../functions/adapters/tenant-smtp';
import type {
  OutgoingMail,
  SmtpCredentials,
  SmtpSendOutcome,
  SmtpTarget,
  TenantSmtpSender,
} from '../../functions/core/ports';
import { systemClock } from '../../functions/core/types';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));

/** The test CA (trusted by the sender under test) and the host name its main certificate names. */
export const TEST_CA = fixture('ca.pem');
export const TEST_HOST = 'smtp.tenant.test';
/** Key and certificate for TEST_HOST (signed by TEST_CA), for any TLS server a test runs. */
export const TEST_TLS = { key: fixture('smtp.tenant.test-key.pem'), cert: fixture('smtp.tenant.test.pem') };
/** The CA of the `localhost` certificate (localhostCertificate), for processes trusting it by NODE_EXTRA_CA_CERTS. */
export const BENCH_CA_FILE = fileURLToPath(new URL('../fixtures/tls/bench-ca.pem', import.meta.url));
export const TEST_USER = 'notifications@tenant.test';
export const TEST_PASSWORD = 'S3cret-Pa55word!';

/** A message with a dot-stuffed line, to see the raw bytes arrive intact. */
export const RAW_MESSAGE = Buffer.from(
  [
    'From: notifications@tenant.test',
    'To: ann@example.test',
    'Subject: Your form was submitted',
    'Message-ID: <m1@tenant.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello Ann,',
    '.a line that starts with a dot',
    '',
  ].join('\r\n'),
);

export function testMail(to: string[] = ['ann@example.test']): OutgoingMail {
  return { from: 'notifications@tenant.test', to, raw: RAW_MESSAGE };
}

let tenantCount = 0;
/** The password each test tenant logs in with (TEST_PASSWORD unless its target said otherwise). */
const passwords = new Map<string, string>();

/** The credentials port of the tests: each tenant's password from `testTarget`, asked for by tenant. */
export const testCredentials: SmtpCredentials & { asked: string[] } = {
  asked: [],
  async credentialFor(target) {
    testCredentials.asked.push(target.tenantId);
    return { type: 'password', user: target.username, pass: passwords.get(target.tenantId) ?? TEST_PASSWORD };
  },
  invalidate: () => undefined,
};

/** A STARTTLS target on 127.0.0.1:port; every call is a new tenant, so a new pool. */
export function testTarget(
  port: number,
  overrides: Partial<SmtpTarget> & { password?: string } = {},
): SmtpTarget {
  tenantCount += 1;
  const { password, ...rest } = overrides;
  const target: SmtpTarget = {
    tenantId: `tenant-${tenantCount}`,
    configVersion: 1,
    host: TEST_HOST,
    port,
    security: 'starttls',
    username: TEST_USER,
    ...rest,
  };
  if (password !== undefined) passwords.set(target.tenantId, password);
  return target;
}

/** Short timeouts, the test CA trusted, every host "vetted" to 127.0.0.1, passwords from testTarget. */
export function testSenderOptions(overrides: Partial<TenantSmtpSenderOptions> = {}): TenantSmtpSenderOptions {
  return {
    vet: async () => ({ address: '127.0.0.1' }),
    credentials: testCredentials,
    clock: systemClock,
    timeouts: { connectMs: 500, commandMs: 1000, dataReplyMs: 1000 },
    tls: { ca: [TEST_CA] },
    name: 'dispatcher.test',
    ...overrides,
  };
}

export interface SmtpSenderHarness {
  servers: SmtpTestServers;
  /** A sender with testSenderOptions, the harness defaults, then `overrides`; closed after the file. */
  makeSender(overrides?: Partial<TenantSmtpSenderOptions>): TenantSmtpSender;
}

/**
 * The setup of a tenant SMTP sender test file: servers and senders made through it are closed in
 * afterAll. `defaults` apply to every sender (e.g. allowInsecure and timeouts); overrides win.
 */
export function smtpSenderHarness(defaults: Partial<TenantSmtpSenderOptions> = {}): SmtpSenderHarness {
  const servers = new SmtpTestServers();
  const senders: TenantSmtpSender[] = [];
  afterAll(async () => {
    for (const sender of senders) sender.close();
    await servers.closeAll();
  });
  return {
    servers,
    makeSender(overrides = {}) {
      const sender = createTenantSmtpSender(testSenderOptions({ ...defaults, ...overrides }));
      senders.push(sender);
      return sender;
    },
  };
}

/** The failure of a send that was expected to fail (throws on success, showing what came back). */
export function sendFailure(outcome: SmtpSendOutcome): Extract<SmtpSendOutcome, { ok: false }> {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: Buffer;
  user: string | undefined;
  secure: boolean;
}

export interface SmtpServerMode {
  /** 'starttls' (default): STARTTLS offered and required for AUTH; 'implicit': TLS from the first byte. */
  tls?: 'starttls' | 'implicit' | 'none';
  /** Present the certificate for another name (wrong.test) instead of smtp.tenant.test. */
  wrongCertificate?: boolean;
  /** Present the certificate for `localhost` (signed by BENCH_CA) instead: a host any process resolves. */
  localhostCertificate?: boolean;
  /** Do not offer STARTTLS (a client that requires it must fail). */
  hideStartTls?: boolean;
  /** Refuse the connection with this reply instead of the 220 greeting, e.g. '421 4.3.2 Too busy'. */
  greeting?: string;
  /** Reply to MAIL FROM, e.g. '421 4.7.0 Try later' or '550 5.7.1 Sender not allowed'. */
  mail?: string;
  /** Reply per recipient address, e.g. { 'gone@x.test': '550 5.1.1 No such user' }; others get 250. */
  rcpt?: Record<string, string>;
  /** Reply after the final ".", e.g. '451 4.3.0 Try later' or '554 5.2.0 Daily quota exceeded'. */
  dataEnd?: string;
  /** Take the whole message, then drop the connection without replying. */
  dropAfterDot?: boolean;
  /** A tarpit: before replying to the final ".", wait until this settles (the test releases it). */
  holdReply?: () => Promise<void>;
  /** Take the whole message, then answer 250 only this many ms after the final "." (a slow relay). */
  replyAfterDotMs?: number;
  /** Offer only AUTH LOGIN (a challenge per step) instead of PLAIN and LOGIN. */
  loginOnly?: boolean;
  /** Put the password the client sent into the 535 reply (a hostile server), to test redaction. */
  echoPasswordOnFailure?: boolean;
  /** The text after "535 " when a login is refused, made from the password the client sent. */
  authRefusal?: (password: string) => string;
}

export interface TestSmtpServer {
  port: number;
  received: ReceivedMessage[];
  /**
   * Command lines the server read, as far as it can read them: every line of a scripted server; for
   * smtp-server, the plain-text part of each session (before STARTTLS, or all of it with `tls: 'none'`).
   */
  commands: string[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** A scripted reply that never comes: the server hangs at that step. */
export const SILENT = '';

/** An error smtp-server turns into the given reply ("550 5.1.1 No such user"). */
function replyError(reply: string): Error & { responseCode: number } {
  const match = /^(\d{3})[ -]?(.*)$/.exec(reply);
  return Object.assign(new Error(match?.[2] ?? reply), { responseCode: Number(match?.[1] ?? 554) });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Starts servers on 127.0.0.1 and port 0 and closes every one of them in `closeAll` (afterAll). */
export class SmtpTestServers {
  private readonly closers: Array<() => Promise<void>> = [];

  /** smtp-server in the given mode, with AUTH (TEST_USER / TEST_PASSWORD, else 535) required. */
  async start(mode: SmtpServerMode = {}): Promise<TestSmtpServer> {
    const security = mode.tls ?? 'starttls';
    const certName = mode.wrongCertificate
      ? 'wrong.test'
      : mode.localhostCertificate
        ? 'localhost'
        : TEST_HOST;
    const received: ReceivedMessage[] = [];
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const sessionSocket = (session: SMTPServerSession): net.Socket | undefined =>
      [...sockets].find((socket) => socket.remotePort === session.remotePort);

    const options: SMTPServerOptions = {
      secure: security === 'implicit',
      key: fixture(`${certName}-key.pem`),
      cert: fixture(`${certName}.pem`),
      hideSTARTTLS: security === 'none' || mode.hideStartTls === true,
      ...((security === 'none' || mode.hideStartTls) && { disabledCommands: ['STARTTLS'] }),
      allowInsecureAuth: security === 'none',
      authMethods: mode.loginOnly ? ['LOGIN'] : ['PLAIN', 'LOGIN'],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 100,
      onConnect(_session, callback) {
        callback(mode.greeting === undefined ? null : replyError(mode.greeting));
      },
      onAuth(auth, _session, callback) {
        if (auth.username === TEST_USER && auth.password === TEST_PASSWORD) {
          callback(null, { user: auth.username });
          return;
        }
        const echo = mode.echoPasswordOnFailure ? ` (you sent ${auth.password ?? ''})` : '';
        const text =
          mode.authRefusal?.(auth.password ?? '') ?? `5.7.8 Authentication credentials invalid${echo}`;
        callback(replyError(`535 ${text}`));
      },
      onMailFrom(_address, _session, callback) {
        callback(mode.mail === undefined ? null : replyError(mode.mail));
      },
      onRcptTo(address, _session, callback) {
        const reply = mode.rcpt?.[address.address];
        callback(reply === undefined ? null : replyError(reply));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (mode.dropAfterDot) {
            // The whole message and its final "." arrived; vanish without a reply.
            sessionSocket(session)?.destroy();
            return;
          }
          if (mode.dataEnd !== undefined) {
            callback(replyError(mode.dataEnd));
            return;
          }
          const accept = () => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              raw: Buffer.concat(chunks),
              user: typeof session.user === 'string' ? session.user : undefined,
              secure: session.secure,
            });
            callback(null, '2.0.0 Ok: queued as TEST1');
          };
          if (mode.holdReply) void mode.holdReply().then(accept);
          else if (mode.replyAfterDotMs !== undefined) setTimeout(accept, mode.replyAfterDotMs);
          else accept();
        });
      },
    };
    const server = new SMTPServer(options);
    server.on('error', () => undefined);
    const commands: string[] = [];
    server.server.on('connection', (socket: net.Socket) => {
      connections += 1;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      if (security === 'none') readLines(socket, commands);
    });
    const port = await listen(server.server);
    const close = async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    this.closers.push(close);
    return { port, received, commands, connections: () => connections, close };
  }

  /** A TCP server that accepts and never says a word (no greeting). */
  async startSilent(): Promise<TestSmtpServer> {
    return this.startRaw(() => undefined);
  }

  /**
   * A plain-text SMTP server answering from a script, for replies smtp-server cannot give (e.g. a
   * failing DATA command). `replies` maps a verb (EHLO, AUTH, MAIL, RCPT, DATA, or '.' for the end of
   * data) to a reply; SILENT never answers (a server that hangs at that step).
   */
  async startScripted(replies: Record<string, string>): Promise<TestSmtpServer> {
    const defaults: Record<string, string> = {
      EHLO: '250-scripted.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME',
      AUTH: '235 2.7.0 Authenticated',
      MAIL: '250 2.1.0 Ok',
      RCPT: '250 2.1.5 Ok',
      DATA: '354 End data with <CR><LF>.<CR><LF>',
      '.': '250 2.0.0 Ok: queued',
      RSET: '250 2.0.0 Ok',
      QUIT: '221 2.0.0 Bye',
    };
    const script = { ...defaults, ...replies };
    const answer = (socket: net.Socket, reply: string): void => {
      if (reply !== SILENT) socket.write(`${reply}\r\n`);
    };
    return this.startRaw((socket, commands) => {
      socket.write('220 scripted.test ESMTP\r\n');
      let buffered = '';
      let inData = false;
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        for (;;) {
          if (inData) {
            const end = buffered.indexOf('\r\n.\r\n');
            if (end < 0) return;
            buffered = buffered.slice(end + 5);
            inData = false;
            commands.push('.');
            answer(socket, script['.'] ?? SILENT);
            continue;
          }
          const end = buffered.indexOf('\r\n');
          if (end < 0) return;
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          commands.push(line);
          const verb = /^[A-Za-z]+/.exec(line)?.[0]?.toUpperCase() ?? '';
          const reply = script[verb] ?? '502 5.5.2 Command not recognized';
          // The body follows a 354; the blank line before it is part of the body, not a command.
          if (reply.startsWith('354')) {
            inData = true;
            buffered = `\r\n${buffered}`;
          }
          answer(socket, reply);
        }
      });
    });
  }

  /** A port nothing listens on (listened on, then closed): connecting is refused. */
  async closedPort(): Promise<number> {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close()));
  }

  private async startRaw(
    onSocket: (socket: net.Socket, commands: string[]) => void,
  ): Promise<TestSmtpServer> {
    const sockets = new Set<net.Socket>();
    const commands: string[] = [];
    let connections = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => sockets.delete(socket));
      onSocket(socket, commands);
    });
    const port = await listen(server);
    const close = async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    this.closers.push(close);
    return { port, received: [], commands, connections: () => connections, close };
  }
}

/** Collects the lines a plain-text client sends on `socket` (commands, and the message body's lines). */
function readLines(socket: net.Socket, into: string[]): void {
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    const lines = buffered.split('\r\n');
    buffered = lines.pop() ?? '';
    into.push(...lines);
  });
}
