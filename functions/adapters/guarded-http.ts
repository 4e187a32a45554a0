import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { VettedTarget } from '../core/ports';

/**
 * One guarded HTTP POST for the URLs tenants give us (webhooks, OAuth2 token endpoints): the connection
 * goes to the address the network guard vetted, never re-resolved, with the URL's name kept for SNI and
 * the certificate check; no redirect is followed (Node never follows one); one deadline for it all.
 */

/** Ports a tenant's https URL may use outside local development. */
export const HTTPS_PORTS: readonly number[] = [443, 8443];

export interface GuardedPostOptions {
  /** Connect, TLS, request and the whole answer must end within this; then it fails with ETIMEDOUT. */
  timeoutMs: number;
  /** Extra trusted CAs (tests); production trusts Node's store plus NODE_EXTRA_CA_CERTS. */
  ca?: string[];
  /** Bytes of the answer kept (the rest is read and dropped); default 64 KiB. */
  maxBodyBytes?: number;
}

export interface GuardedAnswer {
  status: number;
  /** The start of the body (up to `maxBodyBytes`), UTF-8. */
  text: string;
}

/** A lookup that answers with the vetted address only: the connection never re-resolves the name. */
function pinnedLookup(target: VettedTarget): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}

/** POSTs `body` to `url` over a connection to `target` only; rejects on a network error or the timeout. */
export function guardedPost(
  url: URL,
  target: VettedTarget,
  headers: Record<string, string>,
  body: string,
  options: GuardedPostOptions,
): Promise<GuardedAnswer> {
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  return new Promise<GuardedAnswer>((resolve, reject) => {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const fail = (err: Error): void =>
      reject(
        signal.aborted
          ? Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })
          : err,
      );
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(target),
      agent: false,
      signal,
      ...(options.ca !== undefined && { ca: options.ca }),
    });
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < maxBodyBytes) chunks.push(chunk.subarray(0, maxBodyBytes - size));
        size += chunk.length;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', fail);
    });
    request.on('error', fail);
    request.end(body);
  });
}
