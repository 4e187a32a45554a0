import type { QueueMessage } from '../core/message';

/** Recipients by header field; SES gets them as an explicit Destination, the tenant as RCPT TO. */
export interface Recipients {
  to: string[];
  cc: string[];
  bcc: string[];
}

/**
 * The message's recipients less those already delivered or finally refused by an earlier attempt. An
 * address listed more than once (also across to, cc and bcc) is owed once, in the first list naming it:
 * a second RCPT TO or Destination entry would mail it twice.
 */
export function owedRecipients(message: QueueMessage, settled: Iterable<string> = []): Recipients {
  const seen = new Set([...settled].map((a) => a.toLowerCase()));
  const keep = (list: string[] | undefined) =>
    (list ?? []).filter((a) => {
      const k = a.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  const to = keep(message.to);
  const cc = keep(message.cc);
  return { to, cc, bcc: keep(message.bcc) };
}

/** Every address, in to, cc, bcc order. */
export function allOf(r: Recipients): string[] {
  return [...r.to, ...r.cc, ...r.bcc];
}

/** Only the addresses in `keep` (case-insensitive). */
export function onlyThese(r: Recipients, keep: Iterable<string>): Recipients {
  const set = new Set([...keep].map((a) => a.toLowerCase()));
  const pick = (list: string[]) => list.filter((a) => set.has(a.toLowerCase()));
  return { to: pick(r.to), cc: pick(r.cc), bcc: pick(r.bcc) };
}

/** All but the addresses in `drop` (case-insensitive). */
export function without(r: Recipients, drop: Iterable<string>): Recipients {
  const set = new Set([...drop].map((a) => a.toLowerCase()));
  const pick = (list: string[]) => list.filter((a) => !set.has(a.toLowerCase()));
  return { to: pick(r.to), cc: pick(r.cc), bcc: pick(r.bcc) };
}

export function isEmpty(r: Recipients): boolean {
  return r.to.length + r.cc.length + r.bcc.length === 0;
}
