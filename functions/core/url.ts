/** Rules for the https URLs tenants give us (webhooks, OAuth2 token endpoints). Pure. */

/**
 * What is wrong with a URL before any DNS: not https (http only when `allowHttp`), credentials in it, a
 * fragment, or longer than `maxChars`. Null when it may go on to the network guard.
 */
export function httpsUrlProblem(raw: string, allowHttp: boolean, maxChars: number): string | null {
  if (raw.length > maxChars) return `URL longer than ${maxChars} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) return 'URL must use https';
  if (url.username !== '' || url.password !== '') return 'URL must not carry credentials';
  if (url.hash !== '') return 'URL must not have a fragment';
  if (url.hostname === '') return 'URL has no host';
  return null;
}

/** The port a URL connects to. */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}
