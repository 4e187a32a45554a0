import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CredentialsError } from '../core/errors';
import type { DecryptOptions, PasswordCipher, SecretPurpose } from '../core/ports';
import type { Clock } from '../core/types';

/** The cache bound (docs/design.md §8 KMS): a decrypted password lives at most 15 minutes in a container. */
export const MAX_CACHE_TTL_MS = 15 * 60 * 1000;

export interface KmsCipherOptions {
  kms: KMSClient;
  keyId: string;
  clock: Clock;
  /** Plaintext cache lifetime; capped at 15 min (the default); 0 turns the cache off. */
  cacheTtlMs?: number;
  /** Most cached plaintexts kept; the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /** Longest wait for one KMS call, whatever the caller's deadline (default DECRYPT_CALL_TIMEOUT_MS). */
  callTimeoutMs?: number;
}

/**
 * KMS answers a Decrypt in milliseconds; one silent for 5 s is unavailable, and waiting for the caller's
 * whole deadline would leave a batch no time for the tenant's other messages (they fall back at once).
 */
export const DECRYPT_CALL_TIMEOUT_MS = 5_000;

interface CacheEntry {
  expiresAt: number;
  plaintext: Promise<string>;
}

/** Binds the ciphertext to its tenant: KMS refuses it under any other tenantId. */
function contextFor(tenantId: string, purpose: SecretPurpose = 'smtp-password'): Record<string, string> {
  return { tenantId, purpose };
}

/**
 * The failure's code: KMS's error name; a socket error's own code (the SDK names those `TimeoutError`
 * or `Error`); for an answer KMS did not name (a 5xx or 429 from a proxy or load balancer) the common
 * AWS name of its status, so the classification can tell an unavailable KMS from a refusal.
 */
function codeOf(err: unknown): string {
  const shape = (err ?? {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof shape.code === 'string' && /^E[A-Z]+$/.test(shape.code)) return shape.code;
  const name = typeof shape.name === 'string' && shape.name !== 'Error' ? shape.name : 'KMSError';
  const status = shape.$metadata?.httpStatusCode;
  if (status === undefined || /Exception$/.test(name)) return name;
  if (status === 429) return 'TooManyRequestsException';
  if (status === 503) return 'ServiceUnavailable';
  return status >= 500 ? 'InternalFailure' : name;
}

function credentialsError(action: string, tenantId: string, err: unknown): CredentialsError {
  // Only the SDK's error name and message travel on; neither ever holds the plaintext we sent.
  const code = codeOf(err);
  const detail = err instanceof Error ? `: ${err.message}` : '';
  return new CredentialsError(`KMS ${action} for tenant ${tenantId} failed (${code})${detail}`, code, {
    cause: err,
  });
}

/** Builds the SMTP password cipher over KMS with a per-container plaintext cache. */
export function createKmsCipher(options: KmsCipherOptions): PasswordCipher {
  const { kms, keyId, clock } = options;
  const ttlMs = Math.max(0, Math.min(options.cacheTtlMs ?? MAX_CACHE_TTL_MS, MAX_CACHE_TTL_MS));
  const maxEntries = Math.max(1, options.maxEntries ?? 1000);
  const callTimeoutMs = options.callTimeoutMs ?? DECRYPT_CALL_TIMEOUT_MS;
  // Keyed by tenant AND ciphertext, so a ciphertext copied to another tenant never hits a cached plaintext.
  const cache = new Map<string, CacheEntry>();

  async function encryptPassword(
    tenantId: string,
    plaintext: string,
    purpose?: SecretPurpose,
  ): Promise<string> {
    try {
      const out = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(plaintext, 'utf8'),
          EncryptionContext: contextFor(tenantId, purpose),
        }),
      );
      if (!out.CiphertextBlob)
        throw new CredentialsError('KMS Encrypt returned no ciphertext', 'EmptyResponse');
      return Buffer.from(out.CiphertextBlob).toString('base64');
    } catch (err) {
      throw err instanceof CredentialsError ? err : credentialsError('Encrypt', tenantId, err);
    }
  }

  const msUntil = (deadline: number): number => Math.max(0, deadline - clock.now());
  const timedOut = (tenantId: string): CredentialsError =>
    new CredentialsError(`KMS Decrypt for tenant ${tenantId} timed out`, 'TimeoutError');

  async function callDecrypt(
    tenantId: string,
    ciphertextB64: string,
    deadline?: number,
    purpose?: SecretPurpose,
  ): Promise<string> {
    const callEnd = clock.now() + callTimeoutMs;
    const signal = AbortSignal.timeout(
      msUntil(deadline === undefined ? callEnd : Math.min(deadline, callEnd)),
    );
    try {
      const command = new DecryptCommand({
        KeyId: keyId,
        CiphertextBlob: Buffer.from(ciphertextB64, 'base64'),
        EncryptionContext: contextFor(tenantId, purpose),
      });
      // The request itself ends at the first caller's deadline (or the call timeout): a hung connection does not linger.
      const out = await kms.send(command, { abortSignal: signal });
      if (!out.Plaintext) throw new CredentialsError('KMS Decrypt returned no plaintext', 'EmptyResponse');
      return Buffer.from(out.Plaintext).toString('utf8');
    } catch (err) {
      if (signal.aborted) throw timedOut(tenantId);
      throw err instanceof CredentialsError ? err : credentialsError('Decrypt', tenantId, err);
    }
  }

  /** Each caller waits at most until its own deadline, even on a decrypt another caller started. */
  function within(plaintext: Promise<string>, tenantId: string, deadline?: number): Promise<string> {
    if (deadline === undefined) return plaintext;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut(tenantId)), msUntil(deadline));
    });
    return Promise.race([plaintext, timeout]).finally(() => clearTimeout(timer));
  }

  function decryptPassword(
    tenantId: string,
    ciphertextB64: string,
    opts: DecryptOptions = {},
  ): Promise<string> {
    const { deadline, purpose } = opts;
    if (deadline !== undefined && msUntil(deadline) <= 0) return Promise.reject(timedOut(tenantId));
    if (ttlMs === 0)
      return within(callDecrypt(tenantId, ciphertextB64, deadline, purpose), tenantId, deadline);
    const cacheKey = `${tenantId}\u0000${purpose ?? 'smtp-password'}\u0000${ciphertextB64}`;
    const now = clock.now();
    const hit = cache.get(cacheKey);
    if (hit && hit.expiresAt > now) {
      // Move to the end (most recently used); the expiry stays that of the first decrypt.
      cache.delete(cacheKey);
      cache.set(cacheKey, hit);
      return within(hit.plaintext, tenantId, deadline);
    }
    cache.delete(cacheKey);
    // The promise itself is cached, so concurrent decrypts of one ciphertext make one KMS call.
    const plaintext = callDecrypt(tenantId, ciphertextB64, deadline, purpose);
    const entry: CacheEntry = { expiresAt: now + ttlMs, plaintext };
    cache.set(cacheKey, entry);
    plaintext.catch(() => {
      if (cache.get(cacheKey) === entry) cache.delete(cacheKey);
    });
    for (const key of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(key);
    }
    return within(plaintext, tenantId, deadline);
  }

  return { encryptPassword, decryptPassword };
}
