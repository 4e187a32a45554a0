import { createTransport } from 'nodemailer';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HTTPS_PORTS } from '../../functions/adapters/guarded-http';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import { createOAuthTokenClient } from '../../functions/adapters/oauth-token';
import { systemClock } from '../../functions/core/types';
import { type OAuthServer, type OAuthServerOptions, startOAuthServer } from '../../infra/local/oauth-server';
import { type SubmissionServer, startSubmissionServer } from '../../infra/local/oauth-submission';
import { RAW_MESSAGE, SmtpTestServers, TEST_PASSWORD, TEST_USER } from '../support/smtp';

const CLIENT = {
  clientId: 'umbrella-app',
  clientSecret: 'umbrella-secret-0123',
  refreshToken: 'rt-umbrella-0001',
};
const MAILBOX = 'notify@umbrella.test';
const AUDIENCE = 'https://smtp.local.test';

const smtpServers = new SmtpTestServers();
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => smtpServers.closeAll());

async function tokenServer(over: Partial<OAuthServerOptions> = {}): Promise<OAuthServer> {
  const server = await startOAuthServer({ clients: [CLIENT], audience: AUDIENCE, ...over });
  closers.push(() => server.close());
  return server;
}

async function accessToken(server: OAuthServer): Promise<string> {
  const guard = createNetworkGuard({ allowPrivate: true, ports: HTTPS_PORTS });
  const client = createOAuthTokenClient({ guard, clock: systemClock, allowInsecure: true });
  const outcome = await client.getToken({
    tenantId: 'umbrella',
    configVersion: 1,
    oauth2: {
      provider: 'custom',
      flow: 'refresh-token',
      clientId: CLIENT.clientId,
      tokenUrl: server.tokenUrl,
    },
    secrets: async () => ({ clientSecret: CLIENT.clientSecret, refreshToken: CLIENT.refreshToken }),
  });
  if (!outcome.ok) throw new Error(`no token: ${outcome.failure.message}`);
  return outcome.accessToken;
}

async function setup(over: { issuer?: OAuthServer } = {}) {
  const mailbox = await smtpServers.start({ tls: 'none' });
  const tokens = await tokenServer();
  const issuer = over.issuer ?? tokens;
  const submission: SubmissionServer = await startSubmissionServer({
    jwksUrl: issuer.jwksUrl,
    issuer: issuer.url,
    audience: AUDIENCE,
    users: [MAILBOX],
    relay: { host: '127.0.0.1', port: mailbox.port, username: TEST_USER, password: TEST_PASSWORD },
  });
  closers.push(() => submission.close());
  return { mailbox, tokens, submission };
}

function send(port: number, auth: Record<string, string>) {
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, auth });
  return transport
    .sendMail({ envelope: { from: MAILBOX, to: ['ann@example.test'] }, raw: RAW_MESSAGE })
    .finally(() => transport.close());
}

describe('local XOAUTH2 submission server', () => {
  it('takes a token of the token server and relays the message into the mailbox', async () => {
    const { mailbox, tokens, submission } = await setup();

    const info = await send(submission.port, {
      type: 'OAuth2',
      user: MAILBOX,
      accessToken: await accessToken(tokens),
    });

    expect(info.response).toMatch(/^250/);
    expect(submission.logins).toEqual([{ user: MAILBOX, accepted: true }]);
    expect(mailbox.received).toHaveLength(1);
    expect(mailbox.received[0]?.to).toEqual(['ann@example.test']);
    expect(mailbox.received[0]?.raw.toString()).toContain('Subject: Your form was submitted');
  });

  it('refuses a token for another audience with a 334 challenge, then 535', async () => {
    const elsewhere = await tokenServer({ audience: 'https://elsewhere.test' });
    const { mailbox, submission } = await setup({ issuer: elsewhere });
    const token = await accessToken(elsewhere);

    await expect(
      send(submission.port, { type: 'OAuth2', user: MAILBOX, accessToken: token }),
    ).rejects.toMatchObject({
      code: 'EAUTH',
      responseCode: 535,
    });
    // nodemailer answers the 334 challenge, then asks for a new token: it has none, so the same one again.
    expect(submission.logins.map((login) => login.reason)).toContain('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(submission.logins.every((login) => !login.accepted)).toBe(true);
    expect(mailbox.received).toHaveLength(0);
  });

  it('refuses an expired token of its own issuer', async () => {
    const expiring = await tokenServer({ tokenTtlSeconds: -120 });
    const { submission } = await setup({ issuer: expiring });

    const token = await accessToken(expiring);

    await expect(
      send(submission.port, { type: 'OAuth2', user: MAILBOX, accessToken: token }),
    ).rejects.toMatchObject({
      code: 'EAUTH',
    });
    expect(submission.logins[0]?.reason).toBe('ERR_JWT_EXPIRED');
  });

  it('refuses a token signed by another issuer', async () => {
    const { submission } = await setup();
    const token = await accessToken(await tokenServer());

    await expect(
      send(submission.port, { type: 'OAuth2', user: MAILBOX, accessToken: token }),
    ).rejects.toMatchObject({
      code: 'EAUTH',
    });
    expect(submission.logins[0]?.reason).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('refuses a password login and a mailbox it does not serve', async () => {
    const { tokens, submission } = await setup();

    await expect(send(submission.port, { user: MAILBOX, pass: 'password' })).rejects.toMatchObject({
      code: 'EAUTH',
    });
    await expect(
      send(submission.port, {
        type: 'OAuth2',
        user: 'other@umbrella.test',
        accessToken: await accessToken(tokens),
      }),
    ).rejects.toMatchObject({ code: 'EAUTH' });
  });
});
