/**
 * OAuth2 (XOAUTH2) for tenant SMTP (contract: "OAuth2"): the provider profiles, the rules a config must
 * follow, the token request and response of RFC 6749, and what a token endpoint's answer means as a
 * failure record (phase `TOKEN`). Pure: the token client (adapters/oauth-token.ts) does the I/O.
 */
import { failureMessage } from './classify';
import type { FailureClass, FailureRecord, SmtpSecurity } from './types';
import { httpsUrlProblem } from './url';

export const OAUTH2_PROVIDERS = ['microsoft', 'google', 'custom'] as const;
export type OAuth2Provider = (typeof OAUTH2_PROVIDERS)[number];
export const OAUTH2_FLOWS = ['refresh-token', 'client-credentials'] as const;
export type OAuth2Flow = (typeof OAUTH2_FLOWS)[number];

/** `perMinute` counts messages, `perDay` recipients (as the providers count them). */
export interface SendingLimits {
  perMinute?: number;
  perDay?: number;
}

export interface ProviderProfile {
  /** The token endpoint; `{directoryId}` is the Entra tenant. Absent: the config names it (`tokenUrl`). */
  tokenUrl?: string;
  /** The flows the provider offers, each with its default scope (`undefined`: none is sent). */
  scopes: Partial<Record<OAuth2Flow, string | undefined>>;
  smtp?: { host: string; port: number; security: SmtpSecurity };
  limits: SendingLimits;
}

/** The provider table of the contract; one place for URLs, scopes, servers and caps. */
export const PROVIDER_PROFILES: Readonly<Record<OAuth2Provider, ProviderProfile>> = {
  microsoft: {
    tokenUrl: 'https://login.microsoftonline.com/{directoryId}/oauth2/v2.0/token',
    scopes: {
      'refresh-token': 'https://outlook.office.com/SMTP.Send offline_access',
      // App-only: the admin grants SMTP.SendAsApp and the mailbox permission to the app's principal.
      'client-credentials': 'https://outlook.office365.com/.default',
    },
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
    // Exchange Online: 30 messages a minute, 10,000 recipients a day per mailbox.
    limits: { perMinute: 30, perDay: 10_000 },
  },
  google: {
    tokenUrl: 'https://oauth2.googleapis.com/token',
    // Google has no app-only SMTP (domain-wide delegation uses a signed JWT, not client credentials).
    scopes: { 'refresh-token': 'https://mail.google.com/' },
    smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls' },
    limits: { perDay: 2_000 },
  },
  custom: {
    scopes: { 'refresh-token': undefined, 'client-credentials': undefined },
    limits: {},
  },
};

/** The non-secret part of a tenant's OAuth2 config, as stored and as the token client needs it. */
export interface OAuth2Settings {
  provider: OAuth2Provider;
  flow: OAuth2Flow;
  clientId: string;
  /** microsoft only: the Entra tenant id (GUID) or one of its domains. */
  directoryId?: string;
  /** custom only. */
  tokenUrl?: string;
  scope?: string;
}

/** Decrypted only when a token must be fetched; never logged, never returned. */
export interface OAuth2Secrets {
  clientSecret: string;
  /** refresh-token flow only. */
  refreshToken?: string;
}

/** A config rule broken: the field (dotted path under the sender body) and why. */
export interface OAuth2Issue {
  field: string;
  message: string;
}

/** A GUID or a domain: letters, digits, dots and hyphens only, so it cannot reshape the token URL. */
const DIRECTORY_ID = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Longest token URL accepted. */
export const MAX_TOKEN_URL_CHARS = 2048;

/** Checks a token URL's form (not its address: the network guard vets that). `null` when fine. */
export function tokenUrlProblem(raw: string, allowInsecure: boolean): string | null {
  const problem = httpsUrlProblem(raw, allowInsecure, MAX_TOKEN_URL_CHARS);
  return problem === null ? null : `tokenUrl: ${problem}`;
}

/**
 * The rules an OAuth2 config must follow beyond its shape: the flow the provider offers, the fields
 * each provider needs (and only those), a usable token URL. `hasRefreshToken` counts a stored one kept.
 */
export function oauth2Issues(
  settings: OAuth2Settings,
  options: { hasRefreshToken: boolean; allowInsecure: boolean },
): OAuth2Issue[] {
  const issues: OAuth2Issue[] = [];
  const at = (name: string): string => `smtp.oauth2.${name}`;
  const { provider, flow } = settings;
  if (!(flow in PROVIDER_PROFILES[provider].scopes)) {
    issues.push({ field: at('flow'), message: `provider ${provider} does not offer the ${flow} flow` });
  }
  if (flow === 'refresh-token' && !options.hasRefreshToken) {
    issues.push({
      field: at('refreshToken'),
      message: 'refreshToken is required for the refresh-token flow',
    });
  }
  if (flow === 'client-credentials' && options.hasRefreshToken) {
    issues.push({
      field: at('refreshToken'),
      message: 'refreshToken belongs to the refresh-token flow only',
    });
  }
  if (provider === 'microsoft') {
    if (settings.directoryId === undefined) {
      issues.push({ field: at('directoryId'), message: 'directoryId is required for provider microsoft' });
    } else if (!DIRECTORY_ID.test(settings.directoryId)) {
      issues.push({ field: at('directoryId'), message: 'directoryId must be a tenant id or a domain' });
    }
  } else if (settings.directoryId !== undefined) {
    issues.push({ field: at('directoryId'), message: 'directoryId is for provider microsoft only' });
  }
  if (provider === 'custom') {
    const problem =
      settings.tokenUrl === undefined
        ? 'tokenUrl is required for provider custom'
        : tokenUrlProblem(settings.tokenUrl, options.allowInsecure);
    if (problem !== null) issues.push({ field: at('tokenUrl'), message: problem });
  } else if (settings.tokenUrl !== undefined) {
    issues.push({ field: at('tokenUrl'), message: 'tokenUrl is for provider custom only' });
  }
  return issues;
}

/** The token endpoint of a (valid) config. */
export function tokenUrlOf(settings: OAuth2Settings): string {
  const template = PROVIDER_PROFILES[settings.provider].tokenUrl;
  if (template === undefined) return settings.tokenUrl ?? '';
  return template.replace('{directoryId}', encodeURIComponent(settings.directoryId ?? ''));
}

/** The scope sent: the configured one, else the provider's default for the flow (may be none). */
export function scopeOf(settings: OAuth2Settings): string | undefined {
  return settings.scope ?? PROVIDER_PROFILES[settings.provider].scopes[settings.flow];
}

/** The limits in force: each configured value, else the provider's default for it. */
export function limitsOf(provider: OAuth2Provider | undefined, configured?: SendingLimits): SendingLimits {
  return { ...(provider === undefined ? {} : PROVIDER_PROFILES[provider].limits), ...configured };
}

/** The form body of the token request (RFC 6749 §4.4 and §6; client authentication in the body). */
export function tokenRequestForm(settings: OAuth2Settings, secrets: OAuth2Secrets): URLSearchParams {
  const form = new URLSearchParams();
  if (settings.flow === 'refresh-token') {
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', secrets.refreshToken ?? '');
  } else {
    form.set('grant_type', 'client_credentials');
  }
  form.set('client_id', settings.clientId);
  form.set('client_secret', secrets.clientSecret);
  const scope = scopeOf(settings);
  if (scope !== undefined) form.set('scope', scope);
  return form;
}

/** A token endpoint's success: the access token, its lifetime, and a rotated refresh token if any. */
export interface TokenGrant {
  accessToken: string;
  expiresInSeconds: number;
  refreshToken?: string;
}

/** What went wrong at the token endpoint, as the client observed it (before classification). */
export type TokenFailureInfo =
  /** The endpoint answered an OAuth error body (RFC 6749 §5.2). */
  | { kind: 'oauth-error'; status: number; error: string; description?: string }
  /** A non-2xx answer without an OAuth error in it. */
  | { kind: 'http-status'; status: number }
  /** 2xx, but not a token response (not JSON, no access_token, not a bearer token). */
  | { kind: 'bad-response'; status: number; message: string }
  | { kind: 'timeout'; message: string }
  /** Refused by the network guard or the URL rules (config-invalid). */
  | { kind: 'refused'; message: string }
  /** DNS, connect, reset: `code` is Node's. */
  | { kind: 'network'; code: string; message: string }
  | { kind: 'tls'; code: string; message: string };

/** Lifetime assumed when a token response names none (RFC 6749 leaves `expires_in` optional). */
export const DEFAULT_TOKEN_LIFETIME_S = 300;
/** A cached token is dropped this long before it expires. */
export const TOKEN_EXPIRY_MARGIN_S = 60;

/** Until when (epoch ms) a token fetched at `now` may be used. */
export function tokenUsableUntil(now: number, expiresInSeconds: number): number {
  return now + Math.max(0, expiresInSeconds - TOKEN_EXPIRY_MARGIN_S) * 1000;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function field(data: unknown, name: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[name] : undefined;
}

/** Reads a token endpoint's answer: a grant, or what was wrong with it. */
export function parseTokenResponse(status: number, body: string): TokenGrant | TokenFailureInfo {
  const data = parseJson(body);
  const error = field(data, 'error');
  if (status < 200 || status >= 300) {
    if (typeof error !== 'string' || error === '') return { kind: 'http-status', status };
    const description = field(data, 'error_description');
    return typeof description === 'string'
      ? { kind: 'oauth-error', status, error, description }
      : { kind: 'oauth-error', status, error };
  }
  const accessToken = field(data, 'access_token');
  const tokenType = field(data, 'token_type');
  if (typeof accessToken !== 'string' || accessToken === '') {
    const message = data === undefined ? 'token response is not JSON' : 'token response has no access_token';
    return { kind: 'bad-response', status, message };
  }
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
    return { kind: 'bad-response', status, message: 'token response is not a bearer token' };
  }
  const expiresIn = Number(field(data, 'expires_in'));
  const refreshToken = field(data, 'refresh_token');
  return {
    accessToken,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S,
    ...(typeof refreshToken === 'string' && refreshToken !== '' && { refreshToken }),
  };
}

/** Whether a parsed answer is a grant. */
export function isTokenGrant(result: TokenGrant | TokenFailureInfo): result is TokenGrant {
  return 'accessToken' in result;
}

/** The request itself is malformed (e.g. Entra's AADSTS90002 "tenant not found" is invalid_request). */
const CONFIG_ERRORS = new Set(['invalid_request', 'unsupported_grant_type']);
const TEMPORARY_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

function isTemporaryStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function oauthErrorClass(status: number, error: string): FailureClass {
  if (isTemporaryStatus(status) || TEMPORARY_ERRORS.has(error)) return 'server-temporary';
  if (CONFIG_ERRORS.has(error)) return 'config-invalid';
  // invalid_grant, invalid_client, unauthorized_client, invalid_scope, and any other error the
  // endpoint names (access_denied, vendor codes): the credentials or consent; only the admin can fix it.
  return 'auth';
}

function statusClass(status: number): FailureClass {
  if (isTemporaryStatus(status)) return 'server-temporary';
  if (status === 401 || status === 403) return 'auth';
  // A redirect, 404 or 405 means the URL is not a token endpoint.
  if ((status >= 300 && status < 400) || status === 404 || status === 405) return 'config-invalid';
  return 'server-temporary';
}

/**
 * Classifies a token endpoint failure into the contract's failure record (phase `TOKEN`): OAuth errors
 * of the grant → `auth` (`invalid_grant` with `hint: "reconsent"`), 5xx, 429, timeout, bad answer →
 * `server-temporary`, guard refusal → `config-invalid`, unreachable → `connection`, TLS → `tls`.
 */
export function classifyTokenFailure(info: TokenFailureInfo): FailureRecord {
  const record = (cls: FailureClass, code: string, message: string): FailureRecord => ({
    class: cls,
    code,
    phase: 'TOKEN',
    message: failureMessage(message),
  });
  switch (info.kind) {
    case 'oauth-error': {
      const words = info.description === undefined ? info.error : `${info.error}: ${info.description}`;
      const failure = record(oauthErrorClass(info.status, info.error), info.error, `${info.status} ${words}`);
      // The refresh token was revoked or expired, or consent is missing: the admin must sign in again.
      if (info.error === 'invalid_grant' && failure.class === 'auth') failure.hint = 'reconsent';
      return failure;
    }
    case 'http-status':
      return record(
        statusClass(info.status),
        `HTTP_${info.status}`,
        `token endpoint answered ${info.status}`,
      );
    case 'bad-response':
      return record('server-temporary', 'EBADRESPONSE', info.message);
    case 'timeout':
      return record('server-temporary', 'ETIMEDOUT', info.message);
    case 'refused':
      return record('config-invalid', 'ECONFIG', info.message);
    case 'network':
      return record('connection', info.code, info.message);
    case 'tls':
      return record('tls', info.code, info.message);
  }
}
