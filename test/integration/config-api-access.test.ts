import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/config-api/openapi';
import { LOCAL_ALG, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../infra/local/jwt';
import { type ConfigApiFixture, smtpConfigBody, useConfigApiFixture } from '../support/config-api';

// Who may call what, and how bad input is answered (real JWTs through the local gateway).
const PW1 = 'pw-Access-first!2';
const PW_GLOBEX = 'pw-Globex-only#3';

let api: ConfigApiFixture;
let acme: string;
let globex: string;
let admin: string;

const smtpBody = (over: Record<string, unknown> = {}) => smtpConfigBody(PW1, over);

useConfigApiFixture((session) => {
  ({ api, acme, globex, admin } = session);
});

describe('config API: bad input', () => {
  it.each([
    ['malformed JSON', `{"mode":"smtp","smtp":{"password":"${PW1}"`, 400, 'bad-request', '(body)'],
    ['no body', '', 400, 'bad-request', '(body)'],
    ['a JSON string', '"platform"', 422, 'validation', '(body)'],
    ['an unknown mode', '{"mode":"ses"}', 422, 'validation', 'mode'],
    ['fallback outside smtp mode', '{"mode":"platform","fallback":"hold"}', 422, 'validation', 'fallback'],
    ['an unknown key', JSON.stringify(smtpBody({ password: PW1, tls: true })), 422, 'validation', 'smtp.tls'],
    ['a string port', JSON.stringify(smtpBody({ port: '587' })), 422, 'validation', 'smtp.port'],
    ['security none', JSON.stringify(smtpBody({ security: 'none' })), 422, 'validation', 'smtp.security'],
    [
      'a CRLF in fromName',
      JSON.stringify(smtpBody({ fromName: 'A\r\nBcc: x@evil.example' })),
      422,
      'validation',
      'smtp.fromName',
    ],
    [
      'an unresolvable host',
      JSON.stringify(smtpBody({ host: 'nowhere.acme.example' })),
      422,
      'dns-failure',
      'smtp.host',
    ],
  ])('answers %s with %i %s', async (_name, raw, status, code, field) => {
    // Act
    const res = await api.call('PUT', '/tenants/globex/sender', { token: globex, raw });

    // Assess
    expect(res.status).toBe(status);
    const error = (res.body as { error: Record<string, unknown> }).error;
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(typeof error.message).toBe('string');
  });

  it('answers an invalid tenant id in the path with 404', async () => {
    // Act
    const res = await api.call('GET', '/tenants/Acme%20Corp/sender', { token: admin });

    // Assess
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'not-found', field: 'tenantId' } });
  });
});

describe('config API: authorization', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/tenants/globex/sender'],
    ['PUT', '/tenants/globex/sender', { mode: 'platform' }],
    ['DELETE', '/tenants/globex/sender'],
    ['POST', '/tenants/globex/sender/test', {}],
    ['GET', '/tenants/globex/health'],
    ['GET', '/tenants/globex/deliveries'],
    ['GET', '/tenants/globex/deliveries/m-1'],
  ];

  it.each(routes)('answers %s %s with another tenant’s token with 403', async (method, path, body) => {
    // Act
    const res = await api.call(method, path, { token: acme, body });

    // Assess
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
  });

  it('lets the admin scope act on any tenant', async () => {
    // Act
    const put = await api.call('PUT', '/tenants/globex/sender', {
      token: admin,
      body: smtpBody({ host: 'smtp.globex.example', password: PW_GLOBEX, username: 'g@globex.example' }),
    });
    const get = await api.call('GET', '/tenants/globex/sender', { token: admin });

    // Assess
    expect(put.status).toBe(200);
    expect(get.body).toMatchObject({ mode: 'smtp', smtp: { host: 'smtp.globex.example' } });
  });

  it('never invokes the API for a token signed by another key (gateway 401)', async () => {
    // Prepare
    const { privateKey } = await generateKeyPair(LOCAL_ALG);
    const forged = await new SignJWT({ tenant_id: 'globex', scope: 'mailer/admin' })
      .setProtectedHeader({ alg: LOCAL_ALG })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setExpirationTime('1h')
      .sign(privateKey);
    const before = api.logs.length;

    // Act
    const res = await api.call('DELETE', '/tenants/globex/sender', { token: forged });

    // Assess
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
    expect(api.logs.slice(before).join('')).not.toContain('config API request');
    expect((await api.call('GET', '/tenants/globex/sender', { token: admin })).body).toMatchObject({
      mode: 'smtp',
    });
  });

  it('answers a valid token without tenant_id (and no admin scope) with 401 unauthorized', async () => {
    // Prepare
    const token = await new SignJWT({ scope: 'openid' })
      .setProtectedHeader({ alg: LOCAL_ALG })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setExpirationTime('1h')
      .sign(api.issuer.signingKey);

    // Act
    const res = await api.call('GET', '/tenants/acme/sender', { token });

    // Assess
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('serves the OpenAPI document without a token', async () => {
    // Act
    const res = await api.call('GET', '/openapi.json', { token: null });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual(openApiDocument());
  });
});

describe('config API access: contract and secrets', () => {
  it('answered every request as the OpenAPI document says and leaked no password', async () => {
    expect(api.contractViolations()).toEqual([]);
    expect(await api.leaks([PW1, PW_GLOBEX])).toEqual([]);
  });
});
