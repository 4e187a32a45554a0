import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { domainOf } from '../core/address';
import type { BuiltMime, MimeInput } from '../core/ports';

export type { BuiltMime, MimeInput } from '../core/ports';

/**
 * Builds the MIME message both routes send (tenant SMTP and SES Raw) with nodemailer's MailComposer.
 * Bcc never goes in here: blind recipients belong to the envelope / SES Destination only.
 */
export async function buildMime(input: MimeInput): Promise<BuiltMime> {
  const messageId =
    input.messageId !== undefined
      ? withBrackets(input.messageId)
      : generateMessageId(input.messageIdDomain ?? fromDomain(input.from));
  const composer = new MailComposer({
    from: input.from,
    ...(input.replyTo !== undefined && { replyTo: input.replyTo }),
    to: input.to,
    ...(input.cc !== undefined && input.cc.length > 0 && { cc: input.cc }),
    subject: input.subject,
    ...(input.text !== undefined && { text: input.text }),
    ...(input.html !== undefined && { html: input.html }),
    ...(input.headers !== undefined && { headers: input.headers }),
    ...(input.inReplyTo !== undefined && { inReplyTo: input.inReplyTo }),
    ...(input.references !== undefined && input.references.length > 0 && { references: input.references }),
    messageId,
    ...(input.date !== undefined && { date: input.date }),
    // SMTP DATA and SES Raw both expect CRLF; content is inline strings, never a path or URL to fetch.
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  return { raw, messageId };
}

function withBrackets(id: string): string {
  const bare = id.trim().replace(/^<|>$/g, '');
  return `<${bare}>`;
}

function generateMessageId(domain: string): string {
  return `<${randomUUID()}@${domain}>`;
}

/** The domain of the address in a From header value (`Name <a@b>` or bare `a@b`). */
function fromDomain(from: string): string {
  const bracketed = /<([^<>]*)>\s*$/.exec(from);
  const address = (bracketed?.[1] ?? from).trim();
  const domain = address.includes('@') ? domainOf(address).trim() : '';
  return /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'localhost';
}
