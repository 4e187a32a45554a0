import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { initialHealth } from '../../functions/core/types';
import { type ConfigApiFixture, smtpConfigBody, useConfigApiFixture } from '../support/config-api';

const PW1 = 'pw-Acme-first!9';
const PW2 = 'pw-Acme-second!7';
const PW_GLOBEX = 'pw-Globex-only#3';

let api: ConfigApiFixture;
let acme: string;
let globex: string;
let admin: string;

const smtpBody = (over: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  smtpConfigBody(PW1, { fromName: 'Acme', ...over }, extra);

const withoutPassword = (over: Record<string, unknown> = {}) => {
  const body = smtpBody(over);
  const { password: _omitted, ...smtp } = body.smtp;
  return { ...body, smtp };
};

useConfigApiFixture((session) => {
  ({ api, acme, globex, admin } = session);
});

async function storedCiphertext(tenantId: string): Promise<string | undefined> {
  const smtp = (await storedItem(tenantId, 'SENDER'))?.smtp as { passwordCiphertext?: string } | undefined;
  return smtp?.passwordCiphertext;
}

async function storedItem(tenantId: string, sk: string) {
  const out = await api.dynamo.doc.send(
    new GetCommand({ TableName: api.dynamo.tableName, Key: { pk: `TENANT#${tenantId}`, sk } }),
  );
  return out.Item;
}

describe('config API: sender config', () => {
  it('answers a tenant without config with platform mode at version 0', async () => {
    // Act
    const res = await api.call('GET', '/tenants/acme/sender', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ mode: 'platform', version: 0 });
  });

  it('stores an smtp config encrypted under the tenant context and answers it without the password', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: smtpBody({}, { fallback: 'hold' }),
    });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      mode: 'smtp',
      fallback: 'hold',
      smtp: {
        host: 'smtp.acme.example',
        port: 587,
        security: 'starttls',
        username: 'notifications@acme.example',
        passwordSet: true,
        fromAddress: 'notifications@acme.example',
        fromName: 'Acme',
      },
      version: 1,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    const ciphertext = (await storedCiphertext('acme')) ?? '';
    expect(ciphertext).not.toBe('');
    expect(await api.cipher.decryptPassword('acme', ciphertext)).toBe(PW1);
    await expect(api.cipher.decryptPassword('globex', ciphertext)).rejects.toThrow(/KMS Decrypt/);
    const get = await api.call('GET', '/tenants/acme/sender', { token: acme });
    expect(get.body).toEqual(res.body);
  });

  it('keeps the stored password when host, port and username are unchanged, and bumps the version', async () => {
    // Prepare
    const before = await storedCiphertext('acme');

    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: withoutPassword({ host: 'SMTP.ACME.EXAMPLE', fromName: 'Acme Inc' }),
    });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      version: 2,
      fallback: 'platform',
      smtp: { passwordSet: true, fromName: 'Acme Inc' },
    });
    expect(before).toBeDefined();
    expect(await storedCiphertext('acme')).toBe(before);
  });

  it.each([
    ['host', { host: 'smtp2.acme.example' }],
    ['port', { port: 465, security: 'tls' }],
    ['username', { username: 'other@acme.example' }],
  ])('asks for the password again when the %s changes', async (_name, change) => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', { token: acme, body: withoutPassword(change) });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      error: { code: 'password-required', message: expect.any(String), field: 'smtp.password' },
    });
    expect((await storedItem('acme', 'SENDER'))?.version).toBe(2);
  });

  it('asks for a password when nothing is stored', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/globex/sender', { token: globex, body: withoutPassword() });

    // Assess
    expect(res.status).toBe(422);
    expect((res.body as { error: { code: string } }).error.code).toBe('password-required');
  });

  it('resets health on PUT and answers the HEALTH item’s fields', async () => {
    // Prepare
    const failure = {
      class: 'auth' as const,
      code: 'EAUTH',
      phase: 'AUTH' as const,
      message: '535 no',
      at: '2030-01-01T00:00:00.000Z',
    };
    const unhealthy = {
      ...initialHealth(2),
      state: 'unhealthy' as const,
      backoffLevel: 2,
      retryAt: '2030-01-01T00:04:00.000Z',
      lastFailure: failure,
    };
    await api.store.writeHealth('acme', unhealthy);
    const seen = await api.call('GET', '/tenants/acme/health', { token: acme });

    // Act
    const put = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: smtpBody({ password: PW2 }),
    });
    const after = await api.call('GET', '/tenants/acme/health', { token: acme });

    // Assess
    expect(seen.body).toEqual({
      state: 'unhealthy',
      configVersion: 2,
      consecutiveFailures: 0,
      backoffLevel: 2,
      retryAt: '2030-01-01T00:04:00.000Z',
      lastFailure: failure,
      lastSuccessAt: null,
    });
    expect(put.status).toBe(200);
    expect(after.body).toEqual({
      state: 'healthy',
      configVersion: 3,
      consecutiveFailures: 0,
      backoffLevel: 0,
      retryAt: null,
      lastFailure: null,
      lastSuccessAt: null,
    });
  });

  it('answers a tenant never seen as healthy at version 0, and one with config at its version', async () => {
    // Prepare
    await api.store.putSender(
      {
        tenantId: 'legacy',
        mode: 'platform',
        fallback: 'platform',
        version: 4,
        updatedAt: '2030-01-01T00:00:00.000Z',
      },
      0,
    );

    // Act
    const never = await api.call('GET', '/tenants/initech/health', { token: admin });
    const legacy = await api.call('GET', '/tenants/legacy/health', { token: admin });

    // Assess
    expect(never.body).toMatchObject({ state: 'healthy', configVersion: 0, lastFailure: null });
    expect(legacy.body).toMatchObject({ state: 'healthy', configVersion: 4 });
  });

  it('deletes back to platform mode with a new version that never repeats, and resets health', async () => {
    // Act
    const del = await api.call('DELETE', '/tenants/acme/sender', { token: acme });
    const get = await api.call('GET', '/tenants/acme/sender', { token: acme });
    const health = await api.call('GET', '/tenants/acme/health', { token: acme });
    const again = await api.call('PUT', '/tenants/acme/sender', { token: acme, body: { mode: 'platform' } });

    // Assess
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect(get.body).toEqual({ mode: 'platform', version: 4, updatedAt: expect.any(String) });
    expect(health.body).toMatchObject({ state: 'healthy', configVersion: 4 });
    expect(again.body).toMatchObject({ mode: 'platform', version: 5 });
    expect((await storedItem('acme', 'HEALTH'))?.configVersion).toBe(5);
  });

  it('does not take a stored password across a DELETE', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', { token: acme, body: withoutPassword() });

    // Assess
    expect(res.status).toBe(422);
    expect((res.body as { error: { code: string } }).error.code).toBe('password-required');
  });
});

describe('config API: domain mode', () => {
  const domainBody = (name: string, fromAddress = `hello@${name}`) => ({
    mode: 'domain',
    domain: { name, fromAddress, fromName: 'Hello' },
  });

  it('gives a domain to one tenant only', async () => {
    // Act
    const mine = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: domainBody('acme.example'),
    });
    const theirs = await api.call('PUT', '/tenants/globex/sender', {
      token: globex,
      body: domainBody('ACME.example', 'x@acme.example'),
    });

    // Assess
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      mode: 'domain',
      domain: { name: 'acme.example', fromAddress: 'hello@acme.example' },
    });
    expect(theirs.status).toBe(409);
    expect(theirs.body).toEqual({
      error: { code: 'domain-taken', message: expect.any(String), field: 'domain.name' },
    });
    expect(await api.store.domainOwner('acme.example')).toBe('acme');
  });

  it('refuses a From address that is not at the domain', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: domainBody('acme.example', 'hello@mail.acme.example'),
    });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'validation', field: 'domain.fromAddress' } });
  });

  it('releases the old domain when the tenant moves to another domain or mode', async () => {
    // Act
    const moved = await api.call('PUT', '/tenants/acme/sender', {
      token: acme,
      body: domainBody('acme.test'),
    });
    const ownerAfterMove = await api.store.domainOwner('acme.example');
    const claimed = await api.call('PUT', '/tenants/globex/sender', {
      token: globex,
      body: domainBody('acme.example'),
    });
    const toSmtp = await api.call('PUT', '/tenants/acme/sender', { token: acme, body: smtpBody() });

    // Assess
    expect(moved.status).toBe(200);
    expect(ownerAfterMove).toBeNull();
    expect(claimed.status).toBe(200);
    expect(toSmtp.status).toBe(200);
    expect(await api.store.domainOwner('acme.test')).toBeNull();
    expect(await api.store.domainOwner('acme.example')).toBe('globex');
  });

  it('releases the domain on DELETE', async () => {
    // Act
    const res = await api.call('DELETE', '/tenants/globex/sender', { token: globex });

    // Assess
    expect(res.status).toBe(204);
    expect(await api.store.domainOwner('acme.example')).toBeNull();
  });
});

describe('config API: contract and secrets', () => {
  it('answered every request as the OpenAPI document says', () => {
    expect(api.exchanges.length).toBeGreaterThan(20);
    expect(api.contractViolations()).toEqual([]);
  });

  it('never put a password in a response, a log line or the table', async () => {
    // Assess
    expect(api.logs.some((line) => line.includes('config API request'))).toBe(true);
    expect(await api.leaks([PW1, PW2, PW_GLOBEX])).toEqual([]);
  });
});
