import { promises as dns } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { DnsFailureError, HostRefusedError } from '../core/errors';
import type { HostGuard, VettedTarget } from '../core/ports';

/** Resolves a host name to its addresses (all of them, in resolver order). Injected in tests. */
export type Resolver = (host: string) => Promise<string[]>;

export interface NetworkGuardOptions {
  resolve?: Resolver;
  /** Local development only (`TENANT_SMTP_ALLOW_PRIVATE=1`): loopback/private/ULA/CGNAT and any port. */
  allowPrivate?: boolean;
  /** The ports `vet` accepts (default the SMTP submission ports; webhooks pass their own). */
  ports?: readonly number[];
}

export interface NetworkGuard extends HostGuard {
  /** Throws HostRefusedError (reason `port` or `security`) when the port or security is not allowed. */
  checkPort(port: number, security?: string): void;
}

export type AddressVerdict = { ok: true } | { ok: false; reason: string };

/** Lambda cannot send on 25; these are the submission ports. */
const SMTP_PORTS = new Set([465, 587, 2525]);
const SECURITIES = new Set(['tls', 'starttls', 'none']);
/**
 * Ranges that `allowPrivate` opens. Link-local (169.254/16 with the metadata service, fe80::/10),
 * unspecified, broadcast, multicast and reserved stay refused even then.
 */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

/** The system resolver: getaddrinfo, every answer, in the order the resolver gave them. */
export const systemResolver: Resolver = async (host) => {
  const answers = await dns.lookup(host, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
};

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 addresses an IPv6 address carries, for the forms that route to them: mapped, RFC 6145,
 * NAT64 (64:ff9b::/96), 6to4 (2002:V4ADDR::/48) and Teredo (server, and the client stored inverted).
 * `undefined` when the address embeds none.
 */
function embeddedIpv4(address: ipaddr.IPv6, range: string): ipaddr.IPv4[] | undefined {
  const p = address.parts;
  const word = (i: number): number => p[i] ?? 0;
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return [ipv4FromWords(word(6), word(7))];
    case 'rfc6052':
      // Only the well-known /96 has the IPv4 in the last 32 bits; the local-use 64:ff9b:1::/48 places it
      // by an operator-chosen prefix length we cannot know, so it gets no IPv4 and is refused as is.
      return word(2) === 0 ? [ipv4FromWords(word(6), word(7))] : undefined;
    case '6to4':
      return [ipv4FromWords(word(1), word(2))];
    case 'teredo':
      return [ipv4FromWords(word(2), word(3)), ipv4FromWords(word(6) ^ 0xffff, word(7) ^ 0xffff)];
    default:
      return undefined;
  }
}

function judgeRange(range: string, allowPrivate: boolean): AddressVerdict {
  if (range === 'unicast' || (allowPrivate && PRIVATE_RANGES.has(range))) return { ok: true };
  return { ok: false, reason: range };
}

/** Whether the guard accepts one resolved address; IPv4 inside IPv6 is judged by the IPv4. */
export function isAddressAllowed(address: string, allowPrivate: boolean): AddressVerdict {
  if (!ipaddr.isValid(address)) return { ok: false, reason: 'invalid-address' };
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (parsed.kind() === 'ipv6') {
    const inner = embeddedIpv4(parsed as ipaddr.IPv6, range);
    if (inner) {
      for (const v4 of inner) {
        const verdict = judgeRange(v4.range(), allowPrivate);
        if (!verdict.ok) return verdict;
      }
      return { ok: true };
    }
  }
  return judgeRange(range, allowPrivate);
}

function canonical(address: string): { address: string; family: 4 | 6 } {
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return { address: parsed.toString(), family: 4 };
  const v6 = parsed as ipaddr.IPv6;
  // Zone ids only matter for link-local, which is always refused; drop them from the connect address.
  return { address: new ipaddr.IPv6(v6.parts).toRFC5952String(), family: 6 };
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/** Builds the guard that vets tenant SMTP hosts at config time and at connect time. */
export function createNetworkGuard(options: NetworkGuardOptions = {}): NetworkGuard {
  const resolve = options.resolve ?? systemResolver;
  const allowPrivate = options.allowPrivate === true;
  const ports = options.ports ? new Set(options.ports) : SMTP_PORTS;

  function checkPort(port: number, security?: string): void {
    const inRange = Number.isInteger(port) && port >= 1 && port <= 65535;
    if (!inRange || (!allowPrivate && !ports.has(port))) {
      throw new HostRefusedError(`port ${port} is not allowed (use ${[...ports].join(', ')})`, 'port');
    }
    if (security === undefined) return;
    if (!SECURITIES.has(security) || (security === 'none' && !allowPrivate)) {
      throw new HostRefusedError(`security '${security}' is not allowed (use tls or starttls)`, 'security');
    }
  }

  async function addressesOf(host: string): Promise<string[]> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (ipaddr.IPv6.isValid(bare) || ipaddr.IPv4.isValidFourPartDecimal(bare)) return [bare];
    if (ipaddr.IPv4.isValid(bare)) {
      // '0x7f.1', '2130706433', '010.0.0.1': parsers disagree on these (octal!), so a typo could reach
      // a host nobody meant. Refuse rather than guess, and say what it would have meant.
      const meant = ipaddr.IPv4.parse(bare).toString();
      throw new HostRefusedError(
        `host ${host} is an IPv4 address in a non-standard spelling (${meant}); write it as a dotted quad`,
        'ip-spelling',
      );
    }
    let addresses: string[];
    try {
      addresses = await resolve(bare);
    } catch (err) {
      const code = errorCode(err) ?? 'ENOTFOUND';
      throw new DnsFailureError(`DNS lookup of ${host} failed (${code})`, code, { cause: err });
    }
    if (addresses.length === 0) {
      throw new DnsFailureError(`DNS lookup of ${host} returned no address`, 'ENOTFOUND');
    }
    return addresses;
  }

  async function vet(host: string, port: number): Promise<VettedTarget> {
    checkPort(port);
    if (host.length === 0 || host.length > 253) {
      throw new HostRefusedError('host name is empty or too long', 'invalid-host');
    }
    const addresses = await addressesOf(host);
    // Every answer must pass: a name answering [public, private] could otherwise be steered inward.
    for (const address of addresses) {
      const verdict = isAddressAllowed(address, allowPrivate);
      if (!verdict.ok) {
        throw new HostRefusedError(`host ${host} resolves to ${address} (${verdict.reason})`, verdict.reason);
      }
    }
    const vetted = addresses.map(canonical);
    const chosen = vetted.find((entry) => entry.family === 4) ?? vetted[0];
    if (!chosen) throw new DnsFailureError(`DNS lookup of ${host} returned no address`, 'ENOTFOUND');
    return { host, ...chosen };
  }

  return { vet, checkPort };
}
