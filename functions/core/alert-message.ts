/**
 * What travels on the alerts queue (issue 14): a whole event, or the digest of one dead-letter window
 * (sent when the window's first dead letter is counted, read when the window has closed). Pure.
 */
import { z } from 'zod';
import { ALERT_EVENT_TYPES, type AlertEvent, EVENT_ID_PATTERN } from './alerts';

export type AlertMessage =
  | { v: 1; kind: 'event'; event: AlertEvent }
  | { v: 1; kind: 'dead-letter-digest'; tenantId: string; windowStart: number };

const tenantId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

const schema = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('event'),
    event: z.object({
      id: z.string().regex(EVENT_ID_PATTERN),
      type: z.enum(ALERT_EVENT_TYPES),
      tenantId,
      createdAt: z.iso.datetime(),
      data: z.record(z.string(), z.unknown()),
    }),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('dead-letter-digest'),
    tenantId,
    windowStart: z.number().int().nonnegative(),
  }),
]);

/** Parses an alerts-queue body; null for anything that is not one (it is dropped with a log line). */
export function parseAlertMessage(body: string): AlertMessage | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? (parsed.data as AlertMessage) : null;
}

/** Whether an event's data still lacks the outage counts the notifier fills in from the delivery log. */
export function needsOutageCounts(event: AlertEvent): boolean {
  return (
    (event.type === 'sender.recovered' || event.type === 'sender.still-unhealthy') &&
    typeof (event.data as { messagesViaFallback?: unknown }).messagesViaFallback !== 'number'
  );
}
