import { CredentialsError, TokenFailureError } from '../core/errors';
import type { OAuth2Secrets } from '../core/oauth2';
import type { OAuthTokens, PasswordCipher, SmtpCredential, SmtpCredentials, SmtpTarget } from '../core/ports';
import type { Clock, StoredOAuth2 } from '../core/types';
import { HTTPS_PORTS } from './guarded-http';
import { createKmsCredentials } from './kms-credentials';
import { createNetworkGuard, type Resolver } from './network-guard';
import {
  createOAuthTokenClient,
  type OAuthTokenClient,
  type OAuthTokenClientOptions,
  type RotatedRefreshToken,
  type TokenLogger,
  type TokenSubject,
} from './oauth-token';

/**
 * The credentials port both handlers give the SMTP sender: a stored password decrypted with KMS, or an
 * OAuth2 access token from the token client (cached per tenant and config version; the client secret
 * and refresh token are decrypted only when a token must be fetched). A refused login drops the token.
 */
export function createSmtpCredentials(
  cipher: Pick<PasswordCipher, 'decryptPassword'>,
  tokens: Pick<OAuthTokenClient, 'getToken' | 'invalidate'>,
): SmtpCredentials {
  const passwords = createKmsCredentials(cipher);
  return {
    async credentialFor(target: SmtpTarget, opts = {}): Promise<SmtpCredential> {
      const { oauth2 } = target;
      if (oauth2 === undefined) return passwords.credentialFor(target, opts);
      const deadline = finite(opts.deadline);
      return tokenCredential(
        tokens,
        storedSubject(target, oauth2, cipher, deadline),
        target.username,
        deadline,
      );
    },
    invalidate(target: SmtpTarget): void {
      if (target.oauth2 !== undefined) tokens.invalidate(target.tenantId);
      else passwords.invalidate(target);
    },
  };
}

/**
 * The credentials port for an OAuth2 config typed into the test endpoint (not stored): the secrets as
 * given. Give it a token client of its own, so a token of an unsaved config never serves the stored one.
 */
export function typedOAuth2Credentials(
  tokens: Pick<OAuthTokenClient, 'getToken' | 'invalidate'>,
  subject: Omit<TokenSubject, 'secrets'>,
  secrets: OAuth2Secrets,
): SmtpCredentials {
  return {
    credentialFor: (target, opts = {}) =>
      tokenCredential(
        tokens,
        { ...subject, secrets: async () => secrets },
        target.username,
        finite(opts.deadline),
      ),
    invalidate: (target) => tokens.invalidate(target.tenantId),
  };
}

/** A call without a deadline may pass Infinity; timers take only finite delays. */
function finite(deadline: number | undefined): number | undefined {
  return deadline !== undefined && Number.isFinite(deadline) ? deadline : undefined;
}

async function tokenCredential(
  tokens: Pick<OAuthTokenClient, 'getToken'>,
  subject: TokenSubject,
  user: string,
  deadline: number | undefined,
): Promise<SmtpCredential> {
  const outcome = await tokens.getToken(subject, deadline === undefined ? {} : { deadline });
  if (outcome.ok) return { type: 'oauth2', user, accessToken: outcome.accessToken };
  const { failure } = outcome;
  // A secret KMS would not decrypt is a credentials failure like a password's (kms-unavailable aside).
  if (failure.phase === 'DECRYPT') throw new CredentialsError(failure.message, failure.code);
  throw new TokenFailureError(failure);
}

function storedSubject(
  target: SmtpTarget,
  oauth2: StoredOAuth2,
  cipher: Pick<PasswordCipher, 'decryptPassword'>,
  deadline: number | undefined,
): TokenSubject {
  const { clientSecretCiphertext, refreshTokenCiphertext, ...settings } = oauth2;
  const decrypt = (ciphertext: string) =>
    cipher.decryptPassword(target.tenantId, ciphertext, {
      purpose: 'smtp-oauth',
      ...(deadline !== undefined && { deadline }),
    });
  return {
    tenantId: target.tenantId,
    configVersion: target.configVersion,
    oauth2: settings,
    async secrets() {
      const [clientSecret, refreshToken] = await Promise.all([
        decrypt(clientSecretCiphertext),
        refreshTokenCiphertext === undefined ? undefined : decrypt(refreshTokenCiphertext),
      ]);
      return refreshToken === undefined ? { clientSecret } : { clientSecret, refreshToken };
    },
  };
}

/** Where a rotated refresh token is stored: replaced in the SENDER item if it is still that version. */
export interface RefreshTokenStore {
  /** False when the config moved on (a newer version wins; nothing is written). */
  replaceRefreshToken(tenantId: string, configVersion: number, ciphertext: string): Promise<boolean>;
}

/** The token client's `onRotated`: encrypts the new refresh token and stores it back. */
export function storeRotatedRefreshToken(
  cipher: Pick<PasswordCipher, 'encryptPassword'>,
  store: RefreshTokenStore,
): (rotated: RotatedRefreshToken) => Promise<void> {
  return async ({ tenantId, configVersion, refreshToken }) => {
    const ciphertext = await cipher.encryptPassword(tenantId, refreshToken, 'smtp-oauth');
    await store.replaceRefreshToken(tenantId, configVersion, ciphertext);
  };
}

export interface TenantCredentialsOptions {
  cipher: Pick<PasswordCipher, 'decryptPassword' | 'encryptPassword'>;
  store: RefreshTokenStore;
  clock: Clock;
  /** `TENANT_SMTP_ALLOW_PRIVATE=1`: token URLs on http: and private addresses (local development). */
  allowPrivate: boolean;
  logger?: TokenLogger;
  /** Injected in tests (no real DNS). */
  resolve?: Resolver;
}

type TokenClientBasics = Pick<TenantCredentialsOptions, 'clock' | 'allowPrivate' | 'logger' | 'resolve'>;

/** A token client with its own network guard (https ports; private ones only with allowPrivate). */
function tokenClient(options: TokenClientBasics, onRotated?: OAuthTokenClientOptions['onRotated']) {
  const guard = createNetworkGuard({
    allowPrivate: options.allowPrivate,
    ports: HTTPS_PORTS,
    ...(options.resolve && { resolve: options.resolve }),
  });
  return createOAuthTokenClient({
    guard,
    clock: options.clock,
    allowInsecure: options.allowPrivate,
    ...(onRotated && { onRotated }),
    ...(options.logger && { logger: options.logger }),
  });
}

/**
 * The credentials port the SMTP sender asks in both handlers, built once per container: passwords
 * through KMS, OAuth2 tokens through a token client whose rotated refresh tokens are stored back.
 */
export function createTenantCredentials(options: TenantCredentialsOptions): SmtpCredentials {
  const tokens = tokenClient(options, storeRotatedRefreshToken(options.cipher, options.store));
  return createSmtpCredentials(options.cipher, tokens);
}

/** The config API's OAuth2 port: token URLs vetted on PUT, unsaved configs logged in by the test. */
export function createOAuthTokens(options: TokenClientBasics): OAuthTokens {
  const vetting = tokenClient(options);
  return {
    vetUrl: (url) => vetting.vetUrl(url),
    // A client per test: nothing of an unsaved config is cached, nothing rotated is stored.
    typedCredentials: (subject, secrets) => typedOAuth2Credentials(tokenClient(options), subject, secrets),
  };
}
