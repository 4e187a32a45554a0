import type { DeliveryEvent } from './suppression';
import type {
  DeliveryStatus,
  FallbackReason,
  HealthState,
  MessageKind,
  RecipientRefusal,
  Route,
  SenderConfig,
} from './types';

/**
 * The store port (one DynamoDB table in production), re-exported by core/ports.ts: import it from there.
 * Records carry opaque ids and cursors; key formats stay in the adapter.
 */

// ─── Store: tenant config, health, domain ownership ───

/** What the dispatcher needs to route a tenant's messages; both null for a tenant never seen. */
export interface TenantSnapshot {
  config: SenderConfig | null;
  health: HealthState | null;
}

/** Tenant config, health and domain ownership. */
export interface TenantStore {
  /** Reads the tenant's config and health together, in one consistent read. */
  loadTenant(tenantId: string): Promise<TenantSnapshot>;
  /**
   * Writes the whole health if it is still for `health.configVersion` (or missing, or left by an older
   * config version). False when the config changed meanwhile: a failure of the old config must not open
   * the breaker of the new one. With `previous` (the state the caller decided from), also false when
   * another writer changed the breaker (state, consecutiveFailures, backoffLevel) since: the caller
   * re-reads and decides again.
   */
  writeHealth(tenantId: string, health: HealthState, previous?: HealthState): Promise<boolean>;
  /**
   * Takes the probe of an unhealthy tenant whose retryAt has come: sets probeLeaseUntil if no live probe
   * lease exists and the config version still matches. Exactly one of many racing callers gets true.
   */
  claimProbe(
    tenantId: string,
    configVersion: number,
    leaseUntilIso: string,
    now: string | number,
  ): Promise<boolean>;
  /**
   * Writes health healthy for a new config version (a config change resets health), unless health is
   * already at that version or a newer one. False when it was not written for that reason.
   */
  resetHealth(tenantId: string, configVersion: number): Promise<boolean>;
  /**
   * Stores the config if its current version is still `expectedVersion` (0: none yet); throws
   * ConditionFailedError when another writer came first. The caller bumps `config.version`.
   */
  putSender(config: SenderConfig, expectedVersion: number): Promise<void>;
  /** The config (consistent read), or null when the tenant never had one. */
  getSender(tenantId: string): Promise<SenderConfig | null>;
  /**
   * Replaces the stored OAuth2 refresh token (the provider rotated it) if the config is still at
   * `configVersion`; the version does not change. False when the config moved on (a newer one wins).
   */
  replaceRefreshToken(tenantId: string, configVersion: number, ciphertext: string): Promise<boolean>;
  /** Claims a sender domain for a tenant; succeeds when it is free or already this tenant's. */
  claimDomain(name: string, tenantId: string): Promise<'claimed' | 'owned-by-other'>;
  /** Releases a domain only if `tenantId` owns it; false when it did not. */
  releaseDomain(name: string, tenantId: string): Promise<boolean>;
  /** The tenant owning a sender domain, or null. */
  domainOwner(name: string): Promise<string | null>;
}

// ─── Store: idempotency claims, delivery log, rate limits ───

/** One message's delivery record. `id` is the store's own (opaque) name for it. */
export interface DeliveryRecord {
  /** Opaque delivery id the store handed out with the claim; callers only pass it back. */
  id: string;
  /** The message's idempotencyKey (defaults to the SQS message id). */
  messageId: string;
  kind: MessageKind;
  route: Route | null;
  fallbackReason: FallbackReason | null;
  status: DeliveryStatus;
  accepted: string[];
  rejected: RecipientRefusal[];
  providerMessageId?: string;
  /** The last SMTP/SES response line; never a password. */
  response?: string;
  attempts: number;
  /** Of `attempts`, those that ended held (fallback policy `hold`): exempt from MAX_ATTEMPTS. */
  heldAttempts?: number;
  timings: { totalMs: number; tenantMs?: number; sesMs?: number };
  possibleDuplicate?: boolean;
  detail?: string;
  /** ISO 8601 UTC time this record was written. */
  at: string;
  /** Recipients left out because the tenant suppresses them (docs/design.md §19). */
  suppressed?: string[];
  /** The delivery timeline from SES events, oldest first (written by the events function only). */
  events?: DeliveryEvent[];
}

export interface ClaimMessageInput {
  tenantId: string;
  /** The message's idempotencyKey (defaults to the SQS message id). */
  key: string;
  /** Epoch ms the lease lasts until (the invocation's deadline). */
  leaseUntil: number;
  /** Epoch ms; a new claim's delivery sorts in the log by this time (its first attempt). */
  now: number;
  /** The message's content hash (`contentHash`): kept by the claim, compared by every later claim. */
  contentHash: string;
}

/**
 * `claimed`: this caller holds the lease. `firstClaim` false means an earlier attempt may have finished
 * the message (e.g. the SQS delete failed after sending): read `getDelivery(deliveryId)` and send nothing
 * when its status is final. `lapsed`: the lease taken over had run out without being released or the
 * claim marked done: the attempt that held it ended without a word (a crash, a killed invocation) and
 * may have sent. `leased`: another invocation holds a live lease until `leaseUntil` (epoch ms).
 * `done`: marked done with `markMessageDone`. `conflict`: the live claim of this key was taken for
 * other content (a claim from before content hashes matches any content).
 */
export type ClaimOutcome =
  | { outcome: 'claimed'; attempts: number; deliveryId: string; firstClaim: boolean; lapsed: boolean }
  | { outcome: 'leased'; leaseUntil: number }
  | { outcome: 'done'; deliveryId: string }
  | { outcome: 'conflict' };

export interface DeliveryPage {
  items: DeliveryRecord[];
  /** Opaque position of the next page, or null when there is none. */
  cursor: string | null;
}

/** Idempotency claims, the delivery log and the rate limiter. */
export interface MessageStore {
  /**
   * Takes the message's lease, unless another invocation holds it, the message is done, or the key was
   * claimed for other content.
   */
  claimMessage(input: ClaimMessageInput): Promise<ClaimOutcome>;
  /**
   * Releases the lease after a failed attempt. With `heldLeaseUntil`, only while the lease is still the
   * caller's own. False when there was nothing (of ours) to release.
   */
  releaseMessage(tenantId: string, key: string, heldLeaseUntil?: number): Promise<boolean>;
  /** Marks the claim done, so later receives get `done` without reading the delivery. */
  markMessageDone(tenantId: string, key: string): Promise<void>;
  /** Writes (overwrites) the delivery, kept 30 days from now. */
  putDelivery(tenantId: string, record: DeliveryRecord): Promise<void>;
  /** One delivery by its id (consistent read); null when absent or expired. */
  getDelivery(tenantId: string, deliveryId: string): Promise<DeliveryRecord | null>;
  /**
   * The delivery log newest first; expired items are left out, so a page may hold fewer than `limit`.
   * A cursor the store did not hand out for this tenant throws InvalidCursorError.
   */
  listDeliveries(tenantId: string, page: { limit: number; cursor?: string | null }): Promise<DeliveryPage>;
  /** One delivery by its messageId (idempotencyKey), through its claim. */
  getDeliveryByMessageId(tenantId: string, messageId: string): Promise<DeliveryRecord | null>;
  /** Counts one hit in the current fixed window of `key`; false (refused) once `limit` hits were counted. */
  hitRateLimit(key: string, limit: number, windowSeconds: number): Promise<boolean>;
  /**
   * Adds up to `want` to the tenant's sending-limit counter of `window` (docs/design.md §21) without
   * taking it past `max`, and answers how much it added (0 when the window is full). The counter is
   * shared by every container; it expires after `expiresAtSeconds` (epoch seconds).
   */
  reserveLimit(
    tenantId: string,
    window: string,
    want: number,
    max: number,
    expiresAtSeconds: number,
  ): Promise<number>;
}

/** The whole store (one DynamoDB table in production). */
export type Store = TenantStore & MessageStore;
