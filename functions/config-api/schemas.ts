import { z } from 'zod';
import { OAUTH2_FLOWS, OAUTH2_PROVIDERS } from '../core/oauth2';
import { DELIVERY_EVENT_TYPES } from '../core/suppression';
import { FAILURE_CLASSES, FAILURE_HINTS, SMTP_PHASES } from '../core/types';
import { ERROR_CODES } from './errors';

/**
 * The one source of truth for the config API's bodies (docs/design.md §15 Config API): requests are parsed with
 * these, responses are built to them, and openapi.ts derives its schemas from them with z.toJSONSchema.
 * No transforms here, so every schema is representable in JSON Schema.
 */

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const NO_CRLF = /^[^\r\n]*$/;
// Host names (labels of letters, digits, '-' and '_'), dotted IPv4, or IPv6 (bare or in brackets). The
// network guard judges what the name or address means; this only keeps junk out of DNS.
const HOST = /^(?:[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/;
const DOMAIN =
  /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;

export const tenantIdSchema = z.string().regex(TENANT_ID);
/** A delivery's messageId (its idempotencyKey, ≤ 128 chars). */
export const messageIdSchema = z.string().min(1).max(128);

const headerText = (max: number) => z.string().min(1).max(max).regex(NO_CRLF, 'must not contain CR or LF');
const email = z.email().max(254);
const isoTime = z.iso.datetime();

export const smtpSecuritySchema = z.enum(['tls', 'starttls', 'none']);
export const fallbackSchema = z.enum(['platform', 'hold']);

/** An OAuth2 login (docs/design.md, OAuth2). Secrets omitted: keep the stored ones (same provider, URL, client). */
const oauth2Input = z.strictObject({
  provider: z.enum(OAUTH2_PROVIDERS),
  flow: z.enum(OAUTH2_FLOWS),
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(2048).optional(),
  /** refresh-token flow only. */
  refreshToken: z.string().min(1).max(8192).optional(),
  /** microsoft only: the Entra tenant id or one of its domains. */
  directoryId: z.string().min(1).max(253).optional(),
  /** custom only. */
  tokenUrl: z.string().min(1).max(2048).optional(),
  scope: z.string().min(1).max(1024).optional(),
});

/** `perMinute` counts messages, `perDay` recipients; the provider's default applies where unset. */
const limitsSchema = z.strictObject({
  perMinute: z.number().int().min(1).max(100_000).optional(),
  perDay: z.number().int().min(1).max(10_000_000).optional(),
});

const smtpInput = z.strictObject({
  /** host, port and security may be omitted with a microsoft or google oauth2 login (its defaults). */
  host: z.string().min(1).max(253).regex(HOST, 'must be a host name or an IP address').optional(),
  port: z.number().int().min(1).max(65535).optional(),
  security: smtpSecuritySchema.optional(),
  username: headerText(256),
  /** Omitted (and no oauth2): keep the stored one (only when host, port and username are unchanged). */
  password: z.string().min(1).max(1024).optional(),
  oauth2: oauth2Input.optional(),
  limits: limitsSchema.optional(),
  fromAddress: email,
  fromName: headerText(256).optional(),
});

export const smtpPutSchema = z.strictObject({
  mode: z.literal('smtp'),
  fallback: fallbackSchema.optional(),
  smtp: smtpInput,
});

const domainSettings = z.strictObject({
  name: z.string().regex(DOMAIN, 'must be a domain name'),
  fromAddress: email,
  fromName: headerText(256).optional(),
});

export const domainPutSchema = z.strictObject({ mode: z.literal('domain'), domain: domainSettings });
export const platformPutSchema = z.strictObject({ mode: z.literal('platform') });

/** PUT /tenants/{tenantId}/sender. */
export const putSenderBodySchema = z.discriminatedUnion('mode', [
  smtpPutSchema,
  domainPutSchema,
  platformPutSchema,
]);
export type PutSenderBody = z.infer<typeof putSenderBodySchema>;
export type SmtpPutBody = z.infer<typeof smtpPutSchema>;

const sendTo = email.optional();
/** POST .../sender/test with the stored config. */
export const storedTestBodySchema = z.strictObject({ sendTo });
/** POST .../sender/test with an unsaved smtp config. */
export const smtpTestBodySchema = smtpPutSchema.extend({ sendTo });
export const testBodySchema = z.union([storedTestBodySchema, smtpTestBodySchema]);
export type SmtpTestBody = z.infer<typeof smtpTestBodySchema>;
export type SmtpInput = z.infer<typeof smtpInput>;
export type OAuth2Input = z.infer<typeof oauth2Input>;

// ---- responses -------------------------------------------------------------------------------------

const version = z.number().int().min(0);

const smtpView = z.strictObject({
  host: z.string(),
  port: z.number().int(),
  security: smtpSecuritySchema,
  username: z.string(),
  /** True with a stored password (never returned itself); false with an oauth2 login. */
  passwordSet: z.boolean(),
  /** The OAuth2 login without its secrets: only whether they are stored. */
  oauth2: z
    .strictObject({
      provider: z.enum(OAUTH2_PROVIDERS),
      flow: z.enum(OAUTH2_FLOWS),
      clientId: z.string(),
      directoryId: z.string().optional(),
      tokenUrl: z.string().optional(),
      scope: z.string().optional(),
      clientSecretSet: z.boolean(),
      refreshTokenSet: z.boolean(),
    })
    .optional(),
  limits: limitsSchema.optional(),
  fromAddress: z.string(),
  fromName: z.string().optional(),
});

/** GET/PUT answer: the config without password or ciphertext. */
export const senderViewSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('smtp'),
    fallback: fallbackSchema,
    smtp: smtpView,
    version,
    updatedAt: isoTime,
  }),
  z.strictObject({
    mode: z.literal('domain'),
    domain: z.strictObject({ name: z.string(), fromAddress: z.string(), fromName: z.string().optional() }),
    version,
    updatedAt: isoTime,
  }),
  // No config at all: { mode: 'platform', version: 0 } without updatedAt.
  z.strictObject({ mode: z.literal('platform'), version, updatedAt: isoTime.optional() }),
]);
export type SenderView = z.infer<typeof senderViewSchema>;

const failureClass = z.enum(FAILURE_CLASSES);
const smtpPhase = z.enum(SMTP_PHASES);
/** What the tenant's admin must do: `reconsent` (sign in again), `use-oauth2` (passwords are refused). */
const failureHint = z.enum(FAILURE_HINTS);

export const healthViewSchema = z.strictObject({
  state: z.enum(['healthy', 'unhealthy']),
  configVersion: version,
  consecutiveFailures: z.number().int().min(0),
  backoffLevel: z.number().int().min(0),
  retryAt: isoTime.nullable(),
  lastFailure: z
    .strictObject({
      class: failureClass,
      code: z.string(),
      phase: smtpPhase,
      message: z.string(),
      responseCode: z.number().int().optional(),
      hint: failureHint.optional(),
      at: isoTime,
    })
    .nullable(),
  lastSuccessAt: isoTime.nullable(),
});
export type HealthView = z.infer<typeof healthViewSchema>;

export const testResultSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), durationMs: z.number().int().min(0) }),
  z.strictObject({
    ok: z.literal(false),
    class: failureClass,
    code: z.string(),
    phase: smtpPhase,
    message: z.string(),
    hint: failureHint.optional(),
    durationMs: z.number().int().min(0),
  }),
]);
export type TestResult = z.infer<typeof testResultSchema>;

export const deliveryViewSchema = z.strictObject({
  at: isoTime,
  messageId: z.string(),
  kind: z.enum(['notification', 'autoresponder', 'digest']),
  route: z.enum(['smtp', 'domain', 'platform', 'split']).nullable(),
  fallbackReason: z
    .union([
      z.enum([
        'no-config',
        'unhealthy',
        'domain-unverified',
        'rate-limited',
        'kms-unavailable',
        'ses-paused',
      ]),
      failureClass,
    ])
    .nullable(),
  status: z.enum(['sent', 'partial', 'rejected', 'suppressed', 'held', 'delayed', 'retrying', 'dead']),
  accepted: z.array(z.string()),
  rejected: z.array(
    z.strictObject({
      address: z.string(),
      responseCode: z.number().int().optional(),
      response: z.string().optional(),
    }),
  ),
  response: z.string().nullable(),
  /** Recipients left out because the tenant suppresses them (docs/design.md §19). */
  suppressed: z.array(z.string()),
  /** The SES delivery timeline, oldest first, the newest 20. */
  events: z.array(
    z.strictObject({
      type: z.enum(DELIVERY_EVENT_TYPES),
      at: z.string(),
      recipient: z.string().nullable(),
      detail: z
        .strictObject({
          bounceType: z.string().optional(),
          bounceSubType: z.string().optional(),
          diagnosticCode: z.string().optional(),
        })
        .optional(),
    }),
  ),
});
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

/** One delivery in detail: the list item plus attempts and the duplicate flag. */
export const deliveryDetailSchema = deliveryViewSchema.extend({
  attempts: z.number().int().min(0),
  possibleDuplicate: z.boolean(),
  providerMessageId: z.string().optional(),
});
export type DeliveryDetail = z.infer<typeof deliveryDetailSchema>;

export const deliveriesPageSchema = z.strictObject({
  items: z.array(deliveryViewSchema),
  cursor: z.string().nullable(),
});

export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    field: z.string().optional(),
  }),
});

/** API Gateway's own 401 body (the JWT authorizer answers; the function never runs). */
export const gatewayErrorSchema = z.strictObject({ message: z.string() });
