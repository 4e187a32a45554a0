import { z } from 'zod';
import { REPUTATION_POLICIES } from '../core/ports';

/** Bodies of the admin SES tenant routes (docs/design.md §20): parsed, answered and documented from these. */

export const putSesBodySchema = z.strictObject({
  reputationPolicy: z.enum(REPUTATION_POLICIES),
});

export const sesTenantViewSchema = z.strictObject({
  tenantName: z.string(),
  sendingStatus: z.string(),
  reputationPolicy: z.enum(REPUTATION_POLICIES).nullable(),
  reputationImpact: z.string().nullable(),
});
export type SesTenantView = z.infer<typeof sesTenantViewSchema>;
