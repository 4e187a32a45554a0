import { isLimited, LimitAllowance, type LimitDemand, type LimitVerdict, limitWindows } from '../core/limits';
import { limitsOf, type SendingLimits } from '../core/oauth2';
import type { SenderConfig, SmtpSettings } from '../core/types';
import type { BatchState } from './batch-state';
import type { DispatcherDeps, TenantView } from './ports';
import { allOf, type Recipients } from './recipients';

/** A counter outlives its window a little, so a late reader still sees it; TTL deletes it later. */
const COUNTER_GRACE_SECONDS = 3600;

/**
 * Whether this message may use the tenant's own server under its sending limits (docs/design.md §21):
 * the tenant's demand in the batch is reserved once per batch in the shared counters, then each message
 * takes its share in the tenant's order. A tenant without limits costs nothing.
 */
export async function limitVerdict(
  deps: DispatcherDeps,
  input: { tenantId: string; batch: BatchState<TenantView>; owed: Recipients },
  config: SenderConfig & { smtp: SmtpSettings },
): Promise<LimitVerdict> {
  const limits = limitsOf(config.smtp.oauth2?.provider, config.smtp.limits);
  if (!isLimited(limits)) return 'ok';
  const recipients = allOf(input.owed).length;
  const allowance = await input.batch.allowance(input.tenantId, () => {
    const demand = input.batch.demandOf(input.tenantId);
    return reserve(deps, input.tenantId, limits, {
      messages: Math.max(1, demand.messages),
      recipients: Math.max(recipients, demand.recipients),
    });
  });
  return allowance.take(recipients);
}

/** One conditional write per limited window, both at once. Reserved and unused is not given back. */
async function reserve(
  deps: DispatcherDeps,
  tenantId: string,
  limits: SendingLimits,
  demand: LimitDemand,
): Promise<LimitAllowance> {
  const windows = limitWindows(deps.clock.now());
  const expires = (endsAt: number) => Math.ceil(endsAt / 1000) + COUNTER_GRACE_SECONDS;
  const [messages, recipients] = await Promise.all([
    limits.perMinute === undefined
      ? null
      : deps.store.reserveLimit(
          tenantId,
          windows.minute,
          demand.messages,
          limits.perMinute,
          expires(windows.minuteEndsAt),
        ),
    limits.perDay === undefined
      ? null
      : deps.store.reserveLimit(
          tenantId,
          windows.day,
          demand.recipients,
          limits.perDay,
          expires(windows.dayEndsAt),
        ),
  ]);
  return new LimitAllowance({ messages, recipients });
}
