import { describe, expect, it } from 'vitest';
import { authorizeTenant, callerOf, scopesOf } from '../../functions/config-api/authz';
import { ForbiddenError, UnauthorizedError } from '../../functions/config-api/errors';

const ctx = (claims: Record<string, unknown> | null | undefined, scopes?: unknown) => ({
  authorizer: { jwt: { claims, scopes } },
});

describe('config API authorization', () => {
  it.each([
    ['a space-separated scope claim', ctx({ tenant_id: 'acme', scope: 'openid mailer/admin' })],
    ['the authorizer scopes array', ctx({ tenant_id: 'acme' }, ['openid', 'mailer/admin'])],
    [
      'an array claim as API Gateway stringifies it',
      ctx({ tenant_id: 'acme', scope: '[openid mailer/admin]' }),
    ],
    ['an scp claim', ctx({ tenant_id: 'acme', scp: 'mailer/admin' })],
  ])('finds the admin scope in %s', (_name, context) => {
    // Act
    const caller = callerOf(context);

    // Assess
    expect(caller).toEqual({ tenantId: 'acme', admin: true });
    expect(() => authorizeTenant(caller, 'globex')).not.toThrow();
  });

  it('lets a tenant act on itself only', () => {
    // Prepare
    const caller = callerOf(ctx({ tenant_id: 'acme', scope: 'openid' }, null));

    // Act / Assess
    expect(caller.admin).toBe(false);
    expect(() => authorizeTenant(caller, 'acme')).not.toThrow();
    expect(() => authorizeTenant(caller, 'globex')).toThrow(ForbiddenError);
  });

  it('does not take a look-alike scope for the admin scope', () => {
    // Prepare
    const context = ctx({ tenant_id: 'acme', scope: 'mailer/admins xmailer/admin mailer/admin/x' });

    // Act / Assess
    expect(callerOf(context).admin).toBe(false);
    expect(scopesOf(context)).toHaveLength(3);
  });

  it.each([
    ['no authorizer', {}],
    ['no claims', ctx(undefined)],
    ['null claims', ctx(null)],
    ['no tenant_id', ctx({ sub: 'x', scope: 'openid' })],
    ['an empty tenant_id', ctx({ tenant_id: '', scope: 'openid' })],
    ['a non-string tenant_id', ctx({ tenant_id: 7 })],
  ])('answers 401 for %s', (_name, context) => {
    // Act / Assess
    expect(() => callerOf(context)).toThrow(UnauthorizedError);
  });

  it('lets an admin token without tenant_id act on any tenant', () => {
    // Act
    const caller = callerOf(ctx({ scope: 'mailer/admin' }));

    // Assess
    expect(caller).toEqual({ tenantId: undefined, admin: true });
    expect(() => authorizeTenant(caller, 'initech')).not.toThrow();
  });
});
