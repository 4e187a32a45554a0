import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SenderView } from '../../functions/config-api/schemas';
import { type ConfigApiFixture, PUBLIC_ADDRESS, startConfigApiFixture } from '../support/config-api';

// PUT/GET of an oauth2 sender: the provider rules, secrets encrypted and never answered, the
// keep-stored-secret rule, and the token URL vetted without being called.
const SECRET = 'app-Secret-for-acme-0123456789';
const REFRESH = 'rt-acme-consented-0123456789';
let api: ConfigApiFixture;
let token: string;

beforeAll(async () => {
  api = await startConfigApiFixture({
    hosts: {
      'smtp.office365.com': [PUBLIC_ADDRESS],
      'smtp.gmail.com': [PUBLIC_ADDRESS],
      'login.acme.example': [PUBLIC_ADDRESS],
      'inside.acme.example': ['10.0.0.9'],
    },
  });
  token = await api.token('acme');
});
afterAll(() => api.close());

function microsoft(over: Record<string, unknown> = {}, smtp: Record<string, unknown> = {}) {
  return {
    mode: 'smtp',
    smtp: {
      username: 'notify@acme.example',
      fromAddress: 'notify@acme.example',
      oauth2: {
        provider: 'microsoft',
        flow: 'refresh-token',
        clientId: 'app-1',
        clientSecret: SECRET,
        refreshToken: REFRESH,
        directoryId: 'acme.onmicrosoft.com',
        ...over,
      },
      ...smtp,
    },
  };
}

const put = (body: unknown) => api.call('PUT', '/tenants/acme/sender', { token, body });

describe('config API: oauth2 senders', () => {
  it('stores a microsoft login with the provider server and answers it without secrets', async () => {
    const res = await put(microsoft());

    expect(res.status).toBe(200);
    const view = res.body as Extract<SenderView, { mode: 'smtp' }>;
    expect(view.smtp).toMatchObject({
      host: 'smtp.office365.com',
      port: 587,
      security: 'starttls',
      passwordSet: false,
      oauth2: {
        provider: 'microsoft',
        flow: 'refresh-token',
        clientId: 'app-1',
        directoryId: 'acme.onmicrosoft.com',
        clientSecretSet: true,
        refreshTokenSet: true,
      },
    });
    const stored = await api.store.getSender('acme');
    const oauth2 = stored?.smtp?.oauth2;
    const decrypt = (c: string | undefined, purpose?: 'smtp-oauth') =>
      api.cipher.decryptPassword('acme', c ?? '', purpose ? { purpose } : {});
    expect(await decrypt(oauth2?.clientSecretCiphertext, 'smtp-oauth')).toBe(SECRET);
    expect(await decrypt(oauth2?.refreshTokenCiphertext, 'smtp-oauth')).toBe(REFRESH);
    // Bound to its purpose: the same ciphertext is no password.
    await expect(decrypt(oauth2?.clientSecretCiphertext)).rejects.toThrow();
    expect((await api.call('GET', '/tenants/acme/sender', { token })).body).toEqual(view);
    expect(await api.leaks([SECRET, REFRESH])).toEqual([]);
    expect(api.contractViolations()).toEqual([]);
  });

  it('keeps stored secrets when provider, directory and client are unchanged', async () => {
    const before = (await api.store.getSender('acme'))?.smtp?.oauth2;

    const res = await put(
      microsoft({ clientSecret: undefined, refreshToken: undefined }, { limits: { perMinute: 10 } }),
    );

    expect(res.status).toBe(200);
    const after = (await api.store.getSender('acme'))?.smtp;
    expect(after?.oauth2?.clientSecretCiphertext).toBe(before?.clientSecretCiphertext);
    expect(after?.oauth2?.refreshTokenCiphertext).toBe(before?.refreshTokenCiphertext);
    expect(after?.limits).toEqual({ perMinute: 10 });
  });

  it.each([
    [{ clientId: 'app-2', clientSecret: undefined }, 'smtp.oauth2.clientSecret'],
    [{ directoryId: 'other.onmicrosoft.com', clientSecret: undefined }, 'smtp.oauth2.clientSecret'],
    [{ refreshToken: undefined, clientId: 'app-3' }, 'smtp.oauth2.refreshToken'],
  ])('a changed login needs its secrets again: %j → %s', async (over, field) => {
    const res = await put(microsoft(over));

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'password-required', field } });
  });

  it('switching to a password needs the password', async () => {
    const res = await put({
      mode: 'smtp',
      smtp: {
        host: 'smtp.office365.com',
        port: 587,
        security: 'starttls',
        username: 'notify@acme.example',
        fromAddress: 'notify@acme.example',
      },
    });

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'password-required', field: 'smtp.password' } });
  });

  it.each([
    [{ provider: 'google', flow: 'client-credentials', directoryId: undefined }, 'smtp.oauth2.flow'],
    [{ directoryId: undefined }, 'smtp.oauth2.directoryId'],
    [{ directoryId: 'acme/../common' }, 'smtp.oauth2.directoryId'],
    [{ tokenUrl: 'https://login.acme.example/token' }, 'smtp.oauth2.tokenUrl'],
    [{ provider: 'custom', directoryId: undefined }, 'smtp.oauth2.tokenUrl'],
    [
      { provider: 'custom', directoryId: undefined, tokenUrl: 'http://login.acme.example/t' },
      'smtp.oauth2.tokenUrl',
    ],
    [{ flow: 'client-credentials' }, 'smtp.oauth2.refreshToken'],
  ])('refuses %j on %s', async (over, field) => {
    // custom has no default server
    const server =
      'provider' in over && over.provider === 'custom'
        ? { host: 'smtp.acme.example', port: 587, security: 'starttls' }
        : {};
    const res = await put(microsoft(over, server));

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'validation', field } });
  });

  it('refuses a password and oauth2 together', async () => {
    const res = await put(microsoft({}, { password: 'pw-0123456789' }));

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'validation', field: 'smtp.password' } });
  });

  it('vets a custom token URL with the network guard on PUT, without calling it', async () => {
    const custom = (tokenUrl: string) =>
      microsoft(
        { provider: 'custom', directoryId: undefined, tokenUrl },
        { host: 'smtp.acme.example', port: 587, security: 'starttls' },
      );

    const inside = await put(custom('https://inside.acme.example/oauth/token'));
    const unknown = await put(custom('https://nowhere.acme.example/oauth/token'));
    const fine = await put(custom('https://login.acme.example/oauth/token'));

    expect(inside.status).toBe(422);
    expect(inside.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.oauth2.tokenUrl' } });
    expect(unknown.body).toMatchObject({ error: { code: 'dns-failure', field: 'smtp.oauth2.tokenUrl' } });
    expect(fine.status).toBe(200);
    expect(api.contractViolations()).toEqual([]);
    expect(await api.leaks([SECRET, REFRESH])).toEqual([]);
  });

  it('google gets its server and refresh-token scope defaults', async () => {
    const res = await put(microsoft({ provider: 'google', directoryId: undefined }));

    expect(res.status).toBe(200);
    expect((res.body as { smtp: unknown }).smtp).toMatchObject({
      host: 'smtp.gmail.com',
      port: 465,
      security: 'tls',
    });
  });
});
