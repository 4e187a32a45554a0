import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import type { AlertEmitter } from '../core/alerts';
import type {
  AlertDelivery,
  DomainStore,
  HostGuard,
  MimeBuilder,
  NotifyStore,
  OAuthTokens,
  PasswordCipher,
  SecretCipher,
  SesDomains,
  Store,
  WebhookPoster,
} from '../core/ports';
import type { SuppressionStore } from '../core/suppression';
import type { Clock } from '../core/types';
import type { SmtpTester } from './smtp-test';

/** What the tenant alert routes use (issue 14); without it those routes answer 404. */
export interface AlertsApiDeps {
  store: Pick<NotifyStore, 'getSettings' | 'putSettings' | 'deleteSettings' | 'putLog' | 'listLog'>;
  /** Encrypts the webhook secret (KMS context `{ tenantId, purpose: "webhook-secret" }`). */
  secrets: Pick<SecretCipher, 'encrypt'>;
  webhook: Pick<WebhookPoster, 'vetUrl'>;
  delivery: AlertDelivery;
  /** Alert tests per tenant (default 5 per 60 s). */
  testLimit?: { limit: number; windowSeconds: number };
}

/** What the domain routes use (issue 15); without it those routes answer 404. */
export interface DomainsApiDeps {
  store: DomainStore;
  ses: SesDomains;
  /** The platform's own domain, which no tenant may claim. */
  platformDomain: string;
  /** The SES region, for the MAIL FROM MX record (`feedback-smtp.<region>.amazonses.com`). */
  region: string;
  /** How long a pending claim holds its name (default 72 h). */
  pendingHoldMs?: number;
  /** Tells the tenant (domain.verified / domain.failed, docs/design.md §18) when a refresh records a change. */
  alerts?: Pick<AlertEmitter, 'domainChanged'>;
}

/** The store operations the config API uses. */
export type ConfigStore = Pick<
  Store,
  | 'loadTenant'
  | 'getSender'
  | 'putSender'
  | 'resetHealth'
  | 'claimDomain'
  | 'releaseDomain'
  | 'listDeliveries'
  | 'getDeliveryByMessageId'
  | 'hitRateLimit'
>;

export type ApiLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Everything the config API is built from; handler.ts wires the real adapters, tests local servers. */
export interface ConfigApiDeps {
  store: ConfigStore;
  /** The tenants' suppression lists (docs/design.md §19). */
  suppressions: Pick<
    SuppressionStore,
    'listSuppressions' | 'getSuppression' | 'putSuppression' | 'deleteSuppression'
  >;
  cipher: PasswordCipher;
  /** The network guard, used at config time (PUT and test) before anything connects. */
  guard: HostGuard;
  /** The tenant SMTP sender the dispatcher uses (guarded at connect time too). */
  smtp: SmtpTester;
  /** Builds the test message (`sendTo`). */
  mime: MimeBuilder;
  /** OAuth2: token URLs vetted on PUT, unsaved OAuth2 configs logged in by the test endpoint. */
  tokens?: OAuthTokens;
  logger: ApiLogger;
  clock: Clock;
  /** `TENANT_SMTP_ALLOW_PRIVATE=1`: `security: "none"` accepted (the guard opens private hosts itself). */
  allowPrivateSmtp: boolean;
  /** The test endpoint's budget for everything it does against the tenant server (default and cap 15 s). */
  testBudgetMs?: number;
  /** How long the config-time guard waits for DNS before a 422 `dns-failure` (default 10 s). */
  guardTimeoutMs?: number;
  /** Rate limit of all tests per tenant, each a login to some server (default 30 per 60 s). */
  testLimit?: { limit: number; windowSeconds: number };
  /** `sendTo` rate limit per tenant (default 5 per 60 s). */
  sendToLimit?: { limit: number; windowSeconds: number };
  alerts?: AlertsApiDeps;
  domains?: DomainsApiDeps;
}

/** What a route handler gets: the request, its tenant, and the deps. */
export interface RouteContext {
  event: APIGatewayProxyEventV2WithJWTAuthorizer;
  context: Context;
  tenantId: string;
  /** The caller has the admin scope (the platform's operators). */
  admin: boolean;
  params: Record<string, string>;
  deps: ConfigApiDeps;
}
