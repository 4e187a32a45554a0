import type { Store } from '../core/ports';
import type { DynamoStoreOptions } from './dynamo-conditions';
import { claimProbe, loadTenant, resetHealth, writeHealth } from './dynamo-health';
import { createMessageStore } from './dynamo-messages';
import {
  claimDomain,
  domainOwner,
  getSender,
  putSender,
  releaseDomain,
  replaceRefreshToken,
} from './dynamo-senders';

export type { DynamoStoreOptions } from './dynamo-conditions';

/**
 * The DynamoDB store: every item of the one table (docs/design.md §7 DynamoDB table), over an injected
 * document client; nothing is read from the environment. Key formats stay in this adapter
 * (dynamo-items.ts): what leaves it carries opaque ids and cursors.
 */
export function createDynamoStore(table: DynamoStoreOptions): Store {
  return {
    loadTenant: (tenantId) => loadTenant(table, tenantId),
    writeHealth: (tenantId, health, previous) => writeHealth(table, tenantId, health, previous),
    claimProbe: (tenantId, version, leaseUntilIso, now) =>
      claimProbe(table, tenantId, version, leaseUntilIso, now),
    resetHealth: (tenantId, configVersion) => resetHealth(table, tenantId, configVersion),
    putSender: (config, expectedVersion) => putSender(table, config, expectedVersion),
    getSender: (tenantId) => getSender(table, tenantId),
    replaceRefreshToken: (tenantId, configVersion, ciphertext) =>
      replaceRefreshToken(table, tenantId, configVersion, ciphertext),
    claimDomain: (name, tenantId) => claimDomain(table, name, tenantId),
    releaseDomain: (name, tenantId) => releaseDomain(table, name, tenantId),
    domainOwner: (name) => domainOwner(table, name),
    ...createMessageStore(table),
  };
}
