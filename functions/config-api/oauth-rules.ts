import { DnsFailureError, HostRefusedError } from '../core/errors';
import { type OAuth2Settings, oauth2Issues, PROVIDER_PROFILES } from '../core/oauth2';
import type { OAuthTokens, SecretPurpose } from '../core/ports';
import type { SenderConfig, SmtpSecurity, StoredOAuth2 } from '../core/types';
import { TIMED_OUT, within } from './deadline';
import { UnprocessableError } from './errors';
import type { OAuth2Input, SmtpInput } from './schemas';
import { GUARD_TIMEOUT_MS } from './sender-rules';

/**
 * The config rules of OAuth2 logins (docs/design.md, OAuth2), shared by PUT and the test endpoint:
 * a password or an oauth2 login (never both), the provider's rules, its default server, the token URL
 * vetted without being called, and when stored secrets may be kept.
 */

export interface SmtpServer {
  host: string;
  port: number;
  security: SmtpSecurity;
}

/** The server to use: as given, or (all three omitted) the oauth2 provider's default. */
export function smtpServerOf(smtp: SmtpInput): SmtpServer {
  const defaults = smtp.oauth2 ? PROVIDER_PROFILES[smtp.oauth2.provider].smtp : undefined;
  const host = smtp.host ?? defaults?.host;
  const port = smtp.port ?? defaults?.port;
  const security = smtp.security ?? defaults?.security;
  for (const [name, value] of [
    ['host', host],
    ['port', port],
    ['security', security],
  ] as const) {
    if (value === undefined) {
      throw new UnprocessableError('validation', `${name} is required for this sender`, `smtp.${name}`);
    }
  }
  return { host: host as string, port: port as number, security: security as SmtpSecurity };
}

/** The non-secret settings of an oauth2 input. */
export function oauth2SettingsOf(input: OAuth2Input): OAuth2Settings {
  const { clientSecret: _s, refreshToken: _r, ...settings } = input;
  return settings;
}

/** The stored oauth2 login whose secrets an input may keep: same provider, endpoint and client. */
function keepable(input: OAuth2Input, stored: SenderConfig | null | undefined): StoredOAuth2 | undefined {
  const current = stored?.mode === 'smtp' ? stored.smtp?.oauth2 : undefined;
  if (!current) return undefined;
  const same =
    current.provider === input.provider &&
    current.clientId === input.clientId &&
    current.tokenUrl === input.tokenUrl &&
    current.directoryId?.toLowerCase() === input.directoryId?.toLowerCase();
  return same ? current : undefined;
}

/**
 * Checks an oauth2 input against the provider rules (422 `validation` naming the field) and the
 * keep-stored-secret rule (422 `password-required` naming the missing secret). With `stored`
 * undefined (not read yet), only the rules that do not depend on the stored config.
 */
export function checkOAuth2(
  smtp: SmtpInput,
  stored: SenderConfig | null | undefined,
  allowPrivate: boolean,
): void {
  const input = smtp.oauth2;
  if (!input) return;
  if (smtp.password !== undefined) {
    throw new UnprocessableError('validation', 'give either a password or oauth2, not both', 'smtp.password');
  }
  const kept = keepable(input, stored);
  const hasRefreshToken =
    input.refreshToken !== undefined ||
    (input.flow === 'refresh-token' && (stored === undefined || kept?.refreshTokenCiphertext !== undefined));
  const [issue] = oauth2Issues(oauth2SettingsOf(input), { hasRefreshToken, allowInsecure: allowPrivate });
  if (issue) {
    const code =
      issue.field === 'smtp.oauth2.refreshToken' && !hasRefreshToken ? 'password-required' : 'validation';
    throw new UnprocessableError(code, issue.message, issue.field);
  }
  if (input.clientSecret === undefined && stored !== undefined && !kept) {
    throw new UnprocessableError(
      'password-required',
      'a clientSecret is required: no stored secret for this provider, token URL and client',
      'smtp.oauth2.clientSecret',
    );
  }
}

/** Vets a custom token URL with the network guard, without calling it; 422 naming smtp.oauth2.tokenUrl. */
export async function guardTokenUrl(
  tokens: OAuthTokens | undefined,
  input: OAuth2Input | undefined,
  timeoutMs: number = GUARD_TIMEOUT_MS,
): Promise<void> {
  if (!tokens || input?.tokenUrl === undefined) return;
  const field = 'smtp.oauth2.tokenUrl';
  let outcome: unknown;
  try {
    outcome = await within(tokens.vetUrl(input.tokenUrl), timeoutMs);
  } catch (err) {
    if (err instanceof HostRefusedError) throw new UnprocessableError('host-refused', err.message, field);
    if (err instanceof DnsFailureError) throw new UnprocessableError('dns-failure', err.message, field);
    throw err;
  }
  if (outcome === TIMED_OUT) {
    throw new UnprocessableError('dns-failure', 'DNS lookup of the token URL did not answer in time', field);
  }
}

/**
 * The oauth2 login to store (or test): typed secrets encrypted (context purpose `smtp-oauth`), omitted
 * ones kept from the stored login (checkOAuth2 ran first, so they are there when needed).
 */
export async function storedOAuth2Of(
  input: OAuth2Input,
  stored: SenderConfig | null,
  encrypt: (plaintext: string, purpose: SecretPurpose) => Promise<string>,
): Promise<StoredOAuth2> {
  const kept = keepable(input, stored);
  const clientSecretCiphertext =
    input.clientSecret !== undefined
      ? await encrypt(input.clientSecret, 'smtp-oauth')
      : (kept?.clientSecretCiphertext ?? '');
  const refreshTokenCiphertext =
    input.flow !== 'refresh-token'
      ? undefined
      : input.refreshToken !== undefined
        ? await encrypt(input.refreshToken, 'smtp-oauth')
        : kept?.refreshTokenCiphertext;
  return {
    ...oauth2SettingsOf(input),
    clientSecretCiphertext,
    ...(refreshTokenCiphertext !== undefined && { refreshTokenCiphertext }),
  };
}
