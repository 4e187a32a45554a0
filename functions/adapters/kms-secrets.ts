import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CredentialsError } from '../core/errors';
import type { SecretCipher } from '../core/ports';

export interface SecretCipherOptions {
  kms: KMSClient;
  keyId: string;
  purpose: string;
  /** Each KMS call ends after this (default 5 s). */
  timeoutMs?: number;
}

/** Builds a cipher for one purpose of tenant secret (e.g. `webhook-secret`). */
export function createSecretCipher(options: SecretCipherOptions): SecretCipher {
  const { kms, keyId, purpose } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const context = (tenantId: string) => ({ tenantId, purpose });
  const failed = (action: string, tenantId: string, err: unknown) => {
    // Only the SDK's error name travels on; neither it nor our message holds the plaintext.
    const code = err instanceof Error && err.name !== 'Error' ? err.name : 'KMSError';
    return new CredentialsError(
      `KMS ${action} of the ${purpose} of tenant ${tenantId} failed (${code})`,
      code,
      {
        cause: err,
      },
    );
  };

  return {
    async encrypt(tenantId, plaintext) {
      try {
        const out = await kms.send(
          new EncryptCommand({
            KeyId: keyId,
            Plaintext: Buffer.from(plaintext, 'utf8'),
            EncryptionContext: context(tenantId),
          }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
        if (!out.CiphertextBlob)
          throw new CredentialsError('KMS Encrypt returned no ciphertext', 'EmptyResponse');
        return Buffer.from(out.CiphertextBlob).toString('base64');
      } catch (err) {
        throw err instanceof CredentialsError ? err : failed('Encrypt', tenantId, err);
      }
    },
    async decrypt(tenantId, ciphertextB64) {
      try {
        const out = await kms.send(
          new DecryptCommand({
            KeyId: keyId,
            CiphertextBlob: Buffer.from(ciphertextB64, 'base64'),
            EncryptionContext: context(tenantId),
          }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
        if (!out.Plaintext) throw new CredentialsError('KMS Decrypt returned no plaintext', 'EmptyResponse');
        return Buffer.from(out.Plaintext).toString('utf8');
      } catch (err) {
        throw err instanceof CredentialsError ? err : failed('Decrypt', tenantId, err);
      }
    },
  };
}
