import { domainOf } from '../core/address';
import { DnsFailureError, HostRefusedError } from '../core/errors';
import type { HostGuard, VettedTarget } from '../core/ports';
import type { SenderConfig, SmtpSecurity } from '../core/types';
import { TIMED_OUT, within } from './deadline';
import { UnprocessableError } from './errors';

/**
 * The rules a sender config must keep beyond its schema (docs/design.md §15 Config API, §14 Security rules),
 * shared by PUT and the test endpoint so both judge a config alike.
 */

interface SmtpServerFields {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
}

/** `security: "none"` only where local development opened it (`TENANT_SMTP_ALLOW_PRIVATE=1`). */
export function checkSecurity(security: SmtpSecurity, allowPrivateSmtp: boolean): void {
  if (security === 'none' && !allowPrivateSmtp) {
    throw new UnprocessableError('validation', 'security must be "tls" or "starttls"', 'smtp.security');
  }
}

/**
 * How long the config-time guard waits for DNS (the dispatcher's connect+greeting bound). A name whose
 * servers never answer must not hold a request until the Lambda times out: that would be a 5xx.
 */
export const GUARD_TIMEOUT_MS = 10_000;

/**
 * Vets the host and port with the network guard within `timeoutMs`; refusals become 422 naming the
 * field at fault, a lookup that does not answer in time a 422 `dns-failure`.
 */
export async function guardHost(
  guard: HostGuard,
  host: string,
  port: number,
  timeoutMs: number = GUARD_TIMEOUT_MS,
): Promise<void> {
  let outcome: VettedTarget | typeof TIMED_OUT;
  try {
    outcome = await within(guard.vet(host, port), timeoutMs);
  } catch (err) {
    if (err instanceof HostRefusedError) {
      const field =
        err.reason === 'port' ? 'smtp.port' : err.reason === 'security' ? 'smtp.security' : 'smtp.host';
      throw new UnprocessableError('host-refused', err.message, field, { cause: err });
    }
    if (err instanceof DnsFailureError) {
      throw new UnprocessableError('dns-failure', err.message, 'smtp.host', { cause: err });
    }
    throw err;
  }
  if (outcome === TIMED_OUT) {
    throw new UnprocessableError('dns-failure', `DNS lookup of ${host} did not answer in time`, 'smtp.host');
  }
}

/** Whether a stored password may be reused: same host (any case, trailing dot aside), port and username. */
export function sameServer(a: Pick<SmtpServerFields, 'host' | 'port' | 'username'>, b: typeof a): boolean {
  const host = (h: string) => h.toLowerCase().replace(/\.$/, '');
  return host(a.host) === host(b.host) && a.port === b.port && a.username === b.username;
}

/**
 * The stored ciphertext an omitted password stands for: only while host, port and username are those
 * of the stored smtp config (moving a credential to another server needs it entered again).
 */
export function storedCiphertextFor(server: SmtpServerFields, stored: SenderConfig | null): string {
  const smtp = stored?.mode === 'smtp' ? stored.smtp : undefined;
  if (!smtp?.passwordCiphertext || !sameServer(server, smtp)) {
    throw new UnprocessableError(
      'password-required',
      'a password is required: no stored password for this host, port and username',
      'smtp.password',
    );
  }
  return smtp.passwordCiphertext;
}

/** Domain mode: the From address must be at the domain itself. */
export function checkDomainAddress(name: string, fromAddress: string): void {
  if (domainOf(fromAddress).toLowerCase() !== name.toLowerCase()) {
    throw new UnprocessableError(
      'validation',
      `fromAddress must be an address at ${name}`,
      'domain.fromAddress',
    );
  }
}

/** The sender domain a stored config holds, lower case; undefined outside domain mode. */
export function senderDomain(config: SenderConfig | null): string | undefined {
  return config?.mode === 'domain' ? config.domain?.name.toLowerCase() : undefined;
}
