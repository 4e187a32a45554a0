import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { fixedCredentials } from '../core/credentials';
import type { SecretPurpose, SmtpCredentials } from '../core/ports';
import type { SenderConfig, SmtpSecurity, StoredOAuth2 } from '../core/types';
import type { RouteContext } from './deps';
import { RateLimitedError, UnprocessableError } from './errors';
import { json, parseJsonBody, parseWith } from './http';
import { checkOAuth2, guardTokenUrl, oauth2SettingsOf, smtpServerOf, storedOAuth2Of } from './oauth-rules';
import { type OAuth2Input, smtpTestBodySchema, storedTestBodySchema, type TestResult } from './schemas';
import { checkSecurity, GUARD_TIMEOUT_MS, guardHost, storedCiphertextFor } from './sender-rules';
import { MAX_TEST_BUDGET_MS, runSmtpTest } from './smtp-test';

/** Time left to the Lambda's own deadline that the test never eats into (to answer at all). */
const ANSWER_RESERVE_MS = 1_000;

interface TestSubject {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  fromAddress: string;
  fromName?: string | undefined;
  /**
   * The password as typed (unsaved config), the stored ciphertext to decrypt, the stored OAuth2 login,
   * or an unsaved one (its omitted secrets kept from the stored login).
   */
  secret: { password: string } | { ciphertext: string } | { oauth2: StoredOAuth2 } | { typed: OAuth2Input };
  sendTo: string | undefined;
}

/** What to test: the body's unsaved smtp config, or (body `{}`) the stored one. */
function subjectOf(raw: unknown, stored: SenderConfig | null, allowPrivate: boolean): TestSubject {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'mode' in raw) {
    if ((raw as { mode: unknown }).mode !== 'smtp') {
      throw new UnprocessableError('validation', 'the test checks smtp mode only', 'mode');
    }
    const body = parseWith(smtpTestBodySchema, raw);
    const s = body.smtp;
    const server = smtpServerOf(s);
    checkOAuth2(s, stored, allowPrivate);
    const secret = s.oauth2
      ? { typed: s.oauth2 }
      : s.password !== undefined
        ? { password: s.password }
        : { ciphertext: storedCiphertextFor({ ...server, username: s.username }, stored) };
    const { fromAddress, fromName, username } = s;
    return { ...server, username, fromAddress, fromName, secret, sendTo: body.sendTo };
  }
  const body = parseWith(storedTestBodySchema, raw);
  if (!stored || stored.mode === 'platform') {
    throw new UnprocessableError('validation', 'nothing stored to test: send an smtp config in the body');
  }
  if (stored.mode !== 'smtp' || !stored.smtp) {
    throw new UnprocessableError(
      'validation',
      'the stored config is not in smtp mode; the test checks smtp only',
      'mode',
    );
  }
  const s = stored.smtp;
  return {
    host: s.host,
    port: s.port,
    security: s.security,
    username: s.username,
    fromAddress: s.fromAddress,
    fromName: s.fromName,
    secret: s.oauth2 ? { oauth2: s.oauth2 } : { ciphertext: s.passwordCiphertext ?? '' },
    sendTo: body.sendTo,
  };
}

/**
 * POST /tenants/{tenantId}/sender/test: guard first (422 before any connection), then connect, TLS and
 * AUTH with the dispatcher's sender, and with `sendTo` one real message (rate limited). One budget of at
 * most 15 s, counted from the request's start, covers DNS, the KMS decrypt and the SMTP exchange.
 */
export async function testSenderRoute({
  event,
  context,
  tenantId,
  deps,
}: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const started = deps.clock.now();
  const budget = Math.min(deps.testBudgetMs ?? MAX_TEST_BUDGET_MS, MAX_TEST_BUDGET_MS);
  const deadline =
    started + Math.max(0, Math.min(budget, context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS));
  const left = () => Math.max(0, deadline - deps.clock.now());

  // No body at all means `{}` (test the stored config); a JSON null is a body, and not a valid one.
  const parsed = parseJsonBody(event.body, event.isBase64Encoded);
  const raw = parsed === undefined ? {} : parsed;
  const stored = await deps.store.getSender(tenantId);
  const subject = subjectOf(raw, stored, deps.allowPrivateSmtp);
  checkSecurity(subject.security, deps.allowPrivateSmtp);
  await guardHost(
    deps.guard,
    subject.host,
    subject.port,
    Math.min(deps.guardTimeoutMs ?? GUARD_TIMEOUT_MS, left()),
  );

  if ('typed' in subject.secret) {
    await guardTokenUrl(
      deps.tokens,
      subject.secret.typed,
      Math.min(deps.guardTimeoutMs ?? GUARD_TIMEOUT_MS, left()),
    );
  }

  // Every test is a login attempt from the platform's address: bounded, so the endpoint cannot be used
  // to guess a password of someone else's server. `sendTo` (a real message) has its own limit (docs/design.md §15 Config API).
  const tests = deps.testLimit ?? { limit: 30, windowSeconds: 60 };
  if (!(await deps.store.hitRateLimit(`sender-test-any#${tenantId}`, tests.limit, tests.windowSeconds))) {
    throw new RateLimitedError(
      `at most ${tests.limit} tests per ${tests.windowSeconds} s`,
      tests.windowSeconds,
    );
  }
  if (subject.sendTo !== undefined) {
    const { limit, windowSeconds } = deps.sendToLimit ?? { limit: 5, windowSeconds: 60 };
    if (!(await deps.store.hitRateLimit(`sender-test#${tenantId}`, limit, windowSeconds))) {
      throw new RateLimitedError(`at most ${limit} test messages per ${windowSeconds} s`, windowSeconds);
    }
  }

  // A typed password is the credential itself; a stored one is decrypted by the sender's credentials
  // port when it connects, within the same deadline. OAuth2 runs TOKEN first, then CONN/TLS/AUTH.
  const { oauth2, typed } = await oauth2Credentials(deps, tenantId, stored, subject);
  const target = {
    tenantId,
    configVersion: stored?.version ?? 0,
    host: subject.host,
    port: subject.port,
    security: subject.security,
    username: subject.username,
    ...('ciphertext' in subject.secret && { passwordCiphertext: subject.secret.ciphertext }),
    ...(oauth2 !== undefined && { oauth2 }),
  };
  const mail =
    subject.sendTo === undefined
      ? undefined
      : {
          sendTo: subject.sendTo,
          fromAddress: subject.fromAddress,
          ...(subject.fromName !== undefined ? { fromName: subject.fromName } : {}),
        };
  return answer(
    deps,
    tenantId,
    await runSmtpTest(deps.smtp, deps.mime, target, { deadline, credentials: typed }, mail),
  );
}

/**
 * The stored OAuth2 login to test (the sender's own credentials port fetches its token), or the
 * credentials port of an unsaved login: its typed secrets as given, or, where some are omitted, kept
 * from the stored login (the typed ones encrypted, so the same port serves it).
 */
async function oauth2Credentials(
  deps: RouteContext['deps'],
  tenantId: string,
  stored: SenderConfig | null,
  subject: TestSubject,
): Promise<{ oauth2?: StoredOAuth2; typed?: SmtpCredentials }> {
  const { secret } = subject;
  if ('password' in secret) {
    return { typed: fixedCredentials({ type: 'password', user: subject.username, pass: secret.password }) };
  }
  if ('oauth2' in secret) return { oauth2: secret.oauth2 };
  if (!('typed' in secret)) return {};
  const input = secret.typed;
  const complete =
    input.clientSecret !== undefined && (input.flow !== 'refresh-token' || input.refreshToken !== undefined);
  if (!complete || !deps.tokens) {
    const encrypt = (plaintext: string, purpose: SecretPurpose) =>
      deps.cipher.encryptPassword(tenantId, plaintext, purpose);
    return { oauth2: await storedOAuth2Of(input, stored, encrypt) };
  }
  const typed = deps.tokens.typedCredentials(
    { tenantId, configVersion: stored?.version ?? 0, oauth2: oauth2SettingsOf(input) },
    {
      clientSecret: input.clientSecret ?? '',
      ...(input.refreshToken !== undefined && { refreshToken: input.refreshToken }),
    },
  );
  return { typed };
}

function answer(
  deps: RouteContext['deps'],
  tenantId: string,
  result: TestResult,
): APIGatewayProxyStructuredResultV2 {
  const { ok, durationMs } = result;
  const failure = result.ok ? {} : { class: result.class, code: result.code, phase: result.phase };
  deps.logger.info('sender test done', { tenantId, ok, durationMs, ...failure });
  return json(200, result);
}
