/**
 * What DNS and SES's own reputation enforcement do in AWS, done by hand on the running local stack
 * (found through `.local/stack.json`), through the SES v2 stand-in's admin routes:
 *   npm run verify-domain -- <domain>                 the domain's DKIM and MAIL FROM records "are found"
 *   npm run ses-tenant -- <tenantId> pause|resume     SES pauses (or lets again) the tenant's sending
 * Exit codes: 0 done, 1 could not (stack not running, no such identity or tenant), 2 bad arguments.
 */
import { domainToASCII, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../functions/core/message';
import { sesTenantName } from '../../functions/core/ses-tenant';
import { DEFAULT_STACK_FILE, EXIT_FAILED, EXIT_OK, EXIT_USAGE, readStackFile } from './send';

export const USAGE = `usage: npm run verify-domain -- <domain>
       npm run ses-tenant -- <tenantId> pause|resume
verify-domain marks a claimed domain verified in the local SES (as its DNS records would in AWS);
ses-tenant pauses or resumes a tenant's SES sending (as SES's reputation enforcement would).`;

export type SesAdminCommand = 'verify-domain' | 'ses-tenant';

const stackSchema = z.object({ endpoints: z.object({ sesv2: z.url() }) });

export interface RunSesAdminOptions {
  stackFile?: string;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** The stand-in path to call for the command and its arguments, or a usage error text. */
export function sesAdminPath(command: string, args: readonly string[]): { path: string } | { usage: string } {
  if (command === 'verify-domain' && args.length === 1) {
    const domain = domainToASCII((args[0] ?? '').trim().toLowerCase());
    if (domain === '' || domain.endsWith('.')) return { usage: `not a domain name: ${args[0]}` };
    return { path: `/_local/identities/${encodeURIComponent(domain)}/verify` };
  }
  if (command === 'ses-tenant' && args.length === 2) {
    const [tenantId = '', action = ''] = args;
    if (!TENANT_ID_PATTERN.test(tenantId)) return { usage: `not a tenant id: ${tenantId}` };
    if (action !== 'pause' && action !== 'resume') return { usage: `pause or resume, not ${action}` };
    return { path: `/_local/tenants/${encodeURIComponent(sesTenantName(tenantId))}/${action}` };
  }
  return { usage: 'wrong arguments' };
}

/** Runs one admin command against the running stack; returns the exit code. */
export async function runSesAdmin(
  command: string,
  args: readonly string[],
  options: RunSesAdminOptions = {},
): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const target = sesAdminPath(command, args);
  if ('usage' in target) {
    err(`error: ${target.usage}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let endpoint: string;
  try {
    endpoint = (await readStackFile(options.stackFile ?? DEFAULT_STACK_FILE, stackSchema)).endpoints.sesv2;
  } catch (error) {
    err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
  let response: Response;
  try {
    response = await fetch(`${endpoint}${target.path}`, {
      method: 'POST',
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    err(
      `error: cannot reach the local SES at ${endpoint} (${(error as Error).message}); is the stack running? npm start`,
    );
    return EXIT_FAILED;
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, string>;
  if (response.ok) {
    out(
      command === 'verify-domain'
        ? `${body.identity}: verified (DKIM and MAIL FROM records found)`
        : `${body.tenant}: sending ${body.sendingStatus}`,
    );
    return EXIT_OK;
  }
  const hint =
    command === 'verify-domain'
      ? 'claim it first: PUT /tenants/<tenantId>/domains/<domain>'
      : 'the tenant has no SES tenant yet (it is created on its first SES need)';
  err(`error: ${body.message ?? `the local SES answered ${response.status}`}; ${hint}`);
  return EXIT_FAILED;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  const [command = '', ...args] = process.argv.slice(2);
  process.exitCode = await runSesAdmin(command, args);
}
