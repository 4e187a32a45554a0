import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type AlertEvent,
  formatSignature,
  parseSignature,
  signedPayload,
  webhookPort,
  webhookUrlProblem,
} from '../core/alerts';
import { DnsFailureError, HostRefusedError } from '../core/errors';
import type { VettedTarget, WebhookPoster, WebhookResult, WebhookTarget } from '../core/ports';
import type { Clock } from '../core/types';
import { guardedPost, HTTPS_PORTS } from './guarded-http';
import type { NetworkGuard } from './network-guard';

/** Ports a webhook may use outside local development. */
export const WEBHOOK_PORTS: readonly number[] = HTTPS_PORTS;

/** The whole POST (connect, TLS, request, answer) must end within this. */
export const WEBHOOK_TIMEOUT_MS = 5_000;

/** The hex HMAC-SHA256 of `<t>.<raw body>` under the secret. */
export function webhookDigest(secret: string, unixSeconds: number, rawBody: string): string {
  return createHmac('sha256', secret).update(signedPayload(unixSeconds, rawBody), 'utf8').digest('hex');
}

/** The `Tenant-Mailer-Signature` header for a body sent at `unixSeconds`. */
export function signWebhook(secret: string, unixSeconds: number, rawBody: string): string {
  return formatSignature(unixSeconds, webhookDigest(secret, unixSeconds, rawBody));
}

/**
 * A receiver's check: the header parses, its time is within `toleranceSeconds` of now, and one v1 equals
 * the HMAC of `<t>.<raw body>` (compared in constant time).
 */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  rawBody: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parsed = parseSignature(header);
  if (!parsed || Math.abs(nowSeconds - parsed.t) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookDigest(secret, parsed.t, rawBody), 'hex');
  return parsed.v1.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
}

export interface WebhookPosterOptions {
  guard: Pick<NetworkGuard, 'vet'>;
  clock: Clock;
  /** `TENANT_SMTP_ALLOW_PRIVATE=1`: http: URLs too (the guard itself opens private addresses). */
  allowInsecure?: boolean;
  timeoutMs?: number;
  /** Extra trusted CAs (tests); production trusts Node's store plus NODE_EXTRA_CA_CERTS. */
  ca?: string[];
  userAgent?: string;
}

function reasonOf(err: unknown): string {
  if (err instanceof HostRefusedError || err instanceof DnsFailureError) return `refused: ${err.message}`;
  const code = (err as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : err instanceof Error ? err.name : 'Error';
  return `${name}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300);
}

/** Builds the webhook sender: guarded, pinned to the vetted IP (name kept for SNI and the certificate). */
export function createWebhookPoster(options: WebhookPosterOptions): WebhookPoster {
  const { guard, clock } = options;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const allowHttp = options.allowInsecure === true;

  async function vetUrl(raw: string): Promise<VettedTarget> {
    const problem = webhookUrlProblem(raw, allowHttp);
    if (problem) throw new HostRefusedError(`webhook ${problem}`, 'url');
    const url = new URL(raw);
    return guard.vet(url.hostname, webhookPort(url));
  }

  async function post(target: WebhookTarget, event: AlertEvent): Promise<WebhookResult> {
    const started = clock.now();
    const done = (ok: boolean, message: string, status?: number): WebhookResult => ({
      ok,
      message,
      durationMs: Math.max(0, clock.now() - started),
      ...(status !== undefined && { status }),
    });
    try {
      const vetted = await vetUrl(target.url);
      const body = JSON.stringify(event);
      const t = Math.floor(clock.now() / 1000);
      const answer = await guardedPost(
        new URL(target.url),
        vetted,
        {
          'content-type': 'application/json',
          'user-agent': options.userAgent ?? 'tenant-mailer-webhook/1',
          'tenant-mailer-event': event.type,
          'tenant-mailer-event-id': event.id,
          'tenant-mailer-signature': signWebhook(target.secret, t, body),
        },
        body,
        { timeoutMs, maxBodyBytes: 512, ...(options.ca !== undefined && { ca: options.ca }) },
      );
      const { status } = answer;
      if (status >= 200 && status < 300) return done(true, `HTTP ${status}`, status);
      if (status >= 300 && status < 400)
        return done(false, `HTTP ${status}: redirects are not followed`, status);
      return done(
        false,
        `HTTP ${status}${answer.text ? `: ${answer.text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`,
        status,
      );
    } catch (err) {
      return done(false, reasonOf(err));
    }
  }

  return { post, vetUrl };
}
