import type { QueueMessage } from '../core/message';

/** Recipients by header field; SES gets them as an explicit Destination, the tenant as RCPT TO. */
export interface Recipients {
  to: string[];
  cc: string[];
  bcc: string[];
}

/** The message's recipients less those already delivered or finally refused by an earlier attempt. */
export function owedRecipients(message: QueueMessage, settled: Iterable<string> = []): Recipients {
  const done = new Set([...settled].map((a) => a.toLowerCase()));
  const keep = (list: string[] | undefined) => dedupe(list ?? []).filter((a) => !done.has(a.toLowerCase()));
  return { to: keep(message.to), cc: keep(message.cc), bcc: keep(message.bcc) };
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

export function isEmpty(r: Recipients): boolean {
  return r.to.length + r.cc.length + r.bcc.length === 0;
}

function dedupe(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const k = a.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
