import { afterEach, describe, expect, it } from 'vitest';
import type { RotatedRefreshToken } from '../../functions/adapters/oauth-token';
import { createSmtpCredentials } from '../../functions/adapters/smtp-credentials';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import { classifySmtpFailure } from '../../functions/core/classify';
import type { SmtpSendOutcome, SmtpTarget, TenantSmtpSender } from '../../functions/core/ports';
import { OAUTH_MAILBOX, OAuthRig, oauthSecrets } from '../support/oauth';
import { TEST_HOST, testMail, testSenderOptions } from '../support/smtp';

// The tenant SMTP sender logging in with XOAUTH2: the credentials port fetches the access token from a
// real token server, a real submission server checks it against the token server's keys.
let rig: OAuthRig;
const senders: TenantSmtpSender[] = [];
afterEach(async () => {
  for (const sender of senders.splice(0)) sender.close();
  await rig?.close();
});

let tenantCount = 0;
async function setup(options: Parameters<OAuthRig['start']>[0] = {}) {
  rig = await new OAuthRig().start(options);
  const rotations: RotatedRefreshToken[] = [];
  const logs: unknown[] = [];
  const logger = { warn: (message: string, extra: Record<string, unknown>) => logs.push({ message, extra }) };
  const tokens = rig.tokenClient({ onRotated: async (r) => void rotations.push(r), logger });
  const sender = createTenantSmtpSender(
    testSenderOptions({ credentials: createSmtpCredentials(rig.cipher, tokens), logger }),
  );
  senders.push(sender);
  tenantCount += 1;
  const tenantId = `oauth-${tenantCount}`;
  const target: SmtpTarget = {
    tenantId,
    configVersion: 1,
    host: TEST_HOST,
    port: rig.submission.port,
    security: 'starttls',
    username: OAUTH_MAILBOX,
    oauth2: await rig.stored(tenantId),
  };
  return { sender, target, rotations, logs };
}

function failed(outcome: SmtpSendOutcome) {
  if (outcome.ok) throw new Error('expected a failure');
  return classifySmtpFailure(outcome.error);
}

describe('tenant SMTP sender with OAuth2 (XOAUTH2)', () => {
  it('fetches one token for a batch of sends and delivers each message', async () => {
    const { sender, target, rotations } = await setup();

    const outcomes = [];
    for (let i = 0; i < 5; i += 1) outcomes.push(await sender.send(target, testMail()));

    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(rig.tokens.tokenRequests()).toBe(1);
    expect(rig.submission.logins).toEqual([{ user: OAUTH_MAILBOX, accepted: true }]);
    expect(rig.mailbox.received).toHaveLength(5);
    expect(rotations).toHaveLength(1);
  });

  // Gmail answers a bad token with a 334 challenge; nodemailer then tries the same token once more
  // (refused again, the second login) before the sender drops it and asks for a fresh one.
  it.each([
    ['direct', 1],
    ['challenge', 2],
  ] as const)(
    'a token refused (%s) is dropped and the send retried with a fresh one',
    async (how, refusals) => {
      const { sender, target } = await setup({ refuse: (n) => (n <= refusals ? how : undefined) });

      const outcome = await sender.send(target, testMail());

      expect(outcome.ok).toBe(true);
      expect(rig.tokens.tokenRequests()).toBe(2);
      expect(rig.mailbox.received).toHaveLength(1);
      expect(rig.submission.logins.at(-1)).toEqual({ user: OAUTH_MAILBOX, accepted: true });
    },
  );

  it('a second refusal stands: auth at AUTH, one fresh token asked', async () => {
    const { sender, target } = await setup({ refuse: () => 'direct' });

    const failure = failed(await sender.send(target, testMail()));

    expect(failure).toMatchObject({ class: 'auth', phase: 'AUTH' });
    expect(rig.tokens.tokenRequests()).toBe(2);
    expect(rig.mailbox.received).toHaveLength(0);
  });

  it('consent withdrawn → auth at TOKEN with hint reconsent; no connection to the server', async () => {
    const { sender, target, logs } = await setup();
    rig.tokens.revoke('tenant-app-1');

    const outcome = await sender.send(target, testMail());
    const failure = failed(outcome);

    expect(failure).toMatchObject({
      class: 'auth',
      code: 'invalid_grant',
      phase: 'TOKEN',
      hint: 'reconsent',
    });
    expect(rig.submission.logins).toEqual([]);
    const everything = JSON.stringify({ outcome, logs });
    for (const secret of oauthSecrets(rig.tokens)) expect(everything).not.toContain(secret);
  });

  it('a token endpoint answering 500 → server-temporary at TOKEN', async () => {
    const { sender, target } = await setup({ tokens: { fault: () => ({ status: 500, body: 'oops' }) } });

    const failure = failed(await sender.send(target, testMail()));

    expect(failure).toMatchObject({ class: 'server-temporary', code: 'HTTP_500', phase: 'TOKEN' });
  });

  it('verify logs in with a token and keeps nothing', async () => {
    const { sender, target } = await setup();

    const outcome = await sender.verify(target);

    expect(outcome.ok).toBe(true);
    expect(rig.submission.logins).toEqual([{ user: OAUTH_MAILBOX, accepted: true }]);
  });
});
