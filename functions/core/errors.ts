/**
 * Errors the ports (core/ports.ts) may raise: adapters translate outside systems' errors into these
 * where they enter the project, so callers never see an SDK error class. Each names itself and keeps the
 * original as `cause`; none ever carries a password.
 */
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

/**
 * SES refused an identity that is not verified (domain tier → platform, `domain-unverified`).
 * `identities` lists the ones SES named ("failed the check in region …: a, b"), empty when it named none:
 * in the SES sandbox unverified *recipients* are refused the same way, so callers check the list.
 */
export class IdentityNotVerifiedError extends AdapterError {
  readonly identities: string[];
  constructor(message: string, identities: string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'IdentityNotVerifiedError';
    this.identities = identities;
  }
}

/** SES could not send (throttled, rejected, unreachable); the message stays owed. */
export class SesSendError extends AdapterError {
  readonly code: string;
  readonly retryable: boolean;
  /** The request may have reached SES and been sent (a 5xx, a lost answer, our own timeout). */
  readonly mayHaveSent: boolean;
  constructor(
    message: string,
    code: string,
    retryable: boolean,
    options?: ErrorOptions & { mayHaveSent?: boolean },
  ) {
    super(message, options);
    this.name = 'SesSendError';
    this.code = code;
    this.retryable = retryable;
    this.mayHaveSent = options?.mayHaveSent ?? false;
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
