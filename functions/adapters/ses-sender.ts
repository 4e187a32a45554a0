import { type SESv2Client, type SESv2ClientConfig, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { SesFailure, SesSender, SesSendResult } from '../core/ports';

export interface SesSenderOptions {
  ses: SESv2Client;
  configurationSet?: string;
}

/** Creates the SES v2 sender (Raw content with an explicit Destination). */
export function createSesSender(options: SesSenderOptions): SesSender {
  const { ses, configurationSet } = options;
  return {
    async send(input): Promise<SesSendResult> {
      const { to, cc = [], bcc = [] } = input.destinations;
      // Raw content without a Destination makes SES mail every header recipient, including any the
      // tenant server already accepted; an empty list must never reach SES.
      if (to.length + cc.length + bcc.length === 0) {
        return failed('NoRecipients', 'SES send refused: no recipients owed', false, false);
      }
      const command = new SendEmailCommand({
        FromEmailAddress: input.from,
        Destination: {
          ...(to.length > 0 && { ToAddresses: to }),
          ...(cc.length > 0 && { CcAddresses: cc }),
          ...(bcc.length > 0 && { BccAddresses: bcc }),
        },
        Content: { Raw: { Data: input.raw } },
        ...(input.tags.length > 0 && { EmailTags: input.tags }),
        ...(configurationSet !== undefined &&
          configurationSet !== '' && { ConfigurationSetName: configurationSet }),
        ...(input.tenantName !== undefined && { TenantName: input.tenantName }),
      });
      let messageId: string | undefined;
      try {
        const options = input.signal === undefined ? {} : { abortSignal: input.signal };
        ({ MessageId: messageId } = await ses.send(command, options));
      } catch (error) {
        if (input.signal?.aborted) {
          return failed('Timeout', 'SES send aborted at the deadline; SES may have taken it', true, false);
        }
        return { ok: false, error: translateSesError(error) };
      }
      if (messageId === undefined || messageId === '') {
        return failed('NoMessageId', 'SES accepted the request but returned no MessageId', false, false);
      }
      return { ok: true, messageId };
    },
  };
}

/** The SDK's retry strategy interface (v2: tokens), as the SES client's config takes it. */
type RetryStrategyV2 = Extract<
  NonNullable<SESv2ClientConfig['retryStrategy']>,
  { refreshRetryTokenForRetry: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;

/**
 * The retry strategy of the SES client the dispatcher sends with (docs/design.md §5): the SDK retries a
 * SendEmail only when SES surely sent nothing and a retry may help (throttling and other 4xx refusals
 * that are retryable, a connection never opened), with exponential backoff and jitter, `maxAttempts` in
 * all. A 5xx or a lost answer is not retried inside the call: SES may have taken the mail, so the error
 * reaches the dispatcher, which records the doubt (possibleDuplicate) and retries through the queue.
 * The SDK's default strategy retries those too, silently, and a retried send could reach a recipient
 * twice with nothing recorded.
 */
export function sendOnceRetryStrategy(maxAttempts = 3, baseDelayMs = 100): RetryStrategyV2 {
  const token = (count: number, delay: number): RetryToken => ({
    getRetryCount: () => count,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    async refreshRetryTokenForRetry(previous, info) {
      const count = previous.getRetryCount() + 1;
      const failure = translateSesError(info.error);
      if (count >= maxAttempts || !failure.retryable || failure.mayHaveSent) {
        throw new Error('SendEmail not retried by the SDK');
      }
      const delay = Math.round(baseDelayMs * 2 ** (count - 1) * (1 + Math.random()));
      return token(count, delay);
    },
    recordSuccess: () => undefined,
  };
}

function failed(code: string, message: string, retryable: boolean, mayHaveSent: boolean): SesSendResult {
  return { ok: false, error: { code, message, retryable, mayHaveSent } };
}

const RETRYABLE_NAMES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalFailure',
  'ServiceUnavailable',
]);

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Maps an SDK error to a failure record: an unverified identity names the identities SES named. */
export function translateSesError(error: unknown): SesFailure {
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
  const name = typeof shape.name === 'string' && shape.name !== '' ? shape.name : 'UnknownError';
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  if (name === 'MessageRejected' && /not verified/i.test(message)) {
    return {
      code: name,
      message: `SES identity not verified: ${message}`,
      retryable: false,
      mayHaveSent: false,
      unverified: namedIdentities(message),
    };
  }
  // A socket error is a plain Error whose errno code ("ECONNREFUSED") says more than its name.
  const errno = typeof shape.code === 'string' ? shape.code : undefined;
  const code = name === 'Error' && errno !== undefined ? errno : name;
  const status = shape.$metadata?.httpStatusCode;
  const retryable =
    RETRYABLE_NAMES.has(name) ||
    shape.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (errno !== undefined && RETRYABLE_NETWORK_CODES.has(errno));
  return {
    code,
    message: `SES send failed (${code}): ${message}`,
    retryable,
    mayHaveSent: mayHaveSent(status, errno),
  };
}

/** Errors that say the request never reached SES: nothing was sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SES answered 5xx, or never answered (reset, timeout, our abort) after the request left: SES may have
 * sent it. A 4xx (throttling included) or a connection that never opened means it did not.
 */
function mayHaveSent(status: number | undefined, errno: string | undefined): boolean {
  if (status !== undefined) return status >= 500;
  return errno === undefined || !NOT_SENT_CODES.has(errno);
}

/** The identities an SES "not verified" message names after "failed the check in region …:". */
function namedIdentities(message: string): string[] {
  const list = /failed the check in region [^:]*:(.*)$/is.exec(message)?.[1] ?? '';
  return list
    .split(/[\s,]+/)
    .map((identity) =>
      identity
        .trim()
        .replace(/[.;]+$/, '')
        .toLowerCase(),
    )
    .filter((identity) => identity.length > 0);
}
