import type { FailureRecord } from './types';

/**
 * Errors the ports (core/ports.ts) may raise: adapters translate outside systems' errors into these
 * where they enter the project, so callers never see an SDK error class. Each names itself and keeps the
 * original as `cause`; none ever carries a password.
 */
/** An error as one line for a log or a record: `Name: message` (its cause left out). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export class AdapterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AdapterError';
  }
}

/** A DynamoDB conditional write lost (someone else wrote first, or the condition no longer holds). */
export class ConditionFailedError extends AdapterError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConditionFailedError';
  }
}

/** KMS could not encrypt or decrypt (wrong context, wrong key, denied). Class `credentials`. */
export class CredentialsError extends AdapterError {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CredentialsError';
    this.code = code;
  }
}

/** The network guard refused a tenant SMTP host or port. Class `config-invalid`. */
export class HostRefusedError extends AdapterError {
  readonly reason: string;
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HostRefusedError';
    this.reason = reason;
  }
}

/** The tenant SMTP host name did not resolve. Class `connection`; 422 `dns-failure` at config time. */
export class DnsFailureError extends AdapterError {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsFailureError';
    this.code = code;
  }
}

/** The queue refused or could not take a request; `code` is the SDK error name (or the socket's errno). */
export class QueueError extends AdapterError {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QueueError';
    this.code = code;
  }
}

/** A delivery-log cursor that is not one the store handed out for this tenant (the API answers 400). */
export class InvalidCursorError extends AdapterError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidCursorError';
  }
}

/**
 * The OAuth2 token endpoint gave no access token; `failure` is its classified record (phase `TOKEN`,
 * secrets redacted).
 */
export class TokenFailureError extends AdapterError {
  readonly failure: FailureRecord;
  constructor(failure: FailureRecord, options?: ErrorOptions) {
    super(failure.message, options);
    this.name = 'TokenFailureError';
    this.failure = failure;
  }
}

export class InvalidLogCursorError extends AdapterError {
  constructor() {
    super('cursor is not valid for this listing');
    this.name = 'InvalidLogCursorError';
  }
}

/** The identity already exists in the SES account (made outside tenant-mailer, or by a racing request). */
export class IdentityExistsError extends AdapterError {
  constructor(domain: string, options?: ErrorOptions) {
    super(`SES identity ${domain} already exists`, options);
    this.name = 'IdentityExistsError';
  }
}

/** A stored secret (Secrets Manager) could not be read: missing, denied, unavailable. Names no value. */
export class SecretUnavailableError extends AdapterError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretUnavailableError';
  }
}
