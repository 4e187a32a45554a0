import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';
import { OAUTH_CLIENT, OAUTH_MAILBOX, OAuthRig, oauthSecrets } from '../support/oauth';
import { SmtpTestServers, TEST_HOST } from '../support/smtp';

// The sender test with an oauth2 login runs TOKEN first, then CONN/TLS/AUTH, against a real token
// server and an XOAUTH2-only submission server.
let api: ConfigApiFixture;
let rig: OAuthRig;
let token: string;
const servers = new SmtpTestServers();

beforeAll(async () => {
  [api, rig] = await Promise.all([
    startConfigApiFixture({ allowPrivateSmtp: true }),
    new OAuthRig().start({ tokens: { rotate: false } }),
  ]);
  token = await api.token('acme');
});
afterAll(async () => {
  await Promise.all([api.close(), rig.close(), servers.closeAll()]);
});

function body(oauth2: Record<string, unknown> = {}) {
  return {
    mode: 'smtp',
    smtp: {
      host: TEST_HOST,
      port: rig.submission.port,
      security: 'starttls',
      username: OAUTH_MAILBOX,
      fromAddress: OAUTH_MAILBOX,
      oauth2: {
        provider: 'custom',
        flow: 'refresh-token',
        clientId: OAUTH_CLIENT.clientId,
        clientSecret: OAUTH_CLIENT.clientSecret,
        refreshToken: OAUTH_CLIENT.refreshToken,
        tokenUrl: rig.tokens.tokenUrl,
        ...oauth2,
      },
    },
  };
}

const test = (payload: unknown) => api.call('POST', '/tenants/acme/sender/test', { token, body: payload });

describe('sender test with oauth2', () => {
  it('logs in with a token for an unsaved config, then for the stored one', async () => {
    const typed = await test(body());
    const put = await api.call('PUT', '/tenants/acme/sender', { token, body: body() });
    const stored = await test({});

    expect(typed.body).toMatchObject({ ok: true });
    expect(put.status).toBe(200);
    expect(stored.body).toMatchObject({ ok: true });
    expect(rig.submission.logins.every((login) => login.accepted)).toBe(true);
    expect(rig.submission.logins).toHaveLength(2);
    expect(await api.leaks(oauthSecrets(rig.tokens))).toEqual([]);
    expect(api.contractViolations()).toEqual([]);
  });

  it('answers a withdrawn consent at TOKEN with hint reconsent, without connecting', async () => {
    rig.tokens.revoke(OAUTH_CLIENT.clientId);
    const logins = rig.submission.logins.length;

    const res = await test(body({ refreshToken: 'rt-revoked-0123456789' }));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      class: 'auth',
      code: 'invalid_grant',
      phase: 'TOKEN',
      hint: 'reconsent',
    });
    expect(rig.submission.logins).toHaveLength(logins);
    expect(api.contractViolations()).toEqual([]);
  });

  it('refuses a token URL the guard refuses with 422, before anything is called', async () => {
    const requests = rig.tokens.tokenRequests();

    const res = await test(body({ tokenUrl: 'http://169.254.169.254/token' }));

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.oauth2.tokenUrl' } });
    expect(rig.tokens.tokenRequests()).toBe(requests);
  });

  it('tells a password tenant whose provider refuses passwords to use OAuth2', async () => {
    const server = await servers.startScripted({
      AUTH: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant',
    });

    const res = await test({
      mode: 'smtp',
      smtp: {
        host: '127.0.0.1',
        port: server.port,
        security: 'none',
        username: 'notify@acme.example',
        password: 'pw-0123456789',
        fromAddress: 'notify@acme.example',
      },
    });

    expect(res.body).toMatchObject({ ok: false, class: 'auth', phase: 'AUTH', hint: 'use-oauth2' });
  });
});
