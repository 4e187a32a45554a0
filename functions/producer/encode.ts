/**
 * The queue message as the producer sends it: validated and normalized by the dispatcher's own parser (so
 * a message accepted here is one the dispatcher accepts), escaped for SQS, within SQS's size limit.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { parseQueueMessage, type queueMessageSchema } from '../core/message';

/** SQS's message size limit, also the limit of one SendMessageBatch call's bodies together. */
export const MAX_SQS_MESSAGE_BYTES = 256 * 1024;

type SchemaInput = z.input<typeof queueMessageSchema>;

/** What a producer passes in: the schema's input (`to` may be one address, `kind` defaults). */
export type QueueMessageInput = Omit<SchemaInput, 'to' | 'references'> & {
  to: string | readonly string[];
  references?: string | readonly string[];
};

/** One invalid message of a call, as the dispatcher would name it in the DLQ. */
export interface InvalidMessage {
  index: number;
  field: string;
  rule: string;
  detail: string;
}

/** Base of the producer's own errors. */
export class ProducerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProducerError';
  }
}

/**
 * A message failed validation; nothing of the call was sent. `index`, `field`, `rule` name the first
 * invalid message, `invalid` lists every one.
 */
export class ProducerValidationError extends ProducerError {
  readonly index: number;
  readonly field: string;
  readonly rule: string;
  readonly detail: string;
  readonly invalid: readonly InvalidMessage[];
  constructor(invalid: readonly [InvalidMessage, ...InvalidMessage[]]) {
    const [first] = invalid;
    const more = invalid.length > 1 ? ` (and ${invalid.length - 1} more invalid)` : '';
    super(`message ${first.index} is invalid: ${first.detail} [rule ${first.rule}]${more}; nothing was sent`);
    this.name = 'ProducerValidationError';
    this.index = first.index;
    this.field = first.field;
    this.rule = first.rule;
    this.detail = first.detail;
    this.invalid = invalid;
  }
}

/** A validated message ready to send: its body, that body's size in UTF-8 bytes, and its key. */
export interface PreparedMessage {
  index: number;
  body: string;
  bytes: number;
  /** The caller's idempotencyKey, or the random UUID set for it (docs/design.md §12). */
  idempotencyKey: string;
  /** The message group: the tenant, so the queue serves tenants fairly (SQS fair queues). */
  tenantId: string;
}

/**
 * Validates, normalizes and sizes one message; returns the body to send, else why not. Never throws.
 * A message without `idempotencyKey` gets a random UUID: the body is then the same on every retry of
 * its send (the SDK's or ours), so a send that reached SQS twice is still delivered once.
 */
export function prepareMessage(message: unknown, index: number): PreparedMessage | InvalidMessage {
  let json: string | undefined;
  try {
    json = JSON.stringify(message);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    return { index, field: '(body)', rule: 'json', detail: '(body): must be serializable as JSON' };
  }
  const parsed = parseQueueMessage(json);
  if (!parsed.ok) return { index, field: parsed.field, rule: parsed.rule, detail: parsed.detail };
  const idempotencyKey = parsed.message.idempotencyKey ?? randomUUID();
  const body = toSqsText(JSON.stringify({ ...parsed.message, idempotencyKey }));
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_SQS_MESSAGE_BYTES) {
    const detail = `(body): must be at most ${MAX_SQS_MESSAGE_BYTES} bytes as sent to SQS, is ${bytes}`;
    return { index, field: '(body)', rule: 'max-bytes', detail };
  }
  return { index, body, bytes, idempotencyKey, tenantId: parsed.message.tenantId };
}

/**
 * SQS takes only XML characters, and the local SQS (fauxqs) also refuses those above U+FFFF; JSON
 * `\u` escapes carry them unchanged through both. Only string contents can hold them, so this is safe.
 */
function toSqsText(json: string): string {
  return json.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, (char) => {
    let out = '';
    for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/** The body the producer sends for one message; throws ProducerValidationError (index 0 unless given). */
export function encodeQueueMessage(message: QueueMessageInput, index = 0): string {
  const result = prepareMessage(message, index);
  if ('field' in result) throw new ProducerValidationError([result]);
  return result.body;
}
