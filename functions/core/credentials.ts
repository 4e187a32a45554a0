import type { SmtpCredential, SmtpCredentials } from './ports';

/** A credential known already (an unsaved config's typed password): nothing to fetch or forget. */
export function fixedCredentials(credential: SmtpCredential): SmtpCredentials {
  return { credentialFor: async () => credential, invalidate: () => undefined };
}
