import type net from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createTransport } from 'nodemailer';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

/**
 * A local submission server in the manner of Microsoft 365 and Gmail: it takes only AUTH XOAUTH2,
 * checks the bearer token (signature against the token server's JWKS, expiry, `iss`, `aud`) and relays
 * what it accepts into the local mailbox (maildev). A refused token gets Gmail's answer: a 334 with the
 * error as base64 JSON, then 535.
 */

export interface RelayTarget {
  host: string;
  port: number;
  username: string;
  password: string;
}

export interface SubmissionServerOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  relay: RelayTarget;
  /** STARTTLS with this key and certificate; without it the server speaks plain SMTP (local only). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** The mailboxes (XOAUTH2 `user=`) it serves; any when unset. */
  users?: string[];
  /**
   * Refuse the n-th login (1-based) whatever the token (tests: a token revoked between fetch and use).
   * `direct` answers 535 at once (Exchange Online), `challenge` a 334 first (Gmail).
   */
  refuse?: (n: number) => 'direct' | 'challenge' | undefined;
  host?: string;
  port?: number;
}

/** One login as the server judged it. */
export interface SubmissionLogin {
  user: string;
  accepted: boolean;
  /** Why a token was refused (jose's error code), for the tests. */
  reason?: string;
}

export interface SubmissionServer {
  host: string;
  port: number;
  logins: SubmissionLogin[];
  /** Messages relayed into the mailbox. */
  relayed(): number;
  close(): Promise<void>;
}

function replyError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Starts the XOAUTH2-only submission server. */
export async function startSubmissionServer(options: SubmissionServerOptions): Promise<SubmissionServer> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const relay = createTransport({
    host: options.relay.host,
    port: options.relay.port,
    secure: false,
    ignoreTLS: true,
    auth: { user: options.relay.username, pass: options.relay.password },
  });
  const logins: SubmissionLogin[] = [];
  let relayed = 0;
  const sockets = new Set<net.Socket>();

  async function judge(auth: SMTPServerAuthentication): Promise<SubmissionLogin> {
    const user = auth.username ?? '';
    if (options.users !== undefined && !options.users.includes(user)) {
      return { user, accepted: false, reason: 'unknown-mailbox' };
    }
    try {
      await jwtVerify(auth.accessToken ?? '', jwks, { issuer: options.issuer, audience: options.audience });
      return { user, accepted: true };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { user, accepted: false, reason: typeof code === 'string' ? code : 'invalid-token' };
    }
  }

  const server = new SMTPServer({
    secure: false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ['STARTTLS'] }),
    hideSTARTTLS: options.tls === undefined,
    allowInsecureAuth: options.tls === undefined,
    authMethods: ['XOAUTH2'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      if (auth.method !== 'XOAUTH2') {
        callback(replyError(535, '5.7.30 Basic authentication is not supported for Client Submission'));
        return;
      }
      void judge(auth).then((login) => {
        const forced = options.refuse?.(logins.length + 1);
        const verdict = forced === undefined ? login : { ...login, accepted: false, reason: 'refused' };
        logins.push(verdict);
        if (verdict.accepted) return callback(null, { user: verdict.user });
        if (forced === 'direct') return callback(replyError(535, '5.7.3 Authentication unsuccessful'));
        callback(null, { data: { status: '401', schemes: 'bearer', scope: options.audience } });
      });
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        relay.sendMail({ envelope: { from, to }, raw: Buffer.concat(chunks) }).then(
          () => {
            relayed += 1;
            callback(null, '2.0.0 Ok: queued');
          },
          () => callback(replyError(451, '4.3.0 the mailbox is not reachable, try again later')),
        );
      });
    },
  });
  server.on('error', () => undefined);
  server.server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server.server, options.port ?? 0, host);
  return {
    host,
    port,
    logins,
    relayed: () => relayed,
    async close() {
      for (const socket of sockets) socket.destroy();
      relay.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
