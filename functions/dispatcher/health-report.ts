import { errorText } from '../core/errors';
import { type HealthEvent, nextHealth } from '../core/health';
import { type FailureRecord, initialHealth } from '../core/types';
import type { BatchState } from './batch-state';
import { emit } from './observe';
import type { DispatcherDeps, TenantView } from './ports';
import type { TenantAttempt } from './tenant-path';

/** The tenant whose attempt is reported, and the batch that remembers its first failure. */
export interface HealthSubject {
  tenantId: string;
  view: TenantView;
  batch: BatchState<TenantView>;
}

/**
 * Feeds the tenant attempt to the breaker; writes HEALTH only when it must, conditional on the config
 * version and on the breaker state it decided from. When another container changed the breaker
 * meanwhile, re-reads it once and decides again, so a stale read never closes an opened breaker.
 * A store error here is logged, never thrown: the tenant server may already have the message, and a
 * thrown error would leave it unrecorded, to be sent again on redelivery (or keep the fallback from
 * going out).
 */
export async function reportHealth(
  deps: DispatcherDeps,
  input: HealthSubject,
  attempt: TenantAttempt,
): Promise<void> {
  const { tenantId } = input;
  const failure: FailureRecord | undefined = attempt.serverWorked ? undefined : attempt.failure;
  if (failure) input.batch.recordFailure(tenantId, failure.class);
  const event: HealthEvent = failure ? { type: 'failure', failure } : { type: 'success' };
  try {
    await writeHealthFor(deps, input, event);
  } catch (err) {
    deps.logger.warn('health not written: store error', {
      tenantId,
      error: errorText(err),
    });
  }
}

async function writeHealthFor(deps: DispatcherDeps, input: HealthSubject, event: HealthEvent): Promise<void> {
  const { view, tenantId } = input;
  for (let round = 0; round < 2; round += 1) {
    const previous = view.health;
    const next = nextHealth(previous, event, deps.clock.now());
    view.health = next.health;
    if (!next.changed) return;
    if (await deps.store.writeHealth(tenantId, next.health, previous)) {
      if (next.transition === 'opened') emit(deps.metrics, 'breakerOpened', 1);
      if (next.transition === 'closed') emit(deps.metrics, 'breakerClosed', 1);
      if (next.transition) deps.logger.info('tenant breaker', { tenantId, transition: next.transition });
      // Only the write that made the transition tells the tenant (docs/design.md §18 Tenant alerts).
      if (next.transition) {
        const fallback = view.config?.fallback ?? 'platform';
        await deps.alerts?.breakerChanged({
          tenantId,
          transition: next.transition,
          health: next.health,
          previous,
          fallback,
        });
      }
      return;
    }
    const fresh = await deps.store.loadTenant(tenantId);
    const version = view.config?.version ?? 0;
    if ((fresh.config?.version ?? 0) !== version) {
      deps.logger.info('health not written: config changed meanwhile', { tenantId });
      return;
    }
    view.health =
      fresh.health && fresh.health.configVersion === version ? fresh.health : initialHealth(version);
  }
  deps.logger.info('health not written: breaker kept changing', { tenantId });
}
