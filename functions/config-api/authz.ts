import { ForbiddenError, UnauthorizedError } from './errors';
import { ADMIN_SCOPE } from './routes';

/** The part of an HTTP API payload 2.0 event's request context that carries the JWT authorizer's output. */
export interface AuthorizerContext {
  authorizer?: { jwt?: { claims?: Record<string, unknown> | null; scopes?: unknown } | null } | null;
}

export interface Caller {
  /** The `tenant_id` claim; undefined for an admin token that names no tenant. */
  tenantId: string | undefined;
  admin: boolean;
}

/**
 * Scopes as API Gateway hands them over: `claims.scope` as a space-separated string (a JWT array claim
 * arrives as "[a b]"), or the authorizer's `scopes` array, or nothing.
 */
export function scopesOf(context: AuthorizerContext): string[] {
  const jwt = context.authorizer?.jwt;
  const out = new Set<string>();
  if (Array.isArray(jwt?.scopes)) {
    for (const s of jwt.scopes) if (typeof s === 'string') out.add(s);
  }
  for (const name of ['scope', 'scp']) {
    const raw = jwt?.claims?.[name];
    if (typeof raw !== 'string') continue;
    const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    for (const s of bare.split(/[\s,]+/)) if (s) out.add(s);
  }
  return [...out];
}

/** Who is calling, from the JWT claims; 401 when there are none to act on. */
export function callerOf(context: AuthorizerContext): Caller {
  const claims = context.authorizer?.jwt?.claims;
  if (!claims || typeof claims !== 'object') throw new UnauthorizedError();
  const raw = claims.tenant_id;
  const tenantId = typeof raw === 'string' && raw !== '' ? raw : undefined;
  const admin = scopesOf(context).includes(ADMIN_SCOPE);
  if (tenantId === undefined && !admin) throw new UnauthorizedError('token carries no tenant_id claim');
  return { tenantId, admin };
}

/** Throws 403 unless the caller may act on `tenantId` (its own tenant, or any with the admin scope). */
export function authorizeTenant(caller: Caller, tenantId: string): void {
  if (caller.admin) return;
  if (caller.tenantId !== tenantId) throw new ForbiddenError();
}
