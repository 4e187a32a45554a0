import net from 'node:net';
import type tls from 'node:tls';
import { CredentialsError, TokenFailureError } from '../core/errors';
import type { SmtpCredential, SmtpCredentials, SmtpTarget } from '../core/ports';
import type { Clock, SmtpErrorInfo } from '../core/types';

export function timeoutInfo(phase: SmtpErrorInfo['phase'], message: string): SmtpErrorInfo {
  return { phase, code: 'ETIMEDOUT', message };
}

/** The config's own problem, found before any connection: `security: 'none'` outside local development. */
export function refuseConfig(target: SmtpTarget, allowInsecure: boolean): SmtpErrorInfo | undefined {
  if (target.security === 'none' && !allowInsecure) {
    return {
      phase: 'CONFIG',
      code: 'ECONFIG',
      message: "security 'none' is allowed only for local development (TENANT_SMTP_ALLOW_PRIVATE)",
    };
  }
  return undefined;
}

/**
 * Asks the credentials port, waiting at most until `deadline`. A failure is a `DECRYPT` failure (class
 * `credentials`) with the port's code, and a fixed message: nothing of the secret or its store's words.
 */
export async function credentialOf(
  credentials: SmtpCredentials,
  target: SmtpTarget,
  deadline: number,
  clock: Clock,
): Promise<SmtpCredential | SmtpErrorInfo> {
  const waitMs = deadline - clock.now();
  const late = timeoutInfo('DECRYPT', 'the SMTP credentials could not be obtained in time');
  if (waitMs <= 0) return late;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SmtpErrorInfo>((resolve) => {
    if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve(late), waitMs);
  });
  const asked = credentials.credentialFor(target, { deadline }).catch((err: unknown): SmtpErrorInfo => {
    if (err instanceof TokenFailureError) {
      const { failure } = err;
      return { phase: 'TOKEN', code: failure.code, message: failure.message, failure };
    }
    return {
      phase: 'DECRYPT',
      code: err instanceof CredentialsError ? err.code : 'ECREDENTIALS',
      message: 'the SMTP credentials could not be obtained',
    };
  });
  try {
    return await Promise.race([asked, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function isFailure(value: SmtpCredential | SmtpErrorInfo): value is SmtpErrorInfo {
  return 'phase' in value;
}

/** The secrets a credential holds, for the redactor (XOAUTH2's initial response holds the token too). */
export function secretsOf(credential: SmtpCredential): { user: string; secrets: string[] } {
  if (credential.type === 'password') return { user: credential.user, secrets: [credential.pass] };
  const xoauth2 = `user=${credential.user}\x01auth=Bearer ${credential.accessToken}\x01\x01`;
  return {
    user: credential.user,
    secrets: [credential.accessToken, Buffer.from(xoauth2, 'utf8').toString('base64')],
  };
}

/** TLS for the target: SNI and the certificate check use the configured name (an IP literal as the IP). */
export function tlsOptionsFor(target: SmtpTarget, ca: string | Buffer[] | undefined): tls.ConnectionOptions {
  return {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(!net.isIP(target.host) && { servername: target.host }),
    ...(ca !== undefined && { ca }),
  };
}
