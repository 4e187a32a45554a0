import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createTenantCredentials } from '../../functions/adapters/smtp-credentials';
import type { SmtpTarget, Store } from '../../functions/core/ports';
import { type SenderConfig, systemClock } from '../../functions/core/types';
import { type DynamoFixture, startDynamo } from '../support/dynamo';
import { OAUTH_CLIENT, OAUTH_MAILBOX, OAuthRig } from '../support/oauth';
import { TEST_HOST } from '../support/smtp';

// A provider that rotates refresh tokens strictly (each one works once): the rotated token must be
// stored back, conditional on the config version, or the next container's refresh fails.
let db: DynamoFixture;
let rig: OAuthRig;
let store: Store;

beforeAll(async () => {
  db = await startDynamo();
  rig = await new OAuthRig().start();
  store = createDynamoStore({ doc: db.doc, tableName: db.tableName, clock: systemClock });
});
afterAll(async () => {
  await rig.close();
  await db.close();
});

/** Each tenant's admin consents once: a refresh token of its own. */
async function storeConfig(tenantId: string, version: number): Promise<SenderConfig> {
  const refreshToken = `rt-${tenantId}-${version}-0123456789`;
  rig.tokens.consent(OAUTH_CLIENT.clientId, refreshToken);
  const refreshTokenCiphertext = await rig.cipher.encryptPassword(tenantId, refreshToken, 'smtp-oauth');
  const config: SenderConfig = {
    tenantId,
    mode: 'smtp',
    fallback: 'platform',
    smtp: {
      host: TEST_HOST,
      port: rig.submission.port,
      security: 'starttls',
      username: OAUTH_MAILBOX,
      oauth2: await rig.stored(tenantId, { refreshTokenCiphertext }),
      fromAddress: OAUTH_MAILBOX,
    },
    version,
    updatedAt: new Date().toISOString(),
  };
  await store.putSender(config, version - 1);
  return config;
}

function targetOf(config: SenderConfig): SmtpTarget {
  const smtp = config.smtp;
  if (!smtp) throw new Error('no smtp');
  return { tenantId: config.tenantId, configVersion: config.version, ...smtp };
}

/** A new container: its own token client and caches, reading the stored config. */
function container() {
  return createTenantCredentials({ cipher: rig.cipher, store, clock: systemClock, allowPrivate: true });
}

const decrypt = (tenantId: string, ciphertext: string | undefined) =>
  rig.cipher.decryptPassword(tenantId, ciphertext ?? '', { purpose: 'smtp-oauth' });

describe('rotated refresh tokens', () => {
  it('are stored back under the same config version and used by the next container', async () => {
    const config = await storeConfig('rotating', 1);

    const first = await container().credentialFor(targetOf(config));
    const after = await store.getSender('rotating');

    expect(first.type).toBe('oauth2');
    expect(after?.version).toBe(1);
    const stored = await decrypt('rotating', after?.smtp?.oauth2?.refreshTokenCiphertext);
    expect(stored).not.toBe('rt-rotating-1-0123456789');
    expect(rig.tokens.accepts(OAUTH_CLIENT.clientId, stored)).toBe(true);
    expect(rig.tokens.accepts(OAUTH_CLIENT.clientId, 'rt-rotating-1-0123456789')).toBe(false);

    // The next container reads the stored config: its refresh token is the rotated one, and it works.
    const reread = after ? targetOf(after) : targetOf(config);
    const second = await container().credentialFor(reread);
    expect(second.type).toBe('oauth2');
  });

  it('never overwrite a newer config', async () => {
    const old = await storeConfig('moving', 1);
    await storeConfig('moving', 2);

    const written = await store.replaceRefreshToken(
      'moving',
      1,
      old.smtp?.oauth2?.clientSecretCiphertext ?? '',
    );
    const current = await store.getSender('moving');

    expect(written).toBe(false);
    expect(current?.version).toBe(2);
    expect(await decrypt('moving', current?.smtp?.oauth2?.refreshTokenCiphertext)).toBe(
      'rt-moving-2-0123456789',
    );
  });

  it('a token request for an old version stores nothing over the new one', async () => {
    const old = await storeConfig('late', 1);
    await storeConfig('late', 2);
    const before = (await store.getSender('late'))?.smtp?.oauth2?.refreshTokenCiphertext;

    // A container still holding version 1 refreshes: the token it gets is not written over version 2.
    await container().credentialFor(targetOf(old));

    expect((await store.getSender('late'))?.smtp?.oauth2?.refreshTokenCiphertext).toBe(before);
  });
});
