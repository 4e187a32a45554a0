import { z } from 'zod';
import { REPUTATION_POLICIES, type ReputationPolicy } from './core/domains-port';

/**
 * The one place that reads the environment (docs/design.md §3 Settings). Handlers call `loadSettings()` once
 * per container; library code receives the values it needs as arguments.
 */
const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true');

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined));

/** RFC 5321 §4.5.3.2.6 asks a client to wait 10 minutes for the reply after "."; 5 fit a Lambda. */
export const DEFAULT_DATA_REPLY_TIMEOUT_SECONDS = 300;

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  KMS_KEY_ID: z.string().min(1),
  QUEUE_URL: z.string().min(1),
  DLQ_URL: z.string().min(1),
  PLATFORM_FROM_ADDRESS: z.string().min(3),
  PLATFORM_NAME: z.string().min(1),
  SES_CONFIGURATION_SET: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined)),
  MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  HOLD_MAX_AGE_SECONDS: z.coerce.number().int().min(60).default(86400),
  TENANT_SMTP_ALLOW_PRIVATE: flag,
  ALERTS_QUEUE_URL: optionalText,
  PLATFORM_WEBHOOK_URL: optionalText,
  PLATFORM_WEBHOOK_SECRET_ARN: optionalText,
  SES_PLATFORM_IDENTITY: optionalText,
  SES_REPUTATION_POLICY: z.enum(REPUTATION_POLICIES).default('standard'),
  SES_ARN_PREFIX: z
    .string()
    .regex(/^arn:[a-z-]+:ses:[a-z0-9-]+:\d{12}:$/, 'must be arn:<partition>:ses:<region>:<account>:')
    .optional(),
  DATA_REPLY_TIMEOUT_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(600)
    .default(DEFAULT_DATA_REPLY_TIMEOUT_SECONDS),
});

export interface Settings {
  tableName: string;
  kmsKeyId: string;
  queueUrl: string;
  dlqUrl: string;
  platformFromAddress: string;
  platformName: string;
  sesConfigurationSet: string | undefined;
  maxAttempts: number;
  holdMaxAgeSeconds: number;
  allowPrivateSmtp: boolean;
  /** Tenant alerts' own queue (dispatcher, config API and notifier); alerts are off without it. */
  alertsQueueUrl: string | undefined;
  /** The platform operators' webhook for every tenant's alerts, and its secret's Secrets Manager ARN. */
  platformWebhookUrl: string | undefined;
  platformWebhookSecretArn: string | undefined;
  /** `arn:<partition>:ses:<region>:<account>:` of the SES account; the domain routes are off without it. */
  sesArnPrefix: string | undefined;
  /** The platform's SES identity (domain or address; default the domain of PLATFORM_FROM_ADDRESS). */
  sesPlatformIdentity: string;
  /** The reputation policy an SES tenant gets when it is created (stack prop sesReputationPolicy). */
  sesReputationPolicy: ReputationPolicy;
  /** The tenant SMTP wait for the reply after the final "." (the dispatcher's timeout follows from it). */
  dataReplyTimeoutMs: number;
}

export class SettingsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SettingsError';
  }
}

/** Parses the settings of docs/design.md §3 from an environment (default: `process.env`). Throws naming each bad key. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SettingsError(`invalid settings: ${problems}`);
  }
  const s = parsed.data;
  return {
    tableName: s.TABLE_NAME,
    kmsKeyId: s.KMS_KEY_ID,
    queueUrl: s.QUEUE_URL,
    dlqUrl: s.DLQ_URL,
    platformFromAddress: s.PLATFORM_FROM_ADDRESS,
    platformName: s.PLATFORM_NAME,
    sesConfigurationSet: s.SES_CONFIGURATION_SET,
    maxAttempts: s.MAX_ATTEMPTS,
    holdMaxAgeSeconds: s.HOLD_MAX_AGE_SECONDS,
    allowPrivateSmtp: s.TENANT_SMTP_ALLOW_PRIVATE,
    alertsQueueUrl: s.ALERTS_QUEUE_URL,
    platformWebhookUrl: s.PLATFORM_WEBHOOK_URL,
    platformWebhookSecretArn: s.PLATFORM_WEBHOOK_SECRET_ARN,
    sesArnPrefix: s.SES_ARN_PREFIX,
    sesPlatformIdentity: s.SES_PLATFORM_IDENTITY ?? s.PLATFORM_FROM_ADDRESS.split('@').at(-1) ?? '',
    sesReputationPolicy: s.SES_REPUTATION_POLICY,
    dataReplyTimeoutMs: s.DATA_REPLY_TIMEOUT_SECONDS * 1000,
  };
}

/** The delivery events function's settings (docs/design.md §19): its table and its own DLQ. */
export interface EventsSettings {
  tableName: string;
  eventsDlqUrl: string;
  /** Receives of an event whose delivery is not recorded before it is dead-lettered (default 5). */
  eventMaxReceives: number;
  /** Tenant alerts' queue: `reputation.warning` goes there; no warnings without it. */
  alertsQueueUrl: string | undefined;
}

const eventsSchema = z.object({
  ALERTS_QUEUE_URL: optionalText,
  TABLE_NAME: z.string().min(1),
  EVENTS_DLQ_URL: z.string().min(1),
  EVENT_MAX_RECEIVES: z.coerce.number().int().min(1).max(50).default(5),
});

/** Parses the events function's settings; throws naming each bad key. */
export function loadEventsSettings(env: Record<string, string | undefined> = process.env): EventsSettings {
  const parsed = eventsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SettingsError(`invalid settings: ${problems}`);
  }
  return {
    tableName: parsed.data.TABLE_NAME,
    eventsDlqUrl: parsed.data.EVENTS_DLQ_URL,
    eventMaxReceives: parsed.data.EVENT_MAX_RECEIVES,
    alertsQueueUrl: parsed.data.ALERTS_QUEUE_URL,
  };
}
