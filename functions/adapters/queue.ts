import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueError } from '../core/errors';
import type { DlqEntry, MailQueue } from '../core/ports';

export interface QueueAdapterOptions {
  /**
   * Must be built with `useQueueUrlAsEndpoint: false`: the local SQS's queue URLs carry a `*.localhost`
   * host that does not resolve, so requests go to the client's endpoint (the same one in AWS).
   */
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
}

export const MAX_VISIBILITY_SECONDS = 43_200;
export const DLQ_DETAIL_MAX_CHARS = 1024;

/** Creates the adapter for the dispatcher's own queue operations (retry visibility, DLQ). */
export function createQueueAdapter(options: QueueAdapterOptions): MailQueue {
  const { sqs, queueUrl, dlqUrl } = options;
  return {
    async changeVisibility(receiptHandle, seconds) {
      const command = new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: clampVisibility(seconds),
      });
      try {
        await sqs.send(command);
      } catch (error) {
        throw translateSqsError('ChangeMessageVisibility', error);
      }
    },

    async sendToDlq(entry: DlqEntry) {
      const attributes: Record<string, MessageAttributeValue> = {
        reason: stringAttribute(entry.reason),
        detail: stringAttribute(attributeText(entry.detail, DLQ_DETAIL_MAX_CHARS)),
      };
      if (entry.tenantId !== undefined && entry.tenantId !== '') {
        attributes.tenantId = stringAttribute(attributeText(entry.tenantId, 256));
      }
      const command = new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: entry.body,
        MessageAttributes: attributes,
      });
      try {
        const { MessageId } = await sqs.send(command);
        return { messageId: MessageId ?? '' };
      } catch (error) {
        throw translateSqsError('SendMessage', error);
      }
    },
  };
}

/** Whole seconds in 0..43200; anything not a finite number means "visible now". */
export function clampVisibility(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(seconds));
}

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/**
 * SQS refuses empty attribute values and characters outside XML's set; a failure detail may carry
 * anything a remote server said, so those are replaced, and the text is cut on a code point.
 */
function attributeText(value: string, maxChars: number): string {
  const cleaned = value.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '?');
  const points = Array.from(cleaned);
  const cut = points.length > maxChars ? `${points.slice(0, maxChars - 1).join('')}…` : cleaned;
  return cut === '' ? '-' : cut;
}

function translateSqsError(operation: string, error: unknown): QueueError {
  const shape =
    typeof error === 'object' && error !== null ? (error as { name?: unknown; code?: unknown }) : {};
  const name = typeof shape.name === 'string' && shape.name !== '' ? shape.name : 'UnknownError';
  const code = name === 'Error' && typeof shape.code === 'string' ? shape.code : name;
  const message = error instanceof Error ? error.message : String(error);
  return new QueueError(`SQS ${operation} failed (${code}): ${message}`, code, { cause: error });
}
