import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SmtpCredential, SmtpCredentials } from '../core/ports';
import type { SenderConfig, SmtpSecurity, StoredOAuth2 } from '../core/types';
import type { RouteContext } from './deps';
import { RateLimitedError, UnprocessableError } from './errors';
import { json, parseJsonBody, parseWith } from './http';
import { smtpTestBodySchema, storedTestBodySchema, type TestResult } from './schemas';
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
  /** The password as typed (unsaved config), the stored ciphertext to decrypt, or the stored OAuth2 login. */
  secret: { password: string } | { ciphertext: string } | { oauth2: StoredOAuth2 };
  sendTo: string | undefined;
}

/** What to test: the body's unsaved smtp config, or (body `{}`) the stored one. */
function subjectOf(raw: unknown, stored: SenderConfig | null): TestSubject {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'mode' in raw) {
    if ((raw as { mode: unknown }).mode !== 'smtp') {
      throw new UnprocessableError('validation', 'the test checks smtp mode only', 'mode');
    }
    const body = parseWith(smtpTestBodySchema, raw);
    const s = body.smtp;
    const secret =
      s.password !== undefined ? { password: s.password } : { ciphertext: storedCiphertextFor(s, stored) };
    return { ...s, secret, sendTo: body.sendTo };
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
  const subject = subjectOf(raw, stored);
  checkSecurity(subject.security, deps.allowPrivateSmtp);
  await guardHost(
    deps.guard,
    subject.host,
    subject.port,
    Math.min(deps.guardTimeoutMs ?? GUARD_TIMEOUT_MS, left()),
  );

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
  // port when it connects, within the same deadline.
  const target = {
    tenantId,
    configVersion: stored?.version ?? 0,
    host: subject.host,
    port: subject.port,
    security: subject.security,
    username: subject.username,
    ...('ciphertext' in subject.secret && { passwordCiphertext: subject.secret.ciphertext }),
    ...('oauth2' in subject.secret && { oauth2: subject.secret.oauth2 }),
  };
  const typed: SmtpCredentials | undefined =
    'password' in subject.secret
      ? typedPassword({ type: 'password', user: subject.username, pass: subject.secret.password })
      : undefined;
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

/** An unsaved config's password as the credentials port the sender asks: nothing to fetch or forget. */
function typedPassword(credential: SmtpCredential): SmtpCredentials {
  return { credentialFor: async () => credential, invalidate: () => undefined };
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
