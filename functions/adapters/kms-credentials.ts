import { CredentialsError } from '../core/errors';
import type { PasswordCipher, SmtpCredential, SmtpCredentials, SmtpTarget } from '../core/ports';

/**
 * The credentials port over the stored KMS ciphertext: the password is decrypted (through the cipher's
 * per-container cache) when the sender opens a connection, and goes nowhere else.
 */
export function createKmsCredentials(cipher: Pick<PasswordCipher, 'decryptPassword'>): SmtpCredentials {
  return {
    async credentialFor(target: SmtpTarget, opts = {}): Promise<SmtpCredential> {
      if (target.passwordCiphertext === undefined) {
        throw new CredentialsError('no stored password for this SMTP config', 'NoCiphertext');
      }
      const pass = await cipher.decryptPassword(target.tenantId, target.passwordCiphertext, opts);
      return { type: 'password', user: target.username, pass };
    },
    // A ciphertext decrypts to the same password until the config (and its ciphertext) changes.
    invalidate: () => undefined,
  };
}
