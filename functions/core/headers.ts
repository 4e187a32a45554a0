/** Headers the dispatcher adds to every message, whichever route sends it (docs/design.md §6 Queue message). */
import type { QueueMessage } from './message';

/** The message's own X-* headers plus Auto-Submitted, List-Unsubscribe and threading headers. */
export function dispatchHeaders(message: QueueMessage): Record<string, string> {
  // The schema allows only X-* names here, so none of them can shadow the headers set below.
  const headers: Record<string, string> = { ...message.headers };
  headers['Auto-Submitted'] = message.kind === 'autoresponder' ? 'auto-replied' : 'auto-generated';
  if (message.unsubscribeUrl !== undefined) {
    headers['List-Unsubscribe'] = `<${message.unsubscribeUrl}>`;
    // RFC 8058 one-click unsubscribe is defined for HTTPS only.
    if (message.unsubscribeUrl.startsWith('https:')) {
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
  }
  if (message.inReplyTo !== undefined) headers['In-Reply-To'] = message.inReplyTo;
  if (message.references !== undefined && message.references.length > 0) {
    headers.References = message.references.join(' ');
  }
  return headers;
}
