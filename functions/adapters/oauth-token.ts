import { classifySmtpFailure, isTlsFailure } from '../core/classify';
import { DnsFailureError, HostRefusedError } from '../core/errors';
import {
  classifyTokenFailure,
  isTokenGrant,
  type OAuth2Secrets,
  type OAuth2Settings,
  parseTokenResponse,
  type TokenFailureInfo,
  tokenRequestForm,
  tokenUrlOf,
  tokenUrlProblem,
  tokenUsableUntil,
} from '../core/oauth2';
import type { HostGuard, VettedTarget } from '../core/ports';
import type { Clock, FailureRecord } from '../core/types';
import { urlPort } from '../core/url';
import { guardedPost } from './guarded-http';

/** The token request must end within this (connect, TLS, answer). */
export const TOKEN_TIMEOUT_MS = 5_000;

/** Rotations remembered per tenant (a chain longer than this within one config read is not expected). */
const MAX_ROTATIONS_KEPT = 16;

/** One tenant's OAuth2 sender config, as the token client needs it. */
export interface TokenSubject {
  tenantId: string;
  configVersion: number;
  oauth2: OAuth2Settings;
  /** Decrypts the client secret and refresh token; called only when a token must be fetched. */
  secrets(): Promise<OAuth2Secrets>;
}

export type TokenOutcome = { ok: true; accessToken: string } | { ok: false; failure: FailureRecord };

/** A refresh token the endpoint rotated: store it back (encrypted, conditional on the version). */
export interface RotatedRefreshToken {
  tenantId: string;
  configVersion: number;
  refreshToken: string;
}

export interface OAuthTokenClient {
  /** A usable access token for the tenant (cached, or fetched once for all callers); never throws. */
  getToken(subject: TokenSubject, opts?: { deadline?: number }): Promise<TokenOutcome>;
  /**
   * Drops the tenant's cached token (its SMTP server refused it). With `accessToken`, only when that is
   * still the cached one, so a token another message just fetched survives.
   */
  invalidate(tenantId: string, accessToken?: string): void;
  /** Checks a token URL as a PUT does (form, then the guard on its host) without calling it; throws. */
  vetUrl(url: string): Promise<VettedTarget>;
}

/** Powertools' Logger fits; never given a secret. */
export interface TokenLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

export interface OAuthTokenClientOptions {
  guard: HostGuard;
  clock: Clock;
  /** `TENANT_SMTP_ALLOW_PRIVATE=1`: http: token URLs too (the guard itself opens private addresses). */
  allowInsecure?: boolean;
  timeoutMs?: number;
  /** Extra trusted CAs (tests); production trusts Node's store plus NODE_EXTRA_CA_CERTS. */
  ca?: string[];
  /** Called (and awaited) when the endpoint returns a new refresh token; a failure is logged only. */
  onRotated?: (rotated: RotatedRefreshToken) => Promise<void>;
  logger?: TokenLogger;
}

interface CachedToken {
  configVersion: number;
  accessToken: string;
  usableUntil: number;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Replaces every secret in a text the endpoint or the network chose. */
function redactor(secrets: OAuth2Secrets | undefined): (text: string) => string {
  const values = [secrets?.clientSecret, secrets?.refreshToken].filter(
    (value): value is string => value !== undefined && value.length >= 4,
  );
  return (text) => values.reduce((out, value) => out.split(value).join('[redacted]'), text);
}

function networkFailure(err: unknown): TokenFailureInfo {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof HostRefusedError) return { kind: 'refused', message };
  if (err instanceof DnsFailureError) return { kind: 'network', code: err.code, message };
  const code = codeOf(err) ?? 'ECONNECTION';
  if (code === 'ETIMEDOUT') return { kind: 'timeout', message };
  if (isTlsFailure(code, message)) return { kind: 'tls', code, message };
  return { kind: 'network', code, message };
}

/**
 * Builds the OAuth2 token client: grants of RFC 6749 (refresh token, client credentials) POSTed to the
 * vetted token endpoint, tokens cached per tenant and config version until 60 s before they expire,
 * one request in flight per tenant that concurrent callers share, a rotated refresh token used from
 * then on and reported to `onRotated`. Secrets never reach a failure, a log line or a result.
 */
export function createOAuthTokenClient(options: OAuthTokenClientOptions): OAuthTokenClient {
  const { guard, clock } = options;
  const timeoutMs = options.timeoutMs ?? TOKEN_TIMEOUT_MS;
  const allowInsecure = options.allowInsecure === true;
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<TokenOutcome>>();
  // Per tenant: refresh token sent → the one the endpoint rotated it to. The stored config (read per
  // batch) may still carry a token this container already rotated away from; following the chain from
  // it never reuses one, and a token another container stored wins since it is not in the chain.
  const rotations = new Map<string, { configVersion: number; next: Map<string, string> }>();

  async function vetUrl(raw: string): Promise<VettedTarget> {
    const problem = tokenUrlProblem(raw, allowInsecure);
    if (problem !== null) throw new HostRefusedError(problem, 'url');
    const url = new URL(raw);
    return guard.vet(url.hostname, urlPort(url));
  }

  async function secretsOf(subject: TokenSubject): Promise<OAuth2Secrets> {
    const secrets = await subject.secrets();
    const chain = rotations.get(subject.tenantId);
    let refreshToken = secrets.refreshToken;
    if (chain?.configVersion !== subject.configVersion || refreshToken === undefined) return secrets;
    for (let step = 0; step <= MAX_ROTATIONS_KEPT; step += 1) {
      const next: string | undefined = chain.next.get(refreshToken);
      if (next === undefined) break;
      refreshToken = next;
    }
    return { ...secrets, refreshToken };
  }

  async function storeRotation(subject: TokenSubject, sent: string, refreshToken: string): Promise<void> {
    const { tenantId, configVersion } = subject;
    let chain = rotations.get(tenantId);
    if (chain?.configVersion !== configVersion) {
      chain = { configVersion, next: new Map() };
      rotations.set(tenantId, chain);
    }
    chain.next.set(sent, refreshToken);
    const oldest = chain.next.keys().next().value;
    if (chain.next.size > MAX_ROTATIONS_KEPT && oldest !== undefined) chain.next.delete(oldest);
    try {
      await options.onRotated?.({ tenantId, configVersion, refreshToken });
    } catch (err) {
      options.logger?.warn('rotated refresh token not stored', {
        tenantId,
        configVersion,
        error: err instanceof Error ? err.name : 'Error',
      });
    }
  }

  function failed(subject: TokenSubject, failure: FailureRecord): TokenOutcome {
    options.logger?.warn('token request failed', {
      tenantId: subject.tenantId,
      class: failure.class,
      code: failure.code,
      phase: failure.phase,
      message: failure.message,
    });
    return { ok: false, failure };
  }

  async function fetchToken(subject: TokenSubject): Promise<TokenOutcome> {
    let secrets: OAuth2Secrets;
    try {
      secrets = await secretsOf(subject);
    } catch (err) {
      const message = `client secret could not be decrypted: ${err instanceof Error ? err.message : 'error'}`;
      return failed(
        subject,
        classifySmtpFailure({ phase: 'DECRYPT', code: codeOf(err) ?? 'EDECRYPT', message }),
      );
    }
    const redact = redactor(secrets);
    const fail = (info: TokenFailureInfo): TokenOutcome => {
      const failure = classifyTokenFailure(info);
      return failed(subject, { ...failure, message: redact(failure.message) });
    };
    const raw = tokenUrlOf(subject.oauth2);
    let answer: { status: number; text: string };
    try {
      const vetted = await vetUrl(raw);
      const body = tokenRequestForm(subject.oauth2, secrets).toString();
      const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      answer = await guardedPost(new URL(raw), vetted, headers, body, {
        timeoutMs,
        ...(options.ca !== undefined && { ca: options.ca }),
      });
    } catch (err) {
      return fail(networkFailure(err));
    }
    const result = parseTokenResponse(answer.status, answer.text);
    if (!isTokenGrant(result)) return fail(result);
    const sent = secrets.refreshToken;
    if (sent !== undefined && result.refreshToken !== undefined && result.refreshToken !== sent) {
      await storeRotation(subject, sent, result.refreshToken);
    }
    cache.set(subject.tenantId, {
      configVersion: subject.configVersion,
      accessToken: result.accessToken,
      usableUntil: tokenUsableUntil(clock.now(), result.expiresInSeconds),
    });
    return { ok: true, accessToken: result.accessToken };
  }

  function shared(subject: TokenSubject): Promise<TokenOutcome> {
    const key = `${subject.tenantId}\n${subject.configVersion}`;
    const running = inFlight.get(key);
    if (running) return running;
    const started = fetchToken(subject).finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  async function getToken(subject: TokenSubject, opts: { deadline?: number } = {}): Promise<TokenOutcome> {
    const cached = cache.get(subject.tenantId);
    if (cached?.configVersion === subject.configVersion && clock.now() < cached.usableUntil) {
      return { ok: true, accessToken: cached.accessToken };
    }
    const request = shared(subject);
    if (opts.deadline === undefined || !Number.isFinite(opts.deadline)) return request;
    // This caller stops waiting at its deadline; the shared request goes on for the others.
    const left = Math.max(0, opts.deadline - clock.now());
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<TokenOutcome>((resolve) => {
      timer = setTimeout(() => {
        const message = `no token within the ${left} ms left of the attempt`;
        resolve({ ok: false, failure: classifyTokenFailure({ kind: 'timeout', message }) });
      }, left);
    });
    try {
      return await Promise.race([request, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  function invalidate(tenantId: string, accessToken?: string): void {
    const cached = cache.get(tenantId);
    if (cached && (accessToken === undefined || cached.accessToken === accessToken)) cache.delete(tenantId);
  }

  return { getToken, invalidate, vetUrl };
}
