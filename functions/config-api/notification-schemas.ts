import { z } from 'zod';
import { ALERT_EVENT_TYPES, MAX_WEBHOOK_URL_CHARS, SUBSCRIBABLE_EVENT_TYPES } from '../core/alerts';

/**
 * Bodies of the tenant alert routes (issue 14): parsed with these, answered to these, and documented
 * from these (openapi.ts). No transforms, so each is representable in JSON Schema.
 */

const subscribable = z.enum(SUBSCRIBABLE_EVENT_TYPES as [string, ...string[]]);
const isoTime = z.iso.datetime();

export const putNotificationsBodySchema = z.strictObject({
  emails: z.array(z.email().max(254)).max(5),
  webhook: z
    .strictObject({
      url: z.string().min(1).max(MAX_WEBHOOK_URL_CHARS),
      /** Omitted: keep the stored secret (only while the URL is unchanged). */
      secret: z.string().min(16).max(256).optional(),
    })
    .nullable()
    .optional(),
  /** A subset of the event types; default all. */
  events: z.array(subscribable).min(1).optional(),
});
export type PutNotificationsBody = z.infer<typeof putNotificationsBodySchema>;

export const notificationsViewSchema = z.strictObject({
  emails: z.array(z.string()),
  webhook: z.strictObject({ url: z.string(), secretSet: z.literal(true) }).nullable(),
  events: z.array(subscribable),
  version: z.number().int().min(0),
  updatedAt: isoTime.optional(),
});
export type NotificationsView = z.infer<typeof notificationsViewSchema>;

export const notificationTestResultSchema = z.strictObject({
  results: z.array(
    z.strictObject({
      channel: z.enum(['email', 'webhook']),
      target: z.string(),
      ok: z.boolean(),
      status: z.number().int().optional(),
      message: z.string(),
    }),
  ),
});

export const notificationLogPageSchema = z.strictObject({
  items: z.array(
    z.strictObject({
      at: isoTime,
      eventId: z.string(),
      type: z.enum(ALERT_EVENT_TYPES),
      channel: z.enum(['email', 'webhook']),
      target: z.string(),
      ok: z.boolean(),
      status: z.number().int().optional(),
      attempts: z.number().int().min(1),
    }),
  ),
  cursor: z.string().nullable(),
});
