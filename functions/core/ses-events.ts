/**
 * SES event publishing records (the JSON a configuration set's SNS destination publishes, delivered raw
 * to SQS) and what they mean for us (docs/design.md §19 Delivery events and suppression). Pure.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type DeliveryRef, deliveryRefFromTags } from './delivery-tags';
import {
  type DeliveryEvent,
  type Suppression,
  type SuppressionReason,
  suppressionAddress,
  suppressionDetail,
} from './suppression';

const recipient = z.object({ emailAddress: z.string().min(1) }).loose();
const detailed = recipient.extend({
  status: z.string().optional(),
  diagnosticCode: z.string().optional(),
  action: z.string().optional(),
});

const mail = z
  .object({
    timestamp: z.string().min(1),
    messageId: z.string().min(1),
    destination: z.array(z.string()).optional(),
    tags: z.record(z.string(), z.array(z.string())).optional(),
  })
  .loose();

const bounce = z
  .object({
    bounceType: z.enum(['Undetermined', 'Permanent', 'Transient']),
    bounceSubType: z.string().optional(),
    bouncedRecipients: z.array(detailed).min(1),
    timestamp: z.string().min(1),
    feedbackId: z.string().min(1),
  })
  .loose();

const complaint = z
  .object({
    complainedRecipients: z.array(recipient).min(1),
    timestamp: z.string().min(1),
    feedbackId: z.string().min(1),
    complaintFeedbackType: z.string().optional(),
    complaintSubType: z.string().nullable().optional(),
  })
  .loose();

const delivery = z
  .object({
    timestamp: z.string().min(1),
    recipients: z.array(z.string()).min(1),
    smtpResponse: z.string().optional(),
  })
  .loose();

const deliveryDelay = z
  .object({
    timestamp: z.string().min(1),
    delayType: z.string().optional(),
    delayedRecipients: z.array(detailed).min(1),
    expirationTime: z.string().optional(),
  })
  .loose();

/** The event types we subscribe to (the configuration set publishes only these). */
const sesEvent = z.discriminatedUnion('eventType', [
  z.object({ eventType: z.literal('Send'), mail, send: z.object({}).loose().optional() }).loose(),
  z.object({ eventType: z.literal('Delivery'), mail, delivery }).loose(),
  z.object({ eventType: z.literal('Bounce'), mail, bounce }).loose(),
  z.object({ eventType: z.literal('Complaint'), mail, complaint }).loose(),
  z
    .object({ eventType: z.literal('Reject'), mail, reject: z.object({ reason: z.string() }).loose() })
    .loose(),
  z.object({ eventType: z.literal('DeliveryDelay'), mail, deliveryDelay }).loose(),
]);

export type SesEvent = z.infer<typeof sesEvent>;

/**
 * Why a record went to the events DLQ: not SES's shape, a type we do not take, no delivery tags, or a
 * delivery that was never recorded (after the events function's retries).
 */
export type EventDlqReason = 'malformed' | 'unknown-event' | 'untagged' | 'delivery-not-found';

/** A parsed record, or why it is not one we can use (the events DLQ's reason and detail). */
export type SesEventParse =
  | { ok: true; event: SesEvent; ref: DeliveryRef; id: string }
  | { ok: false; reason: Exclude<EventDlqReason, 'delivery-not-found'>; detail: string };

/**
 * Parses one record body. `malformed`: not JSON or not SES's shape; `unknown-event`: an event type we do
 * not subscribe to; `untagged`: a send without our delivery tags (not sent by the dispatcher).
 */
export function parseSesEvent(body: string): SesEventParse {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'body is not JSON' };
  }
  const type = (json as { eventType?: unknown } | null)?.eventType;
  if (typeof type !== 'string') return { ok: false, reason: 'malformed', detail: 'eventType missing' };
  if (!KNOWN_TYPES.has(type)) return { ok: false, reason: 'unknown-event', detail: `eventType ${type}` };
  const parsed = sesEvent.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'record';
    return { ok: false, reason: 'malformed', detail: `${type}: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  const ref = deliveryRefFromTags(parsed.data.mail.tags);
  if (!ref)
    return { ok: false, reason: 'untagged', detail: `${type} of SES message ${parsed.data.mail.messageId}` };
  return { ok: true, event: parsed.data, ref, id: sesEventId(parsed.data) };
}

const KNOWN_TYPES = new Set(['Send', 'Delivery', 'Bounce', 'Complaint', 'Reject', 'DeliveryDelay']);

/**
 * A stable id of one SES event, the same when SNS or SQS deliver it again: SES's feedbackId for bounces
 * and complaints, else a digest of the SES message id, the type and the event's own object.
 */
export function sesEventId(event: SesEvent): string {
  if (event.eventType === 'Bounce') return `bounce:${event.bounce.feedbackId}`;
  if (event.eventType === 'Complaint') return `complaint:${event.complaint.feedbackId}`;
  const own = JSON.stringify(ownObject(event) ?? null);
  const digest = createHash('sha256').update(`${event.mail.messageId}\n${event.eventType}\n${own}`);
  return `${event.eventType.toLowerCase()}:${digest.digest('base64url').slice(0, 27)}`;
}

function ownObject(event: SesEvent): unknown {
  switch (event.eventType) {
    case 'Send':
      return event.send;
    case 'Delivery':
      return event.delivery;
    case 'Reject':
      return event.reject;
    case 'DeliveryDelay':
      return event.deliveryDelay;
    case 'Bounce':
      return event.bounce;
    case 'Complaint':
      return event.complaint;
  }
}

const normal = (address: string): string => suppressionAddress(address) ?? address.toLowerCase();

/** The delivery timeline entries an event adds (one per recipient it names; none for Send). */
export function timelineEntries(event: SesEvent): DeliveryEvent[] {
  switch (event.eventType) {
    case 'Send':
      return [];
    case 'Delivery':
      return event.delivery.recipients.map((r) => ({
        type: 'delivered',
        at: event.delivery.timestamp,
        recipient: normal(r),
      }));
    case 'Bounce': {
      const { bounceType, bounceSubType, timestamp } = event.bounce;
      return event.bounce.bouncedRecipients.map((r) => ({
        type: 'bounced',
        at: timestamp,
        recipient: normal(r.emailAddress),
        detail: compact({ bounceType, bounceSubType, diagnosticCode: r.diagnosticCode }),
      }));
    }
    case 'Complaint':
      return event.complaint.complainedRecipients.map((r) => ({
        type: 'complained',
        at: event.complaint.timestamp,
        recipient: normal(r.emailAddress),
        ...(event.complaint.complaintFeedbackType !== undefined && {
          detail: { diagnosticCode: event.complaint.complaintFeedbackType },
        }),
      }));
    case 'Reject':
      return [
        {
          type: 'rejected',
          at: event.mail.timestamp,
          recipient: null,
          detail: { diagnosticCode: event.reject.reason },
        },
      ];
    case 'DeliveryDelay':
      return event.deliveryDelay.delayedRecipients.map((r) => ({
        type: 'delayed',
        at: event.deliveryDelay.timestamp,
        recipient: normal(r.emailAddress),
        detail: compact({ bounceSubType: event.deliveryDelay.delayType, diagnosticCode: r.diagnosticCode }),
      }));
  }
}

/**
 * The suppressions an event adds for the delivery's tenant: a Permanent bounce suppresses each bounced
 * recipient (reason `bounce`), any complaint each complaining recipient (`complaint`); a Transient or
 * Undetermined bounce never suppresses. Addresses that do not normalise are left out.
 */
export function suppressionsFrom(event: SesEvent, messageId: string): Suppression[] {
  const make = (address: string, reason: SuppressionReason, at: string, detail: string) => {
    const key = suppressionAddress(address);
    if (key === null) return [];
    return [
      { address: key, reason, source: 'ses' as const, at, messageId, detail: suppressionDetail(detail) },
    ];
  };
  if (event.eventType === 'Bounce' && event.bounce.bounceType === 'Permanent') {
    const { bounceSubType, timestamp } = event.bounce;
    return event.bounce.bouncedRecipients.flatMap((r) =>
      make(r.emailAddress, 'bounce', timestamp, detailText(['Permanent', bounceSubType, r.diagnosticCode])),
    );
  }
  if (event.eventType === 'Complaint') {
    const { timestamp, complaintFeedbackType } = event.complaint;
    return event.complaint.complainedRecipients.flatMap((r) =>
      make(r.emailAddress, 'complaint', timestamp, detailText(['complaint', complaintFeedbackType])),
    );
  }
  return [];
}

function detailText(parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => !!p).join(': ');
}

function compact(detail: Record<string, string | undefined>): DeliveryEvent['detail'] {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(detail)) if (v !== undefined) out[k] = v;
  return out;
}
