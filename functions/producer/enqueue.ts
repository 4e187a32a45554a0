/**
 * Typed producer for the mail queue (docs/design.md §6 Queue message): validates every message before sending
 * anything, sends the normalized JSON, retries what SQS failed on its side, reports the rest per message.
 */
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchResult,
  SendMessageCommand,
  type SendMessageResult,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueError } from '../core/errors';
import {
  type InvalidMessage,
  MAX_SQS_MESSAGE_BYTES,
  type PreparedMessage as Prepared,
  ProducerValidationError,
  prepareMessage,
  type QueueMessageInput,
} from './encode';

export const MAX_BATCH_ENTRIES = 10;
export const MAX_DELAY_SECONDS = 900;
export const DEFAULT_MAX_RETRIES = 3;
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

export interface ProducerOptions {
  /**
   * Must be built with `useQueueUrlAsEndpoint: false` when the queue URL's host does not resolve (the
   * local SQS's `*.localhost` URLs): requests then go to the client's endpoint, the same one in AWS.
   */
  sqs: SQSClient;
  queueUrl: string;
  /**
   * Retries of transient failures (throttling, network, entries SQS failed on its side), on top of the
   * client's own retry strategy. Default 3.
   */
  maxRetries?: number;
  /** Waits between retries; injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
}

export interface BatchResult {
  /** Sent messages by their index in the input, ascending, with the key each was sent with. */
  sent: { index: number; messageId: string; idempotencyKey: string }[];
  /**
   * Messages still unsent after the retries, or refused for good (an entry SQS blames on the sender, or a
   * whole call refused, e.g. QueueDoesNotExist: every entry of that call), ascending by index.
   */
  failed: { index: number; code: string; message: string }[];
}

export interface Producer {
  /**
   * Validates, then sends one message; throws ProducerValidationError or QueueError (after retries).
   * A retried send may reach the queue twice (a network error after SQS took it); both copies carry the
   * same `idempotencyKey` (the caller's, else a random UUID, returned here), so the dispatcher delivers
   * it once. A caller that may itself call `enqueue` again for the same mail passes its own key.
   */
  enqueue(
    message: QueueMessageInput,
    opts?: { delaySeconds?: number },
  ): Promise<{ messageId: string; idempotencyKey: string }>;
  /**
   * Validates all messages first: one invalid message throws ProducerValidationError and nothing is sent,
   * so a caller never has to work out which half of a batch went out. Then sends in SendMessageBatch calls
   * of up to 10 (entry Id = input index) and reports per message; SQS failures are data, not throws.
   */
  enqueueBatch(messages: readonly QueueMessageInput[]): Promise<BatchResult>;
}

interface Failure {
  entry: Prepared;
  code: string;
  message: string;
}

interface BatchAttempt {
  sent: BatchResult['sent'];
  retry: Failure[];
  final: Failure[];
}

/** Creates the producer over an injected SQS client. */
export function createProducer(options: ProducerOptions): Producer {
  const { sqs, queueUrl } = options;
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? DEFAULT_MAX_RETRIES));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** One SendMessageBatch call; what SQS failed on its side (or a transient whole-call error) is `retry`. */
  async function sendBatch(entries: readonly Prepared[]): Promise<BatchAttempt> {
    let output: SendMessageBatchResult;
    try {
      output = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((e) => ({
            Id: String(e.index),
            MessageBody: e.body,
            MessageGroupId: e.tenantId,
          })),
        }),
      );
    } catch (error) {
      const failures = entries.map((entry) => ({
        entry,
        code: sqsErrorCode(error),
        message: errorText(error),
      }));
      return isTransient(error)
        ? { sent: [], retry: failures, final: [] }
        : { sent: [], retry: [], final: failures };
    }
    const byId = new Map(entries.map((e) => [String(e.index), e]));
    const sent: BatchResult['sent'] = [];
    const retry: Failure[] = [];
    const final: Failure[] = [];
    for (const ok of output.Successful ?? []) {
      const entry = byId.get(ok.Id ?? '');
      if (entry === undefined) continue;
      byId.delete(ok.Id ?? '');
      sent.push({ index: entry.index, messageId: ok.MessageId ?? '', idempotencyKey: entry.idempotencyKey });
    }
    for (const bad of output.Failed ?? []) {
      const entry = byId.get(bad.Id ?? '');
      if (entry === undefined) continue;
      byId.delete(bad.Id ?? '');
      (bad.SenderFault ? final : retry).push(entryFailure(entry, bad));
    }
    // SQS named neither outcome; it may have taken the message, so a retry could send it twice.
    for (const entry of byId.values()) {
      final.push({ entry, code: 'MissingResult', message: 'SQS reported no result for this entry' });
    }
    return { sent, retry, final };
  }

  return {
    async enqueue(message, opts = {}) {
      const prepared = prepareMessage(message, 0);
      if ('field' in prepared) throw new ProducerValidationError([prepared]);
      const delay = opts.delaySeconds;
      if (delay !== undefined && (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS)) {
        const detail = `delaySeconds: must be a whole number of seconds in 0..${MAX_DELAY_SECONDS}`;
        throw new ProducerValidationError([{ index: 0, field: 'delaySeconds', rule: 'range', detail }]);
      }
      const command = new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: prepared.body,
        // The tenant is the message group: SQS fair queues then let quiet tenants' mail pass a blast.
        MessageGroupId: prepared.tenantId,
        ...(delay === undefined ? {} : { DelaySeconds: delay }),
      });
      let output: SendMessageResult | undefined;
      for (let attempt = 0; output === undefined; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        try {
          output = await sqs.send(command);
        } catch (error) {
          if (attempt >= maxRetries || !isTransient(error)) {
            const code = sqsErrorCode(error);
            const text = `SQS SendMessage failed (${code}): ${errorText(error)}`;
            throw new QueueError(text, code, { cause: error });
          }
        }
      }
      if (output.MessageId === undefined) {
        throw new QueueError('SQS SendMessage returned no MessageId', 'NoMessageId');
      }
      return { messageId: output.MessageId, idempotencyKey: prepared.idempotencyKey };
    },

    async enqueueBatch(messages) {
      const prepared: Prepared[] = [];
      const invalid: InvalidMessage[] = [];
      for (const [index, message] of messages.entries()) {
        const outcome = prepareMessage(message, index);
        if ('field' in outcome) invalid.push(outcome);
        else prepared.push(outcome);
      }
      const [first, ...rest] = invalid;
      if (first !== undefined) throw new ProducerValidationError([first, ...rest]);
      const result: BatchResult = { sent: [], failed: [] };
      // One call at a time: a burst of parallel calls is what SQS throttles.
      for (const chunk of chunks(prepared)) {
        let pending: readonly Prepared[] = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > 0) await sleep(backoffMs(attempt));
          const { sent, retry, final } = await sendBatch(pending);
          result.sent.push(...sent);
          const giveUp = attempt >= maxRetries ? retry : [];
          for (const f of [...final, ...giveUp]) {
            result.failed.push({ index: f.entry.index, code: f.code, message: f.message });
          }
          pending = giveUp.length > 0 ? [] : retry.map((f) => f.entry);
        }
      }
      result.sent.sort((a, b) => a.index - b.index);
      result.failed.sort((a, b) => a.index - b.index);
      return result;
    },
  };
}

/** Up to 10 entries per call, and the call's bodies together within SQS's size limit. */
function chunks(entries: readonly Prepared[]): Prepared[][] {
  const out: Prepared[][] = [];
  let current: Prepared[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length === MAX_BATCH_ENTRIES || bytes + entry.bytes > MAX_SQS_MESSAGE_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1));
}

function entryFailure(entry: Prepared, bad: BatchResultErrorEntry): Failure {
  return { entry, code: bad.Code ?? 'UnknownError', message: bad.Message ?? '' };
}

const TRANSIENT_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/** Throttling, a server-side fault or a network error: worth another try. */
function isTransient(error: unknown): boolean {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode;
  if (e.$retryable || status === 429 || (status !== undefined && status >= 500)) return true;
  const code = sqsErrorCode(error);
  return TRANSIENT_CODES.has(code.slice(code.lastIndexOf('.') + 1));
}

/** The SDK error name, or the socket's errno code for a plain network error. */
function sqsErrorCode(error: unknown): string {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
  };
  const name = typeof shape.name === 'string' && shape.name !== '' ? shape.name : 'UnknownError';
  const generic = name === 'Error' || name === 'AggregateError' || name === 'UnknownError';
  return generic && typeof shape.code === 'string' && shape.code !== '' ? shape.code : name;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
