/**
 * Which path a message takes (docs/design.md §4 Sender tiers, §10 Health, §9 Failure classes and recorded
 * values). Pure decisions.
 */
import { probeDue } from './health';
import type {
  FailureClass,
  FailureRecord,
  FallbackReason,
  HealthState,
  PlatformFault,
  SenderConfig,
} from './types';
import { initialHealth } from './types';

export interface RouteInput {
  /** The tenant's SENDER item; null when the tenant has none. */
  config: SenderConfig | null;
  /** The tenant's HEALTH item (`initialHealth` for a tenant never seen). */
  health: HealthState;
  /** epoch ms */
  now: number;
  /**
   * An earlier message of this tenant in this batch failed on the tenant path with this class, or the
   * platform kept it from being tried (`kms-unavailable`).
   */
  batchFailure?: FailureClass | PlatformFault;
  /** This container saw SES refuse the tenant's domain identity within the last 5 min. */
  domainUnverified?: boolean;
  /** Outcome of the probe claim, once the caller tried it after a `claim-probe` answer. */
  probeClaimed?: boolean;
}

export type RouteDecision =
  /** Send now. `probe` is true when this send is the breaker's probe: report its outcome to nextHealth. */
  | {
      action: 'send';
      route: 'smtp' | 'domain' | 'platform';
      fallbackReason: FallbackReason | null;
      probe: boolean;
    }
  /** Fallback policy `hold`: leave the message queued (see holdVisibilitySeconds); never SES. */
  | { action: 'hold'; reason: FallbackReason }
  /** The breaker is due for a probe: claim it in the store, then call again with `probeClaimed`. */
  | { action: 'claim-probe' };

function platform(fallbackReason: FallbackReason | null): RouteDecision {
  return { action: 'send', route: 'platform', fallbackReason, probe: false };
}

/** The tenant path is not usable: fall back to the platform, or hold under the `hold` policy. */
function bypassTenant(config: SenderConfig, reason: FallbackReason): RouteDecision {
  return config.fallback === 'hold' ? { action: 'hold', reason } : platform(reason);
}

/**
 * Decides the route of one message before any send.
 *
 * - No config → platform, reason `no-config`; mode `platform` → platform, reason null.
 * - Mode `domain` → `domain` (SES, tenant From), or platform with `domain-unverified` when this container
 *   remembers SES refusing the identity. The `hold` policy does not apply (smtp mode only).
 * - Mode `smtp`: an earlier tenant failure in this batch → bypass with that class; breaker closed →
 *   `smtp`; breaker open and a probe due → `claim-probe` until the caller reports the claim
 *   (`probeClaimed` true → `smtp` with `probe: true`; false → bypass `unhealthy`); open and not due →
 *   bypass `unhealthy`. "Bypass" is platform with that reason, or `hold` under fallback policy `hold`.
 * - A HEALTH item of another config version belongs to an older config and is read as healthy (a
 *   config change resets health).
 * - Incomplete settings for the mode (no `smtp` / `domain` block) → bypass with `config-invalid`.
 */
export function decideRoute(input: RouteInput): RouteDecision {
  const { config, now } = input;
  if (config === null) return platform('no-config');
  if (config.mode === 'platform') return platform(null);
  if (config.mode === 'domain') {
    if (config.domain === undefined) return platform('config-invalid');
    if (input.domainUnverified) return platform('domain-unverified');
    return { action: 'send', route: 'domain', fallbackReason: null, probe: false };
  }
  if (config.smtp === undefined) return bypassTenant(config, 'config-invalid');
  // recipient-rejected says nothing about the tenant path, so it never makes later messages skip it.
  if (input.batchFailure !== undefined && input.batchFailure !== 'recipient-rejected') {
    return bypassTenant(config, input.batchFailure);
  }
  const health = input.health.configVersion === config.version ? input.health : initialHealth(config.version);
  if (health.state === 'healthy')
    return { action: 'send', route: 'smtp', fallbackReason: null, probe: false };
  if (!probeDue(health, now) || input.probeClaimed === false) return bypassTenant(config, 'unhealthy');
  if (input.probeClaimed === true)
    return { action: 'send', route: 'smtp', fallbackReason: null, probe: true };
  return { action: 'claim-probe' };
}

export type AfterFailure =
  /** Recorded, never retried nor sent elsewhere (an address-level permanent refusal). */
  | { action: 'final' }
  /** Send through SES now; `possibleDuplicate` when the tenant server may have taken it (uncertain). */
  | { action: 'platform'; reason: FallbackReason; possibleDuplicate: boolean }
  /** Fallback policy `hold`: keep the message queued for the tenant path. */
  | { action: 'hold'; reason: FallbackReason };

/** What follows a failed tenant send: platform fallback, hold (policy `hold`), or final (recipient-rejected). */
export function fallbackAfterFailure(config: SenderConfig | null, failure: FailureRecord): AfterFailure {
  if (failure.class === 'recipient-rejected') return { action: 'final' };
  if (config?.mode === 'smtp' && config.fallback === 'hold') return { action: 'hold', reason: failure.class };
  return { action: 'platform', reason: failure.class, possibleDuplicate: failure.class === 'uncertain' };
}
