import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { AlertEmitter } from '../core/alerts';
import type { DomainRefreshDeps } from '../core/domain-refresh';
import type { PlatformSender } from '../core/fallback';
import type { DomainStore, MailQueue, MimeBuilder, SesSender, Store, TenantSmtpSender } from '../core/ports';
import type { SuppressionStore } from '../core/suppression';
import type { Clock, HealthState, SenderConfig } from '../core/types';

/** Everything the dispatcher talks to, built once per container by the handler (or by a test). */
export interface DispatcherDeps {
  store: Store;
  /** Per-tenant suppression list (docs/design.md §19). */
  suppressions: SuppressionStore;
  smtp: TenantSmtpSender;
  ses: SesSender;
  queue: MailQueue;
  mime: MimeBuilder;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  platform: PlatformSender;
  maxAttempts: number;
  holdMaxAgeSeconds: number;
  /** Kept back from the invocation's deadline for the SES fallback after a slow tenant server. */
  sesReserveMs: number;
  /** SES identities (domains) seen unverified, remembered per container. */
  unverifiedDomains: ExpiringSet;
  /**
   * Domain claims and SES identities (docs/design.md §20): when SES refuses a domain this container did
   * not yet remember as unverified, the tenant's claim is refreshed, so the change is recorded and
   * `domain.failed` told once. Absent: the dispatcher only falls back.
   */
  domains?: DomainRefreshDeps & { store: Pick<DomainStore, 'getClaim' | 'updateClaim'> };
  /** Tenant alerts (docs/design.md §18): told of breaker transitions and dead letters; off when absent. */
  alerts?: AlertEmitter;
  /** The least time (ms, on top of the SES reserve) a tenant SMTP send starts with; default MIN_TENANT_WINDOW_MS. */
  minTenantWindowMs?: number;
}

/**
 * A tenant send started with less time than this could be cut by the deadline before the server had
 * its contractual connect+greeting time (10 s), and the cut would be blamed on the tenant (breaker,
 * fallback). The message waits for the next invocation instead.
 */
export const MIN_TENANT_WINDOW_MS = 10_000;

/** Kept back from the deadline after the last send: the delivery record and the queue calls. */
export const BOOKKEEPING_MS = 500;

/** A tenant as one batch sees it; `health` is updated in place as the batch's sends report back. */
export interface TenantView {
  config: SenderConfig | null;
  health: HealthState;
}

/** How long this container remembers that SES refused a domain identity as not verified. */
export const DOMAIN_UNVERIFIED_MEMORY_MS = 5 * 60_000;

/** A set whose members expire; per-container memory such as "domain not verified". */
export class ExpiringSet {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  add(key: string): void {
    this.until.set(key, this.clock.now() + this.ttlMs);
  }

  has(key: string): boolean {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.until.delete(key);
    return false;
  }
}
