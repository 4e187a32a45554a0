import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApiGateway, startLocalApiGateway } from '../../infra/local/api-gateway';
import {
  createLocalIssuer,
  LOCAL_ALG,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  type LocalIssuer,
} from '../../infra/local/jwt';

let issuer: LocalIssuer;
let gateway: LocalApiGateway;
const seen: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];

beforeAll(async () => {
  issuer = await createLocalIssuer();
  gateway = await startLocalApiGateway({
    verify: issuer.verify,
    handler: async (event, context) => {
      seen.push(event);
      if (event.rawPath.endsWith('/boom')) throw new Error('boom');
      return {
        statusCode: 200,
        headers: { 'x-remaining': String(context.getRemainingTimeInMillis() > 0) },
        body: JSON.stringify({ routeKey: event.routeKey, params: event.pathParameters ?? null }),
      };
    },
  });
});

afterAll(async () => {
  await gateway.close();
});

function call(path: string, init: RequestInit = {}) {
  return fetch(`${gateway.url}${path}`, init);
}

async function forged(claims: Record<string, unknown>, build?: (jwt: SignJWT) => SignJWT) {
  const base = new SignJWT({ tenant_id: 'acme', ...claims })
    .setProtectedHeader({ alg: LOCAL_ALG })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h');
  return (build ? build(base) : base).sign(issuer.signingKey);
}

describe('local HTTP API gateway', () => {
  it('passes a valid token through as a payload 2.0 event with string claims and scopes', async () => {
    const token = await issuer.token('acme', { admin: true });
    const before = seen.length;
    const res = await call('/tenants/acme/deliveries?limit=5', {
      headers: { authorization: `Bearer ${token}` },
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      routeKey: 'GET /tenants/{tenantId}/deliveries',
      params: { tenantId: 'acme' },
    });
    const event = seen[before];
    expect(event?.version).toBe('2.0');
    expect(event?.queryStringParameters).toEqual({ limit: '5' });
    expect(event?.requestContext.authorizer.jwt.claims.tenant_id).toBe('acme');
    expect(typeof event?.requestContext.authorizer.jwt.claims.exp).toBe('string');
    expect(event?.requestContext.authorizer.jwt.scopes).toEqual(['openid', 'mailer/admin']);
  });

  it('serves the public route without a token', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { routeKey: string }).routeKey).toBe('GET /openapi.json');
  });

  it.each([
    ['no header', async () => undefined],
    ['not a bearer', async () => 'Basic abc'],
    ['garbage', async () => 'Bearer not.a.jwt'],
    [
      'expired',
      async () =>
        `Bearer ${await forged({}, (j) => j.setExpirationTime(Math.floor(Date.now() / 1000) - 60))}`,
    ],
    [
      'no exp',
      async () => {
        const jwt = await new SignJWT({ tenant_id: 'acme' })
          .setProtectedHeader({ alg: LOCAL_ALG })
          .setIssuer(LOCAL_ISSUER)
          .setAudience(LOCAL_AUDIENCE)
          .setIssuedAt()
          .sign(issuer.signingKey);
        return `Bearer ${jwt}`;
      },
    ],
    ['wrong issuer', async () => `Bearer ${await forged({}, (j) => j.setIssuer('https://evil.example'))}`],
    ['wrong audience', async () => `Bearer ${await forged({}, (j) => j.setAudience('other-api'))}`],
    [
      'forged signature',
      async () => {
        const { privateKey } = await generateKeyPair(LOCAL_ALG);
        const jwt = await new SignJWT({ tenant_id: 'acme' })
          .setProtectedHeader({ alg: LOCAL_ALG })
          .setIssuer(LOCAL_ISSUER)
          .setAudience(LOCAL_AUDIENCE)
          .setExpirationTime('1h')
          .sign(privateKey);
        return `Bearer ${jwt}`;
      },
    ],
    [
      'alg none',
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const payload = { tenant_id: 'acme', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp };
        return `Bearer ${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`;
      },
    ],
  ])('answers 401 with API Gateway’s body for %s, without invoking the handler', async (_name, header) => {
    const before = seen.length;
    const value = await header();
    const res = await call('/tenants/acme/sender', value ? { headers: { authorization: value } } : {});

    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
    expect(seen.length).toBe(before);
  });

  it('answers 404 for an unknown route and 500 when the function throws', async () => {
    const token = await issuer.token('acme');
    expect((await call('/nope')).status).toBe(404);
    const res = await call('/tenants/acme/deliveries/boom', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('passes the body and decodes path parameters', async () => {
    const token = await issuer.token('acme');
    const before = seen.length;
    const res = await call('/tenants/acme/deliveries/a%40b', {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(seen[before]?.pathParameters).toEqual({ tenantId: 'acme', messageId: 'a@b' });
    const put = await call('/tenants/acme/sender', {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"mode":"platform"}',
    });
    expect(put.status).toBe(200);
    expect(seen.at(-1)?.body).toBe('{"mode":"platform"}');
  });
});
