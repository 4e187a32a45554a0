import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { Clock } from '../../functions/core/types';
import type { LocalSes } from './ses';

/** Counts SDK commands by name on a client (middleware), e.g. counts.QueryCommand. */
export function countCommands(client: {
  middlewareStack: {
    add: (
      mw: (next: (args: unknown) => unknown, ctx: { commandName?: string }) => unknown,
      opts: object,
    ) => void;
  };
}): Record<string, number> {
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, ctx) => (args: unknown) => {
      const name = ctx.commandName ?? 'unknown';
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: `count-${Math.random()}` },
  );
  return counts;
}

/** A hook on every SES SendEmail request: returns an error to throw in place of the call, or nothing. */
export type SesHook = (input: SendEmailCommandInput) => Error | undefined;

/**
 * Records every SES SendEmail request (what SES was asked, e.g. its Destination) and lets a test make
 * chosen requests fail with an SDK error before they leave the client.
 */
export function watchSes(client: LocalSes['client']): {
  requests: SendEmailCommandInput[];
  hook: { fn?: SesHook };
} {
  const requests: SendEmailCommandInput[] = [];
  const hook: { fn?: SesHook } = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendEmailCommand') return next(args);
      const input = args.input as SendEmailCommandInput;
      requests.push(input);
      const error = hook.fn?.(input);
      if (error) throw error;
      return next(args);
    },
    { step: 'initialize', name: 'watch-ses' },
  );
  return { requests, hook };
}

/** The tenantId tag of an SES request (the dispatcher tags every send). */
export function sesTenant(input: SendEmailCommandInput): string | undefined {
  return input.EmailTags?.find((tag) => tag.Name === 'tenantId')?.Value;
}

export function resetCounts(counts: Record<string, number>): void {
  for (const key of Object.keys(counts)) delete counts[key];
}

/** A clock that follows real time, shifted by hand (breaker tests jump minutes ahead). */
export function shiftableClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    shift: (ms) => {
      offset += ms;
    },
  };
}
