import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCredentials } from '../../functions/adapters/smtp-credentials';
import type { SenderConfig } from '../../functions/core/types';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { captureOutput, type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';
import { OAUTH_CLIENT, OAUTH_MAILBOX, OAuthRig, oauthSecrets } from '../support/oauth';
import { TEST_HOST } from '../support/smtp';

// The dispatcher with OAuth2 tenants: tokens from a real token server, XOAUTH2 to a real submission
// server that checks them, and the fallback when the token endpoint fails.
let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});
let rig: OAuthRig;
beforeAll(async () => {
  rig = await new OAuthRig().start({ tokens: { rotate: false } });
});
afterAll(() => rig.close());

/** An oauth2 tenant whose secrets the dispatcher's own KMS decrypts. */
async function oauthTenant(
  tenantId: string,
  refreshToken = OAUTH_CLIENT.refreshToken,
): Promise<SenderConfig> {
  const encrypt = (plaintext: string) => f.cipher.encryptPassword(tenantId, plaintext, 'smtp-oauth');
  return f.smtpTenant(tenantId, rig.submission.port, {
    smtp: {
      host: TEST_HOST,
      port: rig.submission.port,
      security: 'starttls',
      username: OAUTH_MAILBOX,
      oauth2: {
        provider: 'custom',
        flow: 'refresh-token',
        clientId: OAUTH_CLIENT.clientId,
        tokenUrl: rig.tokens.tokenUrl,
        clientSecretCiphertext: await encrypt(OAUTH_CLIENT.clientSecret),
        refreshTokenCiphertext: await encrypt(refreshToken),
      },
      fromAddress: OAUTH_MAILBOX,
    },
  });
}

/** A dispatcher container as the handler builds it: passwords via KMS, OAuth2 via the token client. */
function container(): DispatchHandler {
  const credentials = createTenantCredentials({
    cipher: f.cipher,
    store: f.store,
    clock: f.clock,
    allowPrivate: true,
  });
  return f.newContainer({
    credentials,
    logger: new Logger({ serviceName: 'dispatcher-oauth', logLevel: 'WARN' }),
  });
}

describe('dispatcher with OAuth2 tenants', () => {
  it('fetches one token per container for all its batches and sends through the tenant server', async () => {
    await oauthTenant('umbrella');
    const handler = container();
    const before = rig.tokens.tokenRequests();

    await f.invoke(await f.receive([1, 2, 3].map((n) => mail('umbrella', { subject: `m${n}` }))), {
      handler,
    });
    await f.invoke(await f.receive([mail('umbrella', { subject: 'm4' })]), { handler });

    expect(rig.tokens.tokenRequests() - before).toBe(1);
    const deliveries = await f.deliveries('umbrella');
    expect(deliveries).toHaveLength(4);
    for (const d of deliveries)
      expect(d).toMatchObject({ route: 'smtp', fallbackReason: null, status: 'sent' });
    expect(rig.mailbox.received.filter((m) => m.from === OAUTH_MAILBOX)).toHaveLength(4);
    expect(await f.ses.store()).toHaveLength(0);
  });

  it('falls back with reason auth when consent is gone, the breaker noting TOKEN and reconsent; no secret logged', async () => {
    await oauthTenant('revoked', 'rt-never-consented-0123456789');
    const handler = container();
    const records = await f.receive([mail('revoked')]);

    const { text } = await captureOutput(async () => {
      await f.invoke(records, { handler });
    });

    const [d] = await f.deliveries('revoked');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: 'auth', status: 'sent' });
    const health = await f.health('revoked');
    expect(health?.state).toBe('unhealthy');
    expect(health?.lastFailure).toMatchObject({
      class: 'auth',
      phase: 'TOKEN',
      code: 'invalid_grant',
      hint: 'reconsent',
    });
    for (const secret of [...oauthSecrets(rig.tokens), 'rt-never-consented-0123456789']) {
      expect(text).not.toContain(secret);
    }
  });

  it('falls back with reason server-temporary when the token endpoint answers 503', async () => {
    const failing = await new OAuthRig().start({ tokens: { fault: () => ({ status: 503, body: 'down' }) } });
    try {
      await oauthTenant('outage');
      const config = await f.store.getSender('outage');
      const smtp = config?.smtp;
      if (!config || !smtp?.oauth2) throw new Error('no oauth2 config');
      await f.smtpTenant('outage', rig.submission.port, {
        smtp: { ...smtp, oauth2: { ...smtp.oauth2, tokenUrl: failing.tokens.tokenUrl } },
      });

      await f.invoke(await f.receive([mail('outage')]), { handler: container() });

      const [d] = await f.deliveries('outage');
      expect(d).toMatchObject({ route: 'platform', fallbackReason: 'server-temporary', status: 'sent' });
      expect((await f.health('outage'))?.lastFailure).toMatchObject({ phase: 'TOKEN', code: 'HTTP_503' });
    } finally {
      await failing.close();
    }
  });
});
