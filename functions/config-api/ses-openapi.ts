import type { Operation } from './openapi';

/** The admin SES tenant routes in the OpenAPI document (docs/design.md §20); bodies from ses-schemas.ts. */
export const SES_OPERATIONS: Record<string, Operation> = {
  'GET /tenants/{tenantId}/ses': {
    summary:
      'The tenant’s SES tenant (tm-<tenantId>): its sending status, reputation policy and the impact of ' +
      'its open reputation findings. Admin scope only.',
    ok: { status: '200', description: 'The SES tenant as SES reports it.', body: 'SesTenant' },
    errors: { '403': '`forbidden`: the caller lacks the admin scope.' },
  },
  'PUT /tenants/{tenantId}/ses': {
    summary:
      'Sets the reputation policy of the tenant’s SES tenant (none, standard, strict), making the SES ' +
      'tenant first when it does not exist yet. Admin scope only.',
    ok: { status: '200', description: 'The SES tenant after the change.', body: 'SesTenant' },
    request: 'SesPut',
    errors: {
      '400': '`bad-request`: the body is not JSON.',
      '403': '`forbidden`: the caller lacks the admin scope.',
      '422': '`validation`: `reputationPolicy` is not none, standard or strict.',
    },
  },
};
