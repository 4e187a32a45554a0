import net from 'node:net';
import tls from 'node:tls';
import { DnsFailureError } from '../core/errors';
import type { Clock, SmtpErrorInfo, SmtpSecurity } from '../core/types';
import { oneLine, type SessionTracker } from './tenant-smtp-session';

/** The network guard as the sender needs it: refuse (throw) or name the one address to connect to. */
export type VetHost = (host: string, port: number) => Promise<{ address: string }>;

/** A failure before nodemailer had a connection: already described, passed through nodemailer as is. */
export class ConnectFailure extends Error {
  readonly info: SmtpErrorInfo;
  constructor(info: SmtpErrorInfo) {
    super(info.message);
    this.name = 'ConnectFailure';
    this.info = info;
  }
}

export interface ConnectorOptions {
  vet: VetHost;
  clock: Clock;
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Options for tls.connect (servername, ca, rejectUnauthorized), the same nodemailer uses for STARTTLS. */
  tls: tls.ConnectionOptions;
  /** Budget for vetting, connecting and (implicit TLS) the handshake. */
  connectMs: number;
  redact: (text: string) => string;
}

/** An open connection to the vetted address, TLS already up for implicit TLS. */
export interface OpenedSocket {
  socket: net.Socket;
  address: string;
  secured: boolean;
}

function vetFailure(err: unknown, redact: (text: string) => string): SmtpErrorInfo {
  const message = oneLine(redact(err instanceof Error ? err.message : String(err)));
  // A DNS failure is a connection problem; a refused host (HostRefusedError, or anything else the
  // guard throws) is the config's.
  return { phase: 'CONFIG', code: err instanceof DnsFailureError ? 'EDNS' : 'ECONFIG', message };
}

function errnoCode(err: Error): string | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Opens a connection for `tracker`: vets the host again (a name re-resolved to an inside address is
 * refused before any packet), connects to the vetted address itself and, for implicit TLS, completes
 * the handshake, all within `connectMs` and before `deadline`. Rejects with a ConnectFailure.
 */
export function openSocket(
  options: ConnectorOptions,
  tracker: SessionTracker,
  deadline: number,
): Promise<OpenedSocket> {
  const { clock, redact } = options;
  const budget = Math.max(1, Math.min(options.connectMs, deadline - clock.now()));
  return new Promise<OpenedSocket>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, opened?: OpenedSocket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err || !opened) {
        tracker.socket?.destroy();
        reject(err);
        return;
      }
      resolve(opened);
    };
    const timer = setTimeout(() => {
      const message = `no connection to ${options.host}:${options.port} within ${budget} ms`;
      finish(new ConnectFailure({ phase: tracker.current(), code: 'ETIMEDOUT', message }));
    }, budget);

    const fail = (err: Error, tlsFailure: boolean): void => {
      const nodeCode = errnoCode(err);
      const detail = nodeCode !== undefined && !err.message.includes(nodeCode) ? ` [${nodeCode}]` : '';
      const message = oneLine(redact(`${tlsFailure ? 'TLS handshake failed: ' : ''}${err.message}${detail}`));
      const code = tlsFailure ? 'ETLS' : (nodeCode ?? 'ECONNECTION');
      finish(new ConnectFailure({ phase: 'CONNECT', code, message }));
    };
    // Kept for a socket's whole life: nodemailer adds its own handlers; this one only makes sure an
    // error in a gap between owners never becomes an uncaught exception.
    const ignoreErrors = (socket: net.Socket): void => {
      socket.on('error', () => undefined);
    };
    const handOver = (socket: net.Socket, address: string, secured: boolean): void => {
      tracker.connected();
      finish(null, { socket, address, secured });
    };

    options.vet(options.host, options.port).then(
      ({ address }) => {
        if (settled) return;
        if (tracker.aborted) {
          finish(new ConnectFailure({ phase: 'CONNECT', code: 'ETIMEDOUT', message: 'deadline reached' }));
          return;
        }
        const raw = net.connect({ host: address, port: options.port });
        // The raw TCP socket: destroying it ends the session whatever TLS runs on top of it.
        tracker.socket = raw;
        ignoreErrors(raw);
        raw.once('error', (err: Error) => fail(err, false));
        raw.once('connect', () => {
          if (options.security !== 'tls') return handOver(raw, address, false);
          const secure = tls.connect({ ...options.tls, socket: raw, host: address });
          ignoreErrors(secure);
          secure.once('error', (err: Error) => fail(err, true));
          secure.once('secureConnect', () => handOver(secure, address, true));
        });
      },
      (err: unknown) => finish(new ConnectFailure(vetFailure(err, redact))),
    );
  });
}
