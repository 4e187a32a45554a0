/**
 * The config API's HTTP errors (docs/design.md §15 Config API, "Error codes": `{ error: { code, message, field? } }`). Only an
 * `expose`d error reaches a client as it is; anything else becomes a generic 500.
 */

export const ERROR_CODES = [
  'bad-request',
  'unauthorized',
  'forbidden',
  'not-found',
  'conflict',
  'validation',
  'host-refused',
  'dns-failure',
  'password-required',
  'domain-taken',
  'domain-pending',
  'domain-unverified',
  'rate-limited',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base of every error the API answers with; `expose` says whether its message may reach the client. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly expose: boolean;
  readonly field: string | undefined;
  constructor(
    statusCode: number,
    code: ErrorCode,
    message: string,
    options: ErrorOptions & { field?: string | undefined; expose?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.expose = options.expose ?? statusCode < 500;
    this.field = options.field;
  }
}

/** 400: malformed JSON, a bad cursor or limit. */
export class BadRequestError extends HttpError {
  constructor(message: string, field?: string, options?: ErrorOptions) {
    super(400, 'bad-request', message, { ...options, field });
    this.name = 'BadRequestError';
  }
}

/** 401: the request carries no usable identity (the gateway let it through without claims). */
export class UnauthorizedError extends HttpError {
  constructor(message = 'missing or unusable token claims') {
    super(401, 'unauthorized', message);
    this.name = 'UnauthorizedError';
  }
}

/** 403: a caller acting on another tenant without the admin scope. */
export class ForbiddenError extends HttpError {
  constructor(message = 'not allowed to act on this tenant') {
    super(403, 'forbidden', message);
    this.name = 'ForbiddenError';
  }
}

/** 404: no such route, tenant id or delivery. */
export class NotFoundError extends HttpError {
  constructor(message = 'not found', field?: string) {
    super(404, 'not-found', message, { field });
    this.name = 'NotFoundError';
  }
}

/** 409: the config changed under a PUT/DELETE several times in a row. */
export class ConflictError extends HttpError {
  constructor(message = 'the sender config changed concurrently; retry') {
    super(409, 'conflict', message);
    this.name = 'ConflictError';
  }
}

export type UnprocessableCode =
  | 'validation'
  | 'host-refused'
  | 'dns-failure'
  | 'password-required'
  | 'domain-unverified';

/** 409: a sender domain another tenant owns or is verifying (the sender PUT and the domain routes). */
export class DomainConflictError extends HttpError {
  constructor(code: 'domain-taken' | 'domain-pending', message: string, field: string) {
    super(409, code, message, { field });
    this.name = 'DomainConflictError';
  }
}

/** 422: a well-formed body the API will not accept; `field` names the offending member (dotted path). */
export class UnprocessableError extends HttpError {
  constructor(code: UnprocessableCode, message: string, field?: string, options?: ErrorOptions) {
    super(422, code, message, { ...options, field });
    this.name = 'UnprocessableError';
  }
}

/** 429: `sendTo` used more than allowed per tenant per minute. */
export class RateLimitedError extends HttpError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'rate-limited', message);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

/** The body and status a client sees for any thrown value: exposed HttpErrors as they are, else a 500. */
export function errorResponseOf(err: unknown): { statusCode: number; body: ErrorBody } {
  if (err instanceof HttpError && err.expose) {
    const error: ErrorBody['error'] = { code: err.code, message: err.message };
    if (err.field !== undefined && err.field !== '') error.field = err.field;
    return { statusCode: err.statusCode, body: { error } };
  }
  return { statusCode: 500, body: { error: { code: 'internal', message: 'internal error' } } };
}
