import { domainToASCII } from 'node:url';
import { parse } from 'tldts';

/** Why a name cannot be a tenant's sending domain (the config API answers 422 `validation`). */
export type DomainNameProblem =
  | 'trailing-dot'
  | 'ip-literal'
  | 'not-a-domain'
  | 'not-registrable'
  | 'platform-domain';

export type DomainNameResult = { ok: true; name: string } | { ok: false; problem: DomainNameProblem };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The canonical form of a sending domain a tenant names (contract, "Domains"): IDN to punycode, lower case;
 * refused when it ends in a dot, is an IP literal, is not a host name, is a public suffix itself (`co.uk`,
 * `example`) rather than a name under one, or is the platform's own domain or a name under it.
 */
export function normalizeDomainName(input: string, platformDomain: string): DomainNameResult {
  if (input.endsWith('.')) return { ok: false, problem: 'trailing-dot' };
  if (input.includes(':') || input.startsWith('[') || parse(input).isIp)
    return { ok: false, problem: 'ip-literal' };
  const name = domainToASCII(input.trim() === input ? input : '').toLowerCase();
  const labels = name.split('.');
  if (name === '' || name.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    return { ok: false, problem: 'not-a-domain' };
  }
  if (/^\d+$/.test(labels.at(-1) ?? '')) return { ok: false, problem: 'ip-literal' };
  const parsed = parse(name, { allowPrivateDomains: true });
  if (parsed.domain === null) return { ok: false, problem: 'not-registrable' };
  const platform = platformDomain.toLowerCase();
  if (name === platform || name.endsWith(`.${platform}`)) return { ok: false, problem: 'platform-domain' };
  return { ok: true, name };
}
