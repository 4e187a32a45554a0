import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { FORBIDDEN_CONTROLS, FORBIDDEN_CONTROLS_TEXT } from '../core/message';
import { BadRequestError, UnprocessableError } from './errors';

/** The `field` of an error about the body as a whole (not JSON, too large, not an object), as in the DLQ. */
export const BODY_FIELD = '(body)';

/** Bodies above this are refused before parsing (a sender config is well under 4 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A JSON answer. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  } satisfies APIGatewayProxyStructuredResultV2;
}

/** An empty answer (DELETE's 204). */
export function noContent(): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

/**
 * The request body as parsed JSON: 400 `bad-request` when it is not JSON (or too large), 422
 * `validation` naming the field when any string in it holds a control character; `undefined` when there
 * is none, so each route decides whether that is allowed.
 */
export function parseJsonBody(body: string | undefined, isBase64Encoded: boolean | undefined): unknown {
  if (body === undefined || body === '') return undefined;
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES)
    throw new BadRequestError('request body is too large', BODY_FIELD);
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // Never echo the body or the parser's excerpt of it: it may hold a password.
    throw new BadRequestError('request body is not valid JSON', BODY_FIELD);
  }
  // Whatever the route and its schema (docs/design.md §15 Config API).
  const controlAt = controlCharacterAt(parsed);
  if (controlAt !== undefined) {
    throw new UnprocessableError(
      'validation',
      FORBIDDEN_CONTROLS_TEXT,
      controlAt === '' ? BODY_FIELD : controlAt,
    );
  }
  return parsed;
}

/** The dotted path of the member a zod issue is about (`smtp.port`); '' for the body itself. */
export function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join('.');
}

/**
 * The dotted path of the first string in `value` holding a C0 control, DEL, U+2028 or U+2029 (a NUL in
 * a username splits AUTH PLAIN; none belongs in any field of any body), '' for the value itself;
 * undefined when there is none.
 */
export function controlCharacterAt(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return FORBIDDEN_CONTROLS.test(value) ? path.join('.') : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, member] of Object.entries(value)) {
    const found = controlCharacterAt(member, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Parses with a schema; the first issue becomes a 422 `validation` naming its field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new UnprocessableError('validation', 'invalid request body', BODY_FIELD);
  const field = fieldOf(issue);
  throw new UnprocessableError('validation', issue.message, field === '' ? BODY_FIELD : field);
}
