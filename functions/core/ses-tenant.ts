/** Every SES tenant tenant-mailer makes is named with this prefix (IAM grants match `tm-*`). */
export const SES_TENANT_PREFIX = 'tm-';
/** SES tenant names: at most 64 letters, digits, `-` and `_`. */
const MAX_LENGTH = 64;

/**
 * The SES tenant that carries a tenant-mailer tenant's reputation (contract, "SES tenants"): `tm-<tenantId>`.
 * Tenant ids may be 64 characters long, SES tenant names not longer than 64 in all: a longer id keeps its
 * first 52 characters and adds a hash of the whole id, so two long ids never share a name by their prefix.
 */
export function sesTenantName(tenantId: string): string {
  const name = `${SES_TENANT_PREFIX}${tenantId}`;
  if (name.length <= MAX_LENGTH) return name;
  return `${SES_TENANT_PREFIX}${tenantId.slice(0, MAX_LENGTH - SES_TENANT_PREFIX.length - 9)}-${fnv1a(tenantId)}`;
}

/** 32-bit FNV-1a as 8 hex digits: stable across runtimes, no I/O. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
