import type { DomainStore, SesDomains, SesSender } from '../core/ports';
import { sesTenantName } from '../core/ses-tenant';
import type { Clock } from '../core/types';

/**
 * Every SES send carries the tenant's SES tenant (docs/design.md §20): `TenantName` `tm-<tenantId>`,
 * the tenant read from the send's `tenantId` tag (the dispatcher tags every send). The SES tenant is
 * made on first need: per container, one marker read per tenant, and the SES calls only when the
 * marker is absent (created idempotently, then marked). A send that cannot make sure of its SES tenant
 * fails as retryable, as SES being unreachable does.
 */
export interface SesTenantSenderOptions {
  inner: SesSender;
  store: Pick<DomainStore, 'hasSesTenantMarker' | 'putSesTenantMarker'>;
  ses: Pick<SesDomains, 'ensureTenant'>;
  clock: Clock;
}

export function withSesTenants(options: SesTenantSenderOptions): SesSender {
  const ready = new Map<string, Promise<string>>();

  async function ensure(tenantId: string): Promise<string> {
    const name = sesTenantName(tenantId);
    if (await options.store.hasSesTenantMarker(tenantId)) return name;
    await options.ses.ensureTenant(name);
    await options.store.putSesTenantMarker(tenantId, name, new Date(options.clock.now()).toISOString());
    return name;
  }

  return {
    async send(input) {
      const tenantId = input.tags.find((tag) => tag.Name === 'tenantId')?.Value;
      if (tenantId === undefined) return options.inner.send(input);
      let pending = ready.get(tenantId);
      if (pending === undefined) {
        pending = ensure(tenantId);
        ready.set(tenantId, pending);
        // A failure is not remembered: the next send tries again.
        pending.catch(() => ready.delete(tenantId));
      }
      let tenantName: string;
      try {
        tenantName = await pending;
      } catch (error) {
        const err = error as { name?: string; message?: string };
        return {
          ok: false,
          error: {
            code: err.name ?? 'Error',
            message: `SES tenant for ${tenantId} not ready: ${err.message ?? String(error)}`,
            retryable: true,
            mayHaveSent: false,
          },
        };
      }
      return options.inner.send({ ...input, tenantName });
    },
  };
}
