/** The alert email (issue 14, "Delivery"): a plain subject and a text body written from the event. Pure. */
import {
  type AlertEvent,
  adviceFor,
  type DeadLetteredData,
  type DomainData,
  type RecoveredData,
  type UnhealthyData,
  whatFailed,
} from './alerts';
import { cleanDisplayName } from './fallback';
import type { ReputationWarningData } from './reputation';

export interface AlertEmail {
  subject: string;
  text: string;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function oneLine(s: string): string {
  return s.replace(/[\p{Cc}\s]+/gu, ' ').trim();
}

function meanwhile(platform: string, fallback: unknown): string {
  return fallback === 'hold'
    ? 'Meanwhile your mail is held in the queue (your fallback policy is "hold") and goes out through your server once it works again; mail held longer than the hold limit is given up.'
    : `Meanwhile your mail still goes out, from ${platform}'s sender address with your name and your reply-to address, so recipients still get it.`;
}

function unhealthy(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<UnhealthyData>;
  const f = d.lastFailure;
  const what = f ? whatFailed(f) : 'your SMTP server failed';
  const held = d.fallback === 'hold';
  const subject = held
    ? `[${p}] Mail from ${e.tenantId} is held: ${what}`
    : `[${p}] Mail from ${e.tenantId} is going out through ${p}: ${what}`;
  const lines = [
    `Since ${e.createdAt}, ${p} cannot send mail for ${e.tenantId} through your own SMTP server: ${what}.`,
    '',
    f ? `What failed: ${f.class} at ${f.phase} (${f.code}): ${oneLine(f.message)}` : '',
    '',
    meanwhile(p, d.fallback),
    '',
    `We try your server again from ${d.retryAt ?? 'shortly'} on, with growing pauses, and tell you when it works again.`,
    '',
    `What to do: ${(f && adviceFor(f)) ?? 'check your sender settings and your server.'}`,
    'Then use the sender test in your settings to check the server; the next message sent after that closes the alert.',
  ];
  return { subject, text: lines.join('\n') };
}

function counts(d: Partial<RecoveredData>): string {
  return `${num(d.messagesViaFallback)} message(s) went out through the fallback and ${num(d.messagesHeld)} were held.`;
}

function recovered(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<RecoveredData>;
  return {
    subject: `[${p}] Mail from ${e.tenantId} goes out through your SMTP server again`,
    text: [
      `Your SMTP server took mail for ${e.tenantId} again at ${e.createdAt}.`,
      `It had been failing since ${str(d.unhealthySince) ?? 'an earlier alert'}; in that time ${counts(d)}`,
      '',
      'Nothing to do.',
    ].join('\n'),
  };
}

function stillUnhealthy(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<RecoveredData & UnhealthyData>;
  const what = d.lastFailure ? whatFailed(d.lastFailure) : 'your SMTP server still fails';
  return {
    subject: `[${p}] Still failing: mail from ${e.tenantId} is going out through ${p}: ${what}`,
    text: [
      `Your SMTP server has been failing since ${str(d.unhealthySince) ?? 'an earlier alert'}: ${what}.`,
      `So far ${counts(d)}`,
      d.lastFailure
        ? `Last failure: ${d.lastFailure.class} (${d.lastFailure.code}): ${oneLine(d.lastFailure.message)}`
        : '',
      '',
      meanwhile(p, d.fallback),
      '',
      `What to do: ${(d.lastFailure && adviceFor(d.lastFailure)) ?? 'check your sender settings and your server.'}`,
      'We remind you every 24 hours while this lasts.',
    ].join('\n'),
  };
}

function deadLettered(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<DeadLetteredData>;
  const reasons = Object.entries(d.reasons ?? {})
    .map(([reason, n]) => `  ${reason}: ${num(n)}`)
    .join('\n');
  return {
    subject: `[${p}] ${num(d.count)} message(s) from ${e.tenantId} could not be delivered`,
    text: [
      `${num(d.count)} message(s) of ${e.tenantId} could not be delivered by any route and were set aside (dead-lettered) in the window ending ${e.createdAt}.`,
      'By reason:',
      reasons,
      d.lastMessageId ? `Last message id: ${d.lastMessageId}` : '',
      '',
      'What to do: look these messages up in the delivery log of your account (status "dead"); "validation" means the producer sent an invalid message, "undeliverable" that neither your server nor the platform could send it, "held-expired" that a held message waited too long.',
    ].join('\n'),
  };
}

function domainChanged(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<DomainData>;
  const domain = oneLine(String(d.domain ?? 'your domain'));
  if (e.type === 'domain.verified') {
    return {
      subject: `[${p}] ${domain} is verified: ${e.tenantId} can send from it`,
      text: `Amazon SES verified ${domain} for ${e.tenantId} at ${e.createdAt} (DKIM ${d.dkim}, MAIL FROM ${d.mailFrom}).

What to do: set the sender to domain mode with an address at ${domain} (PUT /tenants/${e.tenantId}/sender). Keep the DNS records in place: removing them makes SES stop accepting the domain.`,
    };
  }
  return {
    subject: `[${p}] ${domain} could not be verified for ${e.tenantId}`,
    text: `Amazon SES gave up verifying ${domain} for ${e.tenantId} at ${e.createdAt} (DKIM ${d.dkim}, MAIL FROM ${d.mailFrom}).

Meanwhile: mail of ${e.tenantId} leaves from ${p}'s own sender, as before.

What to do: check the DNS records the domain route lists (GET /tenants/${e.tenantId}/domains/${domain}), then start verification again (PUT /tenants/${e.tenantId}/domains/${domain}).`,
  };
}

function reputation(e: AlertEvent, p: string): AlertEmail {
  const d = e.data as Partial<ReputationWarningData>;
  const what = d.kind === 'complaint' ? 'complaint' : 'hard bounce';
  const pct = (n: number | undefined) => `${((n ?? 0) * 100).toFixed(2)} %`;
  return {
    subject: `[${p}] Mail from ${e.tenantId}: ${what} rate ${pct(d.rate)} over the last 24 hours`,
    text: `Over the last 24 hours, ${d.bounces ?? 0} of ${d.recipients ?? 0} recipients of mail from ${e.tenantId} sent through Amazon SES bounced for good and ${d.complaints ?? 0} complained: a ${what} rate of ${pct(d.rate)}, where SES reviews a sender at ${pct(d.threshold)}.

Meanwhile: the addresses that bounced or complained are suppressed for ${e.tenantId} and are not mailed again. If the rate stays high, SES may pause ${e.tenantId}'s sending.

What to do: check where the recipient lists come from (old imports, purchased or scraped lists, forms without confirmation) and remove addresses that do not want the mail.`,
  };
}

function testEmail(e: AlertEvent, p: string): AlertEmail {
  return {
    subject: `[${p}] Test alert for ${e.tenantId}`,
    text: `This is a test of the alerts of ${e.tenantId} at ${p}, sent at ${e.createdAt}. Nothing to do.`,
  };
}

/** The alert email for an event: a plain one-line subject and a text body (what, since when, what to do). */
export function composeAlertEmail(event: AlertEvent, platformName: string): AlertEmail {
  const p = cleanDisplayName(platformName) || 'the platform';
  const email =
    event.type === 'sender.unhealthy'
      ? unhealthy(event, p)
      : event.type === 'sender.recovered'
        ? recovered(event, p)
        : event.type === 'sender.still-unhealthy'
          ? stillUnhealthy(event, p)
          : event.type === 'messages.dead-lettered'
            ? deadLettered(event, p)
            : event.type === 'domain.verified' || event.type === 'domain.failed'
              ? domainChanged(event, p)
              : event.type === 'reputation.warning'
                ? reputation(event, p)
                : testEmail(event, p);
  // Lines left empty by a missing field collapse, so the text reads as paragraphs.
  const text = email.text.replace(/\n{3,}/g, '\n\n').trim();
  return { subject: oneLine(email.subject).slice(0, 998), text: `${text}\n` };
}
