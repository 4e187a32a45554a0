import type { SenderConfig } from '../core/types';
import type { ConfigApiDeps } from './deps';
import { senderDomain } from './sender-rules';

/** Read-and-repair rounds after a config write; each answers one more write that landed meanwhile. */
const SETTLE_ROUNDS = 3;

/**
 * After a config write (PUT or DELETE): keep the new domain claimed, release the old one, reset health
 * for the new version, then repair what a concurrent write of the same tenant may have undone. There
 * are no transactions (docs/design.md §7 DynamoDB table), so such a write is found by reading the config again:
 * - a concurrent PUT leaving the new domain may have released it between our claim and our write: it
 *   is claimed again now that the config using it is stored;
 * - a concurrent PUT may have stored the domain we release: it is claimed back;
 * - a newer version's health reset may have landed before ours: HEALTH is reset again for the version
 *   actually stored (a HEALTH item of an older version fails every dispatcher write's condition, so the
 *   breaker could never open for the current config).
 */
export async function afterConfigWrite(
  deps: ConfigApiDeps,
  tenantId: string,
  previous: SenderConfig | null,
  next: SenderConfig,
): Promise<void> {
  const newDomain = senderDomain(next);
  if (newDomain !== undefined) await keepDomain(deps, tenantId, newDomain);
  const old = senderDomain(previous);
  let released = old !== undefined && old !== newDomain ? old : undefined;
  if (released !== undefined) await deps.store.releaseDomain(released, tenantId);
  let resetFor = next.version;
  await deps.store.resetHealth(tenantId, resetFor);
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    const current = await deps.store.getSender(tenantId);
    // Only a write that came before this read can have used the released domain without reclaiming it
    // after our release; a later one claims it itself after its write.
    if (released !== undefined && senderDomain(current) === released)
      await keepDomain(deps, tenantId, released);
    released = undefined;
    const version = current?.version ?? resetFor;
    if (version === resetFor) return;
    await deps.store.resetHealth(tenantId, version);
    resetFor = version;
  }
}

async function keepDomain(deps: ConfigApiDeps, tenantId: string, name: string): Promise<void> {
  if ((await deps.store.claimDomain(name, tenantId)) === 'claimed') return;
  // Another tenant took the domain in the instant it was free: nothing here can undo that safely.
  deps.logger.error('sender domain owned by another tenant while this tenant’s config uses it', {
    tenantId,
    domain: name,
  });
}
