import { HTTPS_PORTS } from '../../functions/adapters/guarded-http';
import { createKmsCipher } from '../../functions/adapters/kms-cipher';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import {
  createOAuthTokenClient,
  type OAuthTokenClient,
  type OAuthTokenClientOptions,
} from '../../functions/adapters/oauth-token';
import type { PasswordCipher } from '../../functions/core/ports';
import { type Clock, type StoredOAuth2, systemClock } from '../../functions/core/types';
import { type OAuthServer, type OAuthServerOptions, startOAuthServer } from '../../infra/local/oauth-server';
import {
  type SubmissionServer,
  type SubmissionServerOptions,
  startSubmissionServer,
} from '../../infra/local/oauth-submission';
import { type LocalKms, startKms } from './kms';
import { SmtpTestServers, TEST_PASSWORD, TEST_TLS, TEST_USER, type TestSmtpServer } from './smtp';

/** The OAuth2 app registration the tests use; the mailbox is the XOAUTH2 user. */
export const OAUTH_CLIENT = {
  clientId: 'tenant-app-1',
  clientSecret: 'client-Secret-0123456789',
  refreshToken: 'rt-initial-0123456789',
};
export const OAUTH_MAILBOX = TEST_USER;
export const OAUTH_AUDIENCE = 'https://smtp.tenant.test';

/** Every secret an OAuth2 test handles: none may appear in a log, a response or a record. */
export function oauthSecrets(server?: OAuthServer): string[] {
  const issued = (server?.forms ?? []).flatMap((form) => [form.refresh_token ?? '']).filter(Boolean);
  return [OAUTH_CLIENT.clientSecret, OAUTH_CLIENT.refreshToken, ...issued];
}

/**
 * The OAuth2 world of a test: a token server (plain http: the guard runs with allowPrivate), an
 * XOAUTH2-only submission server (STARTTLS with the test certificate) relaying into a mailbox, and KMS.
 */
export class OAuthRig {
  tokens!: OAuthServer;
  submission!: SubmissionServer;
  mailbox!: TestSmtpServer;
  kms!: LocalKms;
  cipher!: PasswordCipher;
  private readonly smtp = new SmtpTestServers();

  async start(
    options: { tokens?: Partial<OAuthServerOptions>; refuse?: SubmissionServerOptions['refuse'] } = {},
  ): Promise<this> {
    this.kms = await startKms();
    this.cipher = createKmsCipher({ kms: this.kms.client, keyId: this.kms.keyId, clock: systemClock });
    this.mailbox = await this.smtp.start({ tls: 'none' });
    this.tokens = await startOAuthServer({
      clients: [OAUTH_CLIENT],
      audience: OAUTH_AUDIENCE,
      ...options.tokens,
    });
    this.submission = await startSubmissionServer({
      jwksUrl: this.tokens.jwksUrl,
      issuer: this.tokens.url,
      audience: OAUTH_AUDIENCE,
      users: [OAUTH_MAILBOX],
      tls: TEST_TLS,
      relay: { host: '127.0.0.1', port: this.mailbox.port, username: TEST_USER, password: TEST_PASSWORD },
      ...(options.refuse && { refuse: options.refuse }),
    });
    return this;
  }

  /** The stored oauth2 login of a tenant: the secrets encrypted under its context (`smtp-oauth`). */
  async stored(tenantId: string, over: Partial<StoredOAuth2> = {}): Promise<StoredOAuth2> {
    const encrypt = (plaintext: string) => this.cipher.encryptPassword(tenantId, plaintext, 'smtp-oauth');
    return {
      provider: 'custom',
      flow: 'refresh-token',
      clientId: OAUTH_CLIENT.clientId,
      tokenUrl: this.tokens.tokenUrl,
      clientSecretCiphertext: await encrypt(OAUTH_CLIENT.clientSecret),
      refreshTokenCiphertext: await encrypt(OAUTH_CLIENT.refreshToken),
      ...over,
    };
  }

  /** A token client as the handlers build it, with the loopback opened (allowPrivate). */
  tokenClient(over: Partial<OAuthTokenClientOptions> & { clock?: Clock } = {}): OAuthTokenClient {
    const guard = createNetworkGuard({ allowPrivate: true, ports: HTTPS_PORTS });
    return createOAuthTokenClient({ guard, clock: systemClock, allowInsecure: true, ...over });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.tokens?.close(), this.submission?.close(), this.kms?.close()]);
    await this.smtp.closeAll();
  }
}
