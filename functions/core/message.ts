/**
 * Queue message schema v1 (docs/design.md §6 Queue message). Pure: validation and normalization only.
 * A message that fails here is never retried; the caller sends it to the DLQ with `field` and `rule`.
 */
import { domainToASCII } from 'node:url';
import { z } from 'zod';

export const SCHEMA_VERSION = 1;
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MESSAGE_KINDS = ['notification', 'autoresponder', 'digest'] as const;
export const MAX_RECIPIENTS = 50;
export const MAX_ADDRESS_CHARS = 254;
export const MAX_LOCAL_PART_CHARS = 64;
export const MAX_SUBJECT_CHARS = 998;
/** Each of text and html, measured in UTF-8 bytes. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Header names are case-insensitive (RFC 5322): `x-request-id` is an X-* header too. */
export const HEADER_NAME_PATTERN = /^X-[A-Za-z0-9-]+$/i;
export const MAX_HEADER_NAME_CHARS = 76;
export const MAX_HEADER_VALUE_CHARS = 998;
export const MAX_CUSTOM_HEADERS = 50;
/** SES reads `X-SES-*` headers of a raw message as instructions (source ARN, configuration set). */
export const RESERVED_HEADER_PREFIX = 'x-ses-';
export const MAX_URL_CHARS = 2048;
export const MAX_MESSAGE_ID_CHARS = 998;
export const MAX_REFERENCES = 100;
export const MAX_IDEMPOTENCY_KEY_CHARS = 128;

const CRLF = /[\r\n]/;
const CONTROL = /\p{Cc}/u;
/**
 * C0 controls, DEL and the Unicode line and paragraph separators: never in a header value or an address
 * (a NUL splits AUTH PLAIN, a separator breaks a header in readers that take it for a line end).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding these characters is the point
export const FORBIDDEN_CONTROLS = /[\u0000-\u001f\u007f\u2028\u2029]/;
/** What a refusal for FORBIDDEN_CONTROLS says. */
export const FORBIDDEN_CONTROLS_TEXT = 'must not contain control characters (C0, DEL, U+2028, U+2029)';
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MESSAGE_ID = /^<[!-;=?A-~]+@[!-;=?A-~]+>$/;

/** Result of normalizing one address: the bare address with a punycoded domain, or why not. */
export type AddressResult = { ok: true; address: string } | { ok: false; reason: string };

/** Checks a bare address (no display name, one @, no spaces or CR/LF) and punycodes its domain. */
export function normalizeAddress(input: string): AddressResult {
  if (CRLF.test(input)) return { ok: false, reason: 'must not contain CR or LF' };
  if (FORBIDDEN_CONTROLS.test(input)) return { ok: false, reason: FORBIDDEN_CONTROLS_TEXT };
  const at = input.indexOf('@');
  if (/\s/.test(input) || at < 1 || at !== input.lastIndexOf('@')) {
    return { ok: false, reason: 'must be a bare address' };
  }
  const local = input.slice(0, at);
  if (local.length > MAX_LOCAL_PART_CHARS || !DOT_ATOM.test(local)) {
    return { ok: false, reason: 'must be a bare address' };
  }
  const domain = domainToASCII(input.slice(at + 1));
  const labels = domain.split('.');
  const tld = labels[labels.length - 1] ?? '';
  if (!domain || labels.length < 2 || !labels.every((l) => DNS_LABEL.test(l)) || /^\d+$/.test(tld)) {
    return { ok: false, reason: 'must be a bare address with a valid domain' };
  }
  const address = `${local}@${domain}`;
  if (address.length > MAX_ADDRESS_CHARS) {
    return { ok: false, reason: `must be at most ${MAX_ADDRESS_CHARS} characters` };
  }
  return { ok: true, address };
}

/** A custom issue whose `params.rule` becomes the DLQ rule. */
function fail(ctx: z.RefinementCtx, rule: string, message: string, path?: PropertyKey[]): void {
  ctx.addIssue({ code: 'custom', message, params: { rule }, ...(path ? { path } : {}) });
}

const address = z.string().transform((value, ctx) => {
  const result = normalizeAddress(value);
  if (result.ok) return result.address;
  fail(ctx, 'address', result.reason);
  return z.NEVER;
});

const toList = (value: unknown): unknown => (typeof value === 'string' ? [value] : value);

/** A header value: no CR or LF (rule `crlf`), nor any other forbidden control (rule `control`). */
const headerValue = z
  .string()
  .refine((s) => !CRLF.test(s), { message: 'must not contain CR or LF', params: { rule: 'crlf' } })
  .refine((s) => !FORBIDDEN_CONTROLS.test(s), {
    message: FORBIDDEN_CONTROLS_TEXT,
    params: { rule: 'control' },
  });

const body = z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_BODY_BYTES, {
  message: `must be at most ${MAX_BODY_BYTES} bytes in UTF-8`,
  params: { rule: 'max-bytes' },
});

const messageId = z
  .string()
  .max(MAX_MESSAGE_ID_CHARS)
  .refine((s) => MESSAGE_ID.test(s), {
    message: 'must be a message id <...@...>',
    params: { rule: 'message-id' },
  });

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

const unsubscribeUrl = z
  .string()
  .max(MAX_URL_CHARS)
  .transform((value, ctx) => {
    // Raw whitespace, controls or angle brackets would break out of the <...> of List-Unsubscribe.
    const url = /[\s<>]/.test(value) || CONTROL.test(value) ? null : parseUrl(value);
    if (
      url &&
      (url.protocol === 'https:' || url.protocol === 'mailto:') &&
      url.href.length <= MAX_URL_CHARS
    ) {
      return url.href;
    }
    fail(ctx, 'url', 'must be an https: or mailto: URL');
    return z.NEVER;
  });

const headers = z.record(z.string(), z.string()).superRefine((record, ctx) => {
  const names = Object.keys(record);
  if (names.length > MAX_CUSTOM_HEADERS) {
    fail(ctx, 'max', `must have at most ${MAX_CUSTOM_HEADERS} entries`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    const value = record[name] ?? '';
    if (!HEADER_NAME_PATTERN.test(name) || name.length > MAX_HEADER_NAME_CHARS) {
      fail(ctx, 'header-name', 'must be an X-* header name', [name]);
    } else if (lower.startsWith(RESERVED_HEADER_PREFIX)) {
      fail(ctx, 'header-reserved', 'X-SES-* headers are reserved', [name]);
    } else if (seen.has(lower)) {
      fail(ctx, 'header-duplicate', 'must not repeat a header name', [name]);
    } else if (CRLF.test(value)) {
      fail(ctx, 'crlf', 'must not contain CR or LF', [name]);
    } else if (FORBIDDEN_CONTROLS.test(value)) {
      fail(ctx, 'control', FORBIDDEN_CONTROLS_TEXT, [name]);
    } else if (value.length > MAX_HEADER_VALUE_CHARS) {
      fail(ctx, 'max', `must be at most ${MAX_HEADER_VALUE_CHARS} characters`, [name]);
    }
    seen.add(lower);
  }
});

/** Queue message schema v1; strict (unknown keys and `from` are refused). Output is normalized. */
export const queueMessageSchema = z
  .strictObject({
    v: z.literal(SCHEMA_VERSION),
    tenantId: z.string().regex(TENANT_ID_PATTERN),
    kind: z.enum(MESSAGE_KINDS).default('notification'),
    to: z.preprocess(toList, z.array(address).min(1).max(MAX_RECIPIENTS)),
    cc: z.array(address).max(MAX_RECIPIENTS).optional(),
    bcc: z.array(address).max(MAX_RECIPIENTS).optional(),
    replyTo: address.optional(),
    subject: headerValue.max(MAX_SUBJECT_CHARS),
    text: body.optional(),
    html: body.optional(),
    headers: headers.optional(),
    unsubscribeUrl: unsubscribeUrl.optional(),
    inReplyTo: messageId.optional(),
    references: z
      .preprocess(
        (value) => (typeof value === 'string' ? value.split(/[ \t]+/).filter(Boolean) : value),
        z.array(messageId).min(1).max(MAX_REFERENCES),
      )
      .optional(),
    idempotencyKey: z
      .string()
      .min(1)
      .max(MAX_IDEMPOTENCY_KEY_CHARS)
      .refine((s) => !CONTROL.test(s), {
        message: 'must not contain control characters',
        params: { rule: 'control' },
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    const total = m.to.length + (m.cc?.length ?? 0) + (m.bcc?.length ?? 0);
    if (total > MAX_RECIPIENTS) {
      fail(ctx, 'max-recipients', `to, cc and bcc must total at most ${MAX_RECIPIENTS} recipients`, ['to']);
    }
    if (!m.text && !m.html) fail(ctx, 'required', 'text or html is required', ['text']);
  });

export type QueueMessage = z.output<typeof queueMessageSchema>;

export type ParseResult =
  | { ok: true; message: QueueMessage }
  | { ok: false; field: string; rule: string; detail: string; tenantId?: string };

/** `['to', 2]` → `to[2]`, `['headers', 'X-A']` → `headers.X-A`, `[]` → `(body)`. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  }
  return out || '(body)';
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function count(n: number | bigint, origin: string): string {
  const unit = origin === 'array' ? (n === 1 ? 'entry' : 'entries') : n === 1 ? 'character' : 'characters';
  return `${n} ${unit}`;
}

/** What a top-level field of more than one shape accepts, for a refusal of the wrong type. */
const ACCEPTED_SHAPES: Record<string, string> = {
  to: 'an address or a list of addresses',
  cc: 'a list of addresses',
  bcc: 'a list of addresses',
  references: 'a list of message ids or one space-separated string of them',
};

/** `must be …` for a value of the wrong type at `path`. */
function expectedText(path: readonly PropertyKey[], expected: string): string {
  const shape = path.length === 1 ? ACCEPTED_SHAPES[String(path[0])] : undefined;
  if (shape !== undefined) return `must be ${shape}`;
  return `must be ${expected === 'array' ? 'a list' : `a ${expected}`}`;
}

/** The rule name and wording of one zod issue; `data` tells a missing value from a wrong type. */
function describe(issue: z.core.$ZodIssue, data: unknown): { rule: string; text: string } {
  switch (issue.code) {
    case 'custom':
      return { rule: String(issue.params?.rule ?? 'custom'), text: issue.message };
    case 'invalid_type':
      return valueAt(data, issue.path) === undefined
        ? { rule: 'required', text: 'is required' }
        : { rule: 'type', text: expectedText(issue.path, issue.expected) };
    case 'too_big':
      return { rule: 'max', text: `must have at most ${count(issue.maximum, issue.origin)}` };
    case 'too_small':
      return { rule: 'min', text: `must have at least ${count(issue.minimum, issue.origin)}` };
    case 'invalid_format':
      return { rule: 'pattern', text: `must match ${issue.pattern ?? issue.format}` };
    case 'invalid_value':
      return {
        rule: 'value',
        text: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { rule: issue.code, text: issue.message };
  }
}

function readableTenantId(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const id = (data as Record<string, unknown>).tenantId;
  return typeof id === 'string' && TENANT_ID_PATTERN.test(id) ? id : undefined;
}

/** Parses and validates a queue message body; never throws. */
export function parseQueueMessage(body: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, field: '(body)', rule: 'json', detail: '(body): must be JSON' };
  }
  const tenantId = readableTenantId(data);
  const withTenant = tenantId === undefined ? {} : { tenantId };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, field: '(body)', rule: 'type', detail: '(body): must be a JSON object' };
  }
  if (Object.hasOwn(data, 'from')) {
    const detail = 'from: not allowed; the sender is decided by the tenant config';
    return { ok: false, field: 'from', rule: 'not-allowed', detail, ...withTenant };
  }
  const parsed = queueMessageSchema.safeParse(data);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { ok: false, field: '(body)', rule: 'invalid', detail: '(body): invalid' };
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0] ?? '(body)';
    return { ok: false, field, rule: 'unknown-key', detail: `${field}: unknown key`, ...withTenant };
  }
  const field = fieldName(issue.path);
  const { rule, text } = describe(issue, data);
  return { ok: false, field, rule, detail: `${field}: ${text}`, ...withTenant };
}
