/** What of a tenant server's replies is kept: secrets redacted, replies to AUTH reduced to their class. */

/** Shortest piece of a secret that is redacted wherever it appears. */
const MIN_SECRET_PIECE = 6;

/**
 * Redacts, case-insensitively, every secret given, its base64 forms as AUTH sends them, and every piece
 * of 6 or more characters of any of those (a server that echoes a secret changed: cut, upper-cased).
 */
export function redactor(user: string, secrets: string[]): (text: string) => string {
  const forms = secrets
    .filter((secret) => secret.length > 0)
    .flatMap((secret) => [
      secret,
      Buffer.from(secret, 'utf8').toString('base64'),
      Buffer.from(`\u0000${user}\u0000${secret}`, 'utf8').toString('base64'),
    ])
    .map((form) => form.toLowerCase());
  // Every piece of MIN_SECRET_PIECE characters; any longer piece is a run of overlapping ones.
  const pieces = new Set<string>();
  for (const form of forms) {
    if (form.length < MIN_SECRET_PIECE) pieces.add(form);
    for (let i = 0; i + MIN_SECRET_PIECE <= form.length; i += 1)
      pieces.add(form.slice(i, i + MIN_SECRET_PIECE));
  }
  return (text) => {
    if (pieces.size === 0) return text;
    const lower = text.toLowerCase();
    const covered = new Uint8Array(text.length);
    for (const piece of pieces) {
      for (let at = lower.indexOf(piece); at >= 0; at = lower.indexOf(piece, at + 1)) {
        covered.fill(1, at, at + piece.length);
      }
    }
    let out = '';
    for (let i = 0; i < text.length; i += 1) {
      if (!covered[i]) out += text[i];
      else if (i === 0 || !covered[i - 1]) out += '[redacted]';
    }
    return out;
  };
}

/** Fixed descriptions of the replies to AUTH, by code: the server's own words are never kept. */
const AUTH_REPLIES: Record<string, string> = {
  '235': 'authentication succeeded',
  '334': 'authentication challenge',
  '432': 'a password transition is needed',
  '454': 'temporary authentication failure',
  '500': 'authentication exchange line too long',
  '501': 'malformed authentication exchange',
  '503': 'authentication not allowed now',
  '504': 'authentication mechanism not supported',
  '530': 'authentication required',
  '534': 'authentication mechanism too weak',
  '535': 'authentication credentials invalid',
  '538': 'encryption required for this authentication mechanism',
};

/**
 * A reply to AUTH as it is kept: its code, its enhanced code and a fixed description of that reply
 * class (never the server's free text, which may echo the secret it was sent in any form).
 */
export function authReply(response: string): string {
  const match = /^(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3}))?/.exec(response.trim());
  if (!match?.[1]) return 'reply to AUTH without a reply code';
  const code = match[1];
  const description =
    AUTH_REPLIES[code] ??
    (code.startsWith('4') ? 'temporary authentication failure' : 'authentication refused');
  return [code, match[2], description].filter(Boolean).join(' ');
}
