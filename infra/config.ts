import { z } from 'zod';

/**
 * The deployment's settings, read from CDK context (cdk.json or `-c key=value`). Values given on the
 * command line arrive as strings, so numbers and booleans are accepted in both forms.
 */
export interface MailerConfig {
  /** The CloudFormation stack name (default TenantMailer). */
  stackName: string;
  platformFromAddress: string;
  platformName: string;
  /** The SES identity the platform sends from: a domain (default: the from address's) or the address. */
  platformIdentity: string;
  /** false when the identity already exists in the account and region (SES refuses a second one). */
  createPlatformIdentity: boolean;
  jwtIssuer: string;
  jwtAudience: string[];
  alarmEmail: string | undefined;
  /** `nat`: the functions run in a VPC behind one NAT gateway with a static Elastic IP. */
  egress: 'none' | 'nat';
  /** With `nat`: an existing Elastic IP allocation to send from instead of a new one. */
  egressAllocationId: string | undefined;
  /** Upper bound of concurrent dispatcher invocations (SQS event source maxConcurrency, 2..1000). */
  maxConcurrency: number;
  /** Table deletion protection; also keeps table and key on stack deletion. */
  deletionProtection: boolean;
  maxAttempts: number;
  holdMaxAgeSeconds: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  apiRateLimit: number;
  apiBurstLimit: number;
  /** Alarm when more than this share of tenant-routed messages fall back to the platform. */
  fallbackRatioThreshold: number;
  /** Alarm when at least this many tenants turn unhealthy within an hour. */
  unhealthyTenantsThreshold: number;
  /** The platform operators' webhook for every tenant's alerts (docs/design.md §18), https. */
  platformWebhookUrl: string | undefined;
  /** The Secrets Manager secret (its ARN) holding that webhook's signing secret. */
  platformWebhookSecretArn: string | undefined;
  /** The SES reputation policy each tenant's SES tenant gets when it is created (docs/design.md §20). */
  sesReputationPolicy: 'none' | 'standard' | 'strict';
}

export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** SQS keeps a message this long; a held message must expire (HOLD_MAX_AGE_SECONDS) well before. */
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const address = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'a bare email address');
const domain = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'a domain');

const schema = z.object({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name')
    .default('TenantMailer'),
  platformFromAddress: address,
  platformName: z.string().min(1).max(100),
  platformIdentity: z.union([address, domain]).optional(),
  createPlatformIdentity: bool.default(true),
  jwtIssuer: z.url({ protocol: /^https$/, error: 'an https URL' }),
  jwtAudience: z
    .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
    .transform((v) => (Array.isArray(v) ? v : v.split(',').map((s) => s.trim()))),
  alarmEmail: z.union([address, z.literal('')]).optional(),
  egress: z.enum(['none', 'nat']).default('none'),
  egressAllocationId: z
    .string()
    .regex(/^eipalloc-[0-9a-f]{8,17}$/, 'an Elastic IP allocation id')
    .optional(),
  maxConcurrency: int(2, 1000).default(5),
  deletionProtection: bool.default(true),
  maxAttempts: int(1, 100).default(5),
  // Below the queue's retention with a day to spare: a held message expires before SQS drops it.
  holdMaxAgeSeconds: int(60, QUEUE_RETENTION_SECONDS - 86400).default(86400),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  apiRateLimit: int(1, 10000).default(50),
  apiBurstLimit: int(1, 5000).default(100),
  fallbackRatioThreshold: z.coerce.number().gt(0).lt(1).default(0.2),
  unhealthyTenantsThreshold: int(1, 10000).default(3),
  platformWebhookUrl: z.url({ protocol: /^https$/, error: 'an https URL' }).optional(),
  platformWebhookSecretArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'a Secrets Manager secret ARN')
    .optional(),
  sesReputationPolicy: z.enum(['none', 'standard', 'strict']).default('standard'),
});

export const CONTEXT_KEYS = Object.keys(schema.shape) as (keyof typeof schema.shape)[];

/** Reads and validates the context; throws one ConfigError naming every bad key. */
export function readConfig(getContext: (key: string) => unknown): MailerConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = getContext(key);
    if (value !== undefined && value !== null) raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid CDK context: ${problems}`);
  }
  const c = parsed.data;
  if ((c.platformWebhookUrl === undefined) !== (c.platformWebhookSecretArn === undefined)) {
    throw new ConfigError('invalid CDK context: platformWebhookUrl and platformWebhookSecretArn go together');
  }
  return {
    ...c,
    platformIdentity:
      c.platformIdentity ?? c.platformFromAddress.slice(c.platformFromAddress.indexOf('@') + 1),
    alarmEmail: c.alarmEmail ? c.alarmEmail : undefined,
    egressAllocationId: c.egressAllocationId,
    platformWebhookUrl: c.platformWebhookUrl,
    platformWebhookSecretArn: c.platformWebhookSecretArn,
  };
}
