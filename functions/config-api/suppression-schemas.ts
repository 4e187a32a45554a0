import { z } from 'zod';
import { SUPPRESSION_REASONS, SUPPRESSION_SOURCES } from '../core/suppression';

/**
 * Bodies of the suppression routes (docs/design.md §19 Delivery events and suppression): parsed with
 * these, answered to these, documented from these (openapi.ts).
 */

/** PUT takes an empty object: the entry is always `manual`, from `api`. */
export const putSuppressionBodySchema = z.strictObject({});

export const suppressionViewSchema = z.strictObject({
  address: z.string(),
  reason: z.enum(SUPPRESSION_REASONS),
  source: z.enum(SUPPRESSION_SOURCES),
  at: z.iso.datetime(),
  /** The delivery (idempotency key) whose outcome suppressed the address. */
  messageId: z.string().optional(),
  /** The bounce or the server's refusal. */
  detail: z.string().optional(),
});
export type SuppressionView = z.infer<typeof suppressionViewSchema>;

export const suppressionsPageSchema = z.strictObject({
  items: z.array(suppressionViewSchema),
  cursor: z.string().nullable(),
});
