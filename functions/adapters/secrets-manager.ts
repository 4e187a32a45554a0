import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretUnavailableError } from '../core/errors';
import type { Clock } from '../core/types';

/** How long a container keeps a secret it read: a rotation reaches every container within this. */
export const SECRET_MAX_AGE_MS = 5 * 60_000;

export interface SecretReaderOptions {
  client: SecretsManagerClient;
  /** The secret's ARN (or name). */
  secretId: string;
  clock: Clock;
  maxAgeMs?: number;
}

/**
 * Reads one string secret, cached per container for `maxAgeMs` (docs/design.md §18: the platform
 * webhook's signing secret); concurrent readers share one in-flight GetSecretValue, and a failed read
 * is not cached. The value never appears in an error.
 */
export function createSecretReader(options: SecretReaderOptions): () => Promise<string> {
  const maxAgeMs = options.maxAgeMs ?? SECRET_MAX_AGE_MS;
  let cached: { value: string; readAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function read(): Promise<string> {
    let value: string | undefined;
    try {
      const out = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
      value = out.SecretString;
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      throw new SecretUnavailableError(`GetSecretValue failed: ${name}`, { cause: err });
    }
    if (value === undefined || value.length === 0) {
      throw new SecretUnavailableError('the secret has no string value');
    }
    cached = { value, readAt: options.clock.now() };
    return value;
  }

  return () => {
    if (cached && options.clock.now() - cached.readAt < maxAgeMs) return Promise.resolve(cached.value);
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
