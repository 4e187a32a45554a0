/**
 * The one place that decides what a tenant SMTP failure means (docs/design.md §9 Failure classes).
 * Input is nodemailer 10's error data (`code`, `response`, `responseCode`, `command`) plus the phase the
 * sender tracked; nodemailer's codes: ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EREQUIRETLS, EPROTOCOL,
 * EENVELOPE, EMESSAGE, ESTREAM, EAUTH, ENOAUTH, EOAUTH2. `code` may also be Node's own system or TLS
 * code (nodemailer keeps it as `originalCode`); both are recognized.
 */
import type { FailureClass, FailureRecord, PlatformFault, RecipientRefusal, SmtpErrorInfo } from './types';

/** Longest failure message kept (server response or error text). */
export const MAX_FAILURE_MESSAGE_CHARS = 500;

const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ENODATA',
  'ESERVFAIL',
  'ETIMEOUT',
  'EPROXY',
]);
const DNS_CODES = new Set(['EDNS', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT']);
const TLS_CODES = new Set([
  'ETLS',
  'EREQUIRETLS',
  'EPROTO',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'HOSTNAME_MISMATCH',
]);
const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
const AUTH_RESPONSE_CODES = new Set([530, 534, 535]);
/** Node's TLS wording for certificate and handshake failures, and nodemailer's for STARTTLS. */
const TLS_TEXT =
  /certificate|altnames|self[- ]signed|handshake|wrong version number|\bSSL\b|ssl3?_|tlsv1|STARTTLS|initiating TLS/i;
const THROTTLE_TEXT =
  /\brate\b|rate[ -]?limit|quota|too many|throttl|limit (?:exceeded|reached)|sending limit/i;
/**
 * The provider refuses password logins (Microsoft 365: `550 5.7.30 Basic authentication is not
 * supported for Client Submission`, `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication
 * is disabled for the Tenant`); only OAuth2 will do.
 */
const BASIC_AUTH_REFUSED_TEXT =
  /basic auth(?:entication)? is (?:not supported|disabled)|SmtpClientAuthentication is disabled/i;
/** "Too many recipients" and mailbox-full quotas are about this message or mailbox, not the sender. */
const NOT_THROTTLE_TEXT = /too many recipients/i;

/** `(\d).\d.\d` of `550 5.1.1 ...`, only when its class digit agrees with the reply code. */
export function parseEnhancedStatus(response: string | undefined, responseCode?: number): string | null {
  const m = /^\s*(\d{3})?[ -]?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/.exec(response ?? '');
  if (!m) return null;
  const basic = responseCode ?? (m[1] === undefined ? undefined : Number(m[1]));
  if (basic !== undefined && String(basic)[0] !== m[2]) return null;
  return `${m[2]}.${m[3]}.${m[4]}`;
}

/** The 3-digit reply code a response starts with. */
export function parseResponseCode(response: string | undefined): number | undefined {
  const m = /^\s*([2-5]\d\d)(?:[ -]|$)/.exec(response ?? '');
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Whether a reply says "slow down": the sender is over a rate or quota, not refused. */
export function isThrottling(
  responseCode: number | undefined,
  enhanced: string | null,
  text: string,
): boolean {
  if (responseCode === 432 || enhanced === '4.3.2' || enhanced === '5.4.5') return true;
  if (enhanced === '5.2.0' && responseCode === 554) return true;
  if (NOT_THROTTLE_TEXT.test(text) || enhanced?.slice(1, 3) === '.2' || enhanced?.endsWith('.5.3'))
    return false;
  if (enhanced?.startsWith('4.7.') && THROTTLE_TEXT.test(text)) return true;
  return (responseCode === 450 || responseCode === 452) && THROTTLE_TEXT.test(text);
}

interface Reply {
  responseCode: number | undefined;
  enhanced: string | null;
  text: string;
}

function replyOf(responseCode: number | undefined, response: string | undefined, extra = ''): Reply {
  const code = responseCode ?? parseResponseCode(response);
  return {
    responseCode: code,
    enhanced: parseEnhancedStatus(response, code),
    text: `${response ?? ''} ${extra}`,
  };
}

function refusalClass({ responseCode, enhanced, text }: Reply): FailureClass {
  const permanent = responseCode === undefined ? enhanced?.startsWith('5.') : responseCode >= 500;
  if (permanent && enhanced !== null && /^5\.(1\.\d+|2\.[12])$/.test(enhanced)) return 'recipient-rejected';
  if (isThrottling(responseCode, enhanced, text)) return 'server-throttled';
  if (permanent) return 'server-rejected';
  return 'server-temporary';
}

/**
 * Class of one recipient refused at RCPT: 5.1.x, 5.2.1, 5.2.2 → recipient-rejected (final); throttling
 * → server-throttled; 5.7.x and other 5xx → server-rejected; 4xx (or no code) → server-temporary.
 */
export function classifyRecipientRefusal(r: RecipientRefusal): FailureClass {
  return refusalClass(replyOf(r.responseCode, r.response));
}

/** Only an address-level permanent refusal is final; every doubtful case goes out through the platform. */
export function isFinalRefusal(r: RecipientRefusal): boolean {
  return classifyRecipientRefusal(r) === 'recipient-rejected';
}

/** Whether a Node/nodemailer error code or text is a TLS (certificate, handshake) failure. */
export function isTlsFailure(code: string | undefined, text: string): boolean {
  return (code !== undefined && (TLS_CODES.has(code) || /^ERR_(TLS|SSL)_/.test(code))) || TLS_TEXT.test(text);
}

function decide(info: SmtpErrorInfo, reply: Reply): FailureClass {
  const { code, phase } = info;
  const { responseCode, enhanced, text } = reply;
  if (phase === 'DECRYPT') return 'credentials';
  if (phase === 'CONFIG') return code !== undefined && DNS_CODES.has(code) ? 'connection' : 'config-invalid';
  // Lost after the final "." with no reply: the server may have queued it.
  if (phase === 'MESSAGE' && responseCode === undefined) return 'uncertain';
  if (responseCode === 421) return 'server-temporary';
  if (isThrottling(responseCode, enhanced, text)) return 'server-throttled';
  if (phase === 'RCPT' && responseCode !== undefined) return refusalClass(reply);
  if (isTlsFailure(code, text)) return 'tls';
  if ((code !== undefined && AUTH_CODES.has(code)) || AUTH_RESPONSE_CODES.has(responseCode ?? 0))
    return 'auth';
  if (code !== undefined && CONNECTION_CODES.has(code) && responseCode === undefined) return 'connection';
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) return 'server-temporary';
  if (responseCode !== undefined && responseCode >= 500) return 'server-rejected';
  if (phase === 'STARTTLS') return 'tls';
  if (phase === 'AUTH') return 'auth';
  if (phase === 'CONNECT' || phase === 'GREETING' || phase === 'EHLO') return 'connection';
  // MAIL/RCPT/DATA with no reply and no network code: the client refused the envelope or message
  // (size, stream); counting it keeps a tenant that keeps failing this way off the path.
  return 'server-rejected';
}

/** Whether a reply says the provider no longer takes passwords (`5.7.30`, `5.7.139`, or in words). */
export function isBasicAuthRefused(responseCode: number | undefined, response: string | undefined): boolean {
  const enhanced = parseEnhancedStatus(response, responseCode ?? parseResponseCode(response));
  return enhanced === '5.7.30' || enhanced === '5.7.139' || BASIC_AUTH_REFUSED_TEXT.test(response ?? '');
}

/** Collapses whitespace (multi-line replies) and trims to MAX_FAILURE_MESSAGE_CHARS. */
export function failureMessage(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_FAILURE_MESSAGE_CHARS ? `${flat.slice(0, MAX_FAILURE_MESSAGE_CHARS - 1)}…` : flat;
}

/** Classifies a tenant SMTP failure into the failure record of docs/design.md §9. */
export function classifySmtpFailure(info: SmtpErrorInfo): FailureRecord {
  if (info.failure) return info.failure;
  const response = info.response?.trim() || undefined;
  const reply = replyOf(info.responseCode, response, info.message);
  const basicAuthRefused = isBasicAuthRefused(reply.responseCode, response ?? info.message);
  const record: FailureRecord = {
    class: basicAuthRefused ? 'auth' : decide(info, reply),
    code: info.code ?? (reply.responseCode === undefined ? 'UNKNOWN' : String(reply.responseCode)),
    phase: info.phase,
    message: failureMessage(response ?? info.message),
  };
  if (reply.responseCode !== undefined) record.responseCode = reply.responseCode;
  if (basicAuthRefused) record.hint = 'use-oauth2';
  return record;
}

/**
 * KMS's answers (or silence) that say KMS could not serve, not that the ciphertext is bad: throttling,
 * internal errors, a dependency timeout, a key store out of reach, our own deadline, a network error.
 * `InvalidCiphertextException` (and any other refusal) stays `credentials`.
 */
const KMS_UNAVAILABLE_CODES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'InternalFailure',
  'ServiceUnavailable',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * Whether a `DECRYPT` failure is the platform's (`kms-unavailable`: fall back, breaker untouched, decrypt
 * again on the next batch) rather than the tenant's credentials (class `credentials`, opens at once).
 */
export function platformFaultOf(info: SmtpErrorInfo): PlatformFault | undefined {
  if (info.phase !== 'DECRYPT' || info.code === undefined) return undefined;
  return KMS_UNAVAILABLE_CODES.has(info.code) || CONNECTION_CODES.has(info.code)
    ? 'kms-unavailable'
    : undefined;
}
