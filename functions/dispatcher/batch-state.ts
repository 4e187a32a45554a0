import type { LimitAllowance } from '../core/limits';
import type { FailureClass, PlatformFault } from '../core/types';

/**
 * What one invocation remembers per tenant: the tenant's config and health (read once per batch), the
 * first tenant-path failure (the rest of that tenant's messages skip the tenant path: no repeated
 * timeouts), the probe claim, and a chain that runs one tenant's messages one after another while
 * different tenants run in parallel.
 */
export class BatchState<TTenant> {
  private readonly loads = new Map<string, Promise<TTenant>>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly failures = new Map<string, FailureClass | PlatformFault>();
  private readonly probes = new Map<string, Promise<boolean>>();
  private readonly allowances = new Map<string, Promise<LimitAllowance>>();

  constructor(
    private readonly load: (tenantId: string) => Promise<TTenant>,
    /** The batch's valid messages and their recipients, per tenant (what a limit reservation asks for). */
    private readonly demand: ReadonlyMap<string, { messages: number; recipients: number }> = new Map(),
  ) {}

  /** What this batch holds for the tenant: its valid messages and their recipients. */
  demandOf(tenantId: string): { messages: number; recipients: number } {
    return this.demand.get(tenantId) ?? { messages: 0, recipients: 0 };
  }

  /**
   * The tenant's sending-limit grant for this batch, reserved once (a failed reservation is retried by
   * the next message).
   */
  allowance(tenantId: string, reserve: () => Promise<LimitAllowance>): Promise<LimitAllowance> {
    let pending = this.allowances.get(tenantId);
    if (!pending) {
      pending = reserve();
      pending.catch(() => this.allowances.delete(tenantId));
      this.allowances.set(tenantId, pending);
    }
    return pending;
  }

  /** The tenant's data, loaded at most once per batch (a failed load is retried by the next caller). */
  tenant(tenantId: string): Promise<TTenant> {
    let pending = this.loads.get(tenantId);
    if (!pending) {
      pending = this.load(tenantId);
      pending.catch(() => this.loads.delete(tenantId));
      this.loads.set(tenantId, pending);
    }
    return pending;
  }

  /** Runs `task` after every earlier task of the same tenant has settled. */
  inTenantOrder<T>(tenantId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(tenantId) ?? Promise.resolve();
    const next = previous.then(task, task);
    this.chains.set(
      tenantId,
      next.catch(() => undefined),
    );
    return next;
  }

  /** The class of this batch's first tenant-path failure for the tenant (or a platform fault), if any. */
  failureOf(tenantId: string): FailureClass | PlatformFault | undefined {
    return this.failures.get(tenantId);
  }

  recordFailure(tenantId: string, failure: FailureClass | PlatformFault): void {
    if (!this.failures.has(tenantId)) this.failures.set(tenantId, failure);
  }

  /** One probe claim attempt per tenant per batch; later messages reuse its answer. */
  probe(tenantId: string, claim: () => Promise<boolean>): Promise<boolean> {
    let pending = this.probes.get(tenantId);
    if (!pending) {
      pending = claim();
      this.probes.set(tenantId, pending);
    }
    return pending;
  }
}
