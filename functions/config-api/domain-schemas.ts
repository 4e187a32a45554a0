import { z } from 'zod';

/** Answers of the domain routes (contract, "Domains"); the OpenAPI document is derived from these. */

const check = z.enum(['pending', 'success', 'failed']);

export const domainViewSchema = z.object({
  domain: z.string().describe('The domain, lower case, IDN as punycode.'),
  status: z
    .enum(['pending', 'verified', 'failed', 'expired'])
    .describe(
      'verified: SES may send from it (kept through SES temporary DNS failures); failed: SES said FAILED or the identity is gone (PUT starts over); expired: pending for more than 72 h.',
    ),
  dkim: check,
  mailFrom: check,
  dnsRecords: z
    .array(
      z.object({
        type: z.enum(['CNAME', 'MX', 'TXT']),
        name: z.string(),
        value: z.string(),
        purpose: z.enum(['dkim', 'mail-from', 'dmarc']),
        optional: z.boolean().optional(),
      }),
    )
    .describe('What the domain owner publishes in DNS: 3 DKIM CNAMEs, the MAIL FROM MX and SPF, DMARC.'),
  createdAt: z.string(),
  verifiedAt: z.string().nullable(),
  expiresAt: z.string().nullable().describe('Until when a pending claim holds the name (72 h).'),
});
export type DomainView = z.infer<typeof domainViewSchema>;

export const domainListSchema = z.object({ items: z.array(domainViewSchema) });
