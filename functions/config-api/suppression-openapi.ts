import type { Operation } from './openapi';

/** The suppression routes in the OpenAPI document (docs/design.md §19); bodies from suppression-schemas.ts. */
export const SUPPRESSION_OPERATIONS: Record<string, Operation> = {
  'GET /tenants/{tenantId}/suppressions': {
    summary: 'The tenant’s suppressed addresses (bounces, complaints, manual), in address order.',
    ok: { status: '200', description: 'One page; `cursor` null on the last.', body: 'SuppressionsPage' },
    errors: { '400': '`bad-request`: limit not an integer 1..100, or a cursor not from this listing.' },
    query: true,
  },
  'GET /tenants/{tenantId}/suppressions/{address}': {
    summary: 'One suppressed address.',
    ok: { status: '200', description: 'The entry.', body: 'Suppression' },
  },
  'PUT /tenants/{tenantId}/suppressions/{address}': {
    summary: 'Suppresses an address by hand (reason `manual`, source `api`); replaces an existing entry.',
    ok: { status: '200', description: 'The stored entry.', body: 'Suppression' },
    request: 'SuppressionPut',
    optionalBody: true,
    errors: {
      '400': '`bad-request`: the body is not JSON.',
      '422': '`validation`: the body is not `{}`, or the address is not a bare address (field `address`).',
    },
  },
  'DELETE /tenants/{tenantId}/suppressions/{address}': {
    summary: 'Removes an address from the list: the tenant mails it again.',
    ok: { status: '204', description: 'Deleted.' },
  },
};
