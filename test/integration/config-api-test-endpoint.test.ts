import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';
import { SmtpTestServers, TEST_HOST, TEST_PASSWORD, TEST_USER, type TestSmtpServer } from '../support/smtp';

// Local development settings (TENANT_SMTP_ALLOW_PRIVATE=1): the test host name resolves to 127.0.0.1 through
// the injected resolver, and the sender trusts the test CA, so the certificate is checked against the name.
const WRONG_PASSWORD = 'pw-Wrong-guess&1';

let api: ConfigApiFixture;
const servers = new SmtpTestServers();
let good: TestSmtpServer;
let wrongCert: TestSmtpServer;
let echo: TestSmtpServer;
let silent: TestSmtpServer;
let closedPort: number;

beforeAll(async () => {
  api = await startConfigApiFixture({ allowPrivateSmtp: true, testBudgetMs: 4_000 });
  [good, wrongCert, echo, silent, closedPort] = await Promise.all([
    servers.start(),
    servers.start({ wrongCertificate: true }),
    // Echoes the password it was sent, and changed: cut, upper-cased, spaced out.
    servers.start({
      authRefusal: (pw) =>
        `5.7.8 partial=${pw.slice(0, -1)} upper=${pw.toUpperCase()} spaced=${pw.split('').join(' ')} (${pw})`,
    }),
    servers.startSilent(),
    servers.closedPort(),
  ]);
});

afterAll(async () => {
  await servers.closeAll();
  await api?.close();
});

const config = (port: number, over: Record<string, unknown> = {}) => ({
  mode: 'smtp',
  smtp: {
    host: TEST_HOST,
    port,
    security: 'starttls',
    username: TEST_USER,
    password: TEST_PASSWORD,
    fromAddress: 'notifications@tenant.test',
    fromName: 'Tenant "Test"',
    ...over,
  },
});

async function test(tenantId: string, body: unknown) {
  return api.call('POST', `/tenants/${tenantId}/sender/test`, { token: await api.token(tenantId), body });
}

describe('config API: sender test', () => {
  it('passes for a good server with an unsaved config, without sending mail or storing anything', async () => {
    // Act
    const res = await test('acme', config(good.port));

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, durationMs: expect.any(Number) });
    expect(good.received).toHaveLength(0);
    expect(await api.store.getSender('acme')).toBeNull();
  });

  it('tests the stored config with an empty body, decrypting its password', async () => {
    // Prepare
    const put = await api.call('PUT', '/tenants/acme/sender', {
      token: await api.token('acme'),
      body: config(good.port),
    });

    // Act
    const res = await test('acme', {});

    // Assess
    expect(put.status).toBe(200);
    expect(res.body).toEqual({ ok: true, durationMs: expect.any(Number) });
  });

  it('uses the stored password for an unsaved config on the same server, and asks for it on another', async () => {
    // Prepare
    const { password: _omitted, ...samePlace } = config(good.port, { fromName: 'Changed' }).smtp;
    const { password: _too, ...otherPort } = config(echo.port).smtp;
    const { password: _three, ...otherHost } = config(good.port, { host: '127.0.0.1' }).smtp;

    // Act
    const same = await test('acme', { mode: 'smtp', smtp: samePlace });
    const movedPort = await test('acme', { mode: 'smtp', smtp: otherPort });
    const movedHost = await test('acme', { mode: 'smtp', smtp: otherHost });

    // Assess
    expect(same.body).toEqual({ ok: true, durationMs: expect.any(Number) });
    for (const moved of [movedPort, movedHost]) {
      expect(moved.status).toBe(422);
      expect(moved.body).toMatchObject({ error: { code: 'password-required', field: 'smtp.password' } });
    }
    expect(echo.connections()).toBe(0);
  });

  it('reports a wrong password as an auth failure', async () => {
    // Act
    const res = await test('acme', config(good.port, { password: WRONG_PASSWORD }));

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: false,
      class: 'auth',
      code: 'EAUTH',
      phase: 'AUTH',
      message: expect.stringContaining('535'),
      durationMs: expect.any(Number),
    });
  });

  it('never answers with a password a hostile server echoes back', async () => {
    // Act
    const res = await test('acme', config(echo.port, { password: WRONG_PASSWORD }));

    // Assess
    expect(res.body).toMatchObject({ ok: false, class: 'auth', phase: 'AUTH' });
    expect(res.body).toMatchObject({ message: '535 5.7.8 authentication credentials invalid' });
    expect(await api.leaks([WRONG_PASSWORD])).toEqual([]);
    expect(echo.connections()).toBe(1);
  });

  it('reports a refused port as a connection failure', async () => {
    // Act
    const res = await test('acme', config(closedPort));

    // Assess
    expect(res.body).toMatchObject({
      ok: false,
      class: 'connection',
      code: 'ECONNREFUSED',
      phase: 'CONNECT',
    });
  });

  it('reports a certificate for another name as a TLS failure', async () => {
    // Act
    const res = await test('acme', config(wrongCert.port));

    // Assess
    expect(res.body).toMatchObject({ ok: false, class: 'tls', phase: 'STARTTLS' });
    expect(wrongCert.received).toHaveLength(0);
  });

  it('gives up on a silent server within its own timeouts', async () => {
    // Act
    const res = await test('acme', config(silent.port));

    // Assess
    expect(res.body).toMatchObject({ ok: false, class: 'connection', code: 'ETIMEDOUT' });
    expect((res.body as { durationMs: number }).durationMs).toBeLessThan(4_500);
  });

  it('reports a ciphertext copied from another tenant as a credentials failure', async () => {
    // Prepare: acme's SENDER item copied onto tenant "copycat".
    const acme = await api.store.getSender('acme');
    await api.dynamo.doc.send(
      new PutCommand({
        TableName: api.dynamo.tableName,
        Item: { ...acme, tenantId: 'copycat', pk: 'TENANT#copycat', sk: 'SENDER' },
      }),
    );
    const before = good.connections();

    // Act
    const res = await test('copycat', {});

    // Assess
    expect(res.body).toMatchObject({ ok: false, class: 'credentials', phase: 'DECRYPT' });
    expect(good.connections()).toBe(before);
  });

  it('still refuses the metadata address before any connection in local development', async () => {
    // Act
    const res = await test('acme', config(good.port, { host: '169.254.169.254' }));

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.host' } });
  });

  it.each([
    ['nothing stored and no config', 'nobody', {}, undefined],
    [
      'a domain-mode body',
      'acme',
      { mode: 'domain', domain: { name: 'a.example', fromAddress: 'x@a.example' } },
      'mode',
    ],
    ['a platform-mode body', 'acme', { mode: 'platform' }, 'mode'],
    ['an unknown key beside sendTo', 'acme', { sendTo: 'ops@tenant.test', smtp: {} }, 'smtp'],
    ['a bad sendTo', 'acme', { sendTo: 'ops at tenant' }, 'sendTo'],
  ])('answers %s with 422 validation', async (_name, tenantId, body, field) => {
    // Act
    const res = await test(tenantId, body);

    // Assess
    expect(res.status).toBe(422);
    expect((res.body as { error: { code: string; field?: string } }).error).toMatchObject({
      code: 'validation',
    });
    expect((res.body as { error: { field?: string } }).error.field).toBe(field);
  });

  it('answers 422 validation for a stored config that is not smtp', async () => {
    // Prepare
    const token = await api.token('domainco');
    await api.call('PUT', '/tenants/domainco/sender', {
      token,
      body: { mode: 'domain', domain: { name: 'domainco.example', fromAddress: 'hi@domainco.example' } },
    });

    // Act
    const res = await test('domainco', {});

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'validation', field: 'mode' } });
  });
});

describe('config API: sender test with sendTo', () => {
  it('sends one real test message through the tenant server', async () => {
    // Prepare
    const before = good.received.length;

    // Act
    const res = await test('acme', { ...config(good.port), sendTo: 'ops@tenant.test' });

    // Assess
    expect(res.body).toEqual({ ok: true, durationMs: expect.any(Number) });
    expect(good.received).toHaveLength(before + 1);
    const mail = good.received.at(-1);
    expect(mail?.to).toEqual(['ops@tenant.test']);
    expect(mail?.from).toBe('notifications@tenant.test');
    expect(mail?.user).toBe(TEST_USER);
    expect(mail?.secure).toBe(true);
    expect(mail?.raw.toString('utf8')).toMatch(/^From: "Tenant \\"Test\\"" <notifications@tenant\.test>\r$/m);
    // Machine-made (RFC 3834): a vacation responder at sendTo must not answer the tenant's address.
    expect(mail?.raw.toString('utf8')).toMatch(/^Auto-Submitted: auto-generated\r$/m);
  });

  it('allows 5 test messages per tenant per minute and answers the 6th with 429', async () => {
    // Prepare: start at the beginning of a window, so all six fall in the same one.
    api.clock.set(Date.UTC(2030, 5, 1, 12, 0, 0));
    const body = { sendTo: 'ops@tenant.test' };
    const token = await api.token('ratey');
    await api.call('PUT', '/tenants/ratey/sender', { token, body: config(good.port) });
    const before = good.received.length;

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await test('ratey', body)).status);
    const sixth = await test('ratey', body);
    const received = good.received.length;
    const otherTenant = await test('acme', body);

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(sixth.status).toBe(429);
    expect(sixth.body).toEqual({ error: { code: 'rate-limited', message: expect.any(String) } });
    expect(sixth.headers.get('retry-after')).toBe('60');
    expect(received).toBe(before + 5);
    expect(otherTenant.status).toBe(200);
  });

  it('bounds every test (a login each) to 30 per tenant per minute: no password guessing through it', async () => {
    // Prepare: a fresh window; every guess is an unsaved config with another password.
    api.clock.set(Date.UTC(2030, 6, 1, 12, 0, 0));
    const guess = (i: number) => config(good.port, { password: `guess-${i}` });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await test('bruteco', guess(i))).status);
    const connectionsBefore = good.connections();
    const refused = await test('bruteco', guess(30));

    // Assess
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'rate-limited', message: expect.any(String) } });
    expect(good.connections()).toBe(connectionsBefore);
  });

  it('lets a tenant test without sendTo while rate limited', async () => {
    // Act
    const res = await test('ratey', {});

    // Assess
    expect(res.body).toEqual({ ok: true, durationMs: expect.any(Number) });
  });
});

describe('config API: test suite contract and secrets', () => {
  it('answered every request as documented and leaked no password', async () => {
    expect(api.contractViolations()).toEqual([]);
    expect(await api.leaks([TEST_PASSWORD, WRONG_PASSWORD])).toEqual([]);
  });
});
