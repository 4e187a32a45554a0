/** `npm run token -- <tenantId> [--admin]`: a bare JWT the local config API accepts (key kept in .local/). */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TENANT_ID_PATTERN } from '../../functions/core/message';
import { loadOrCreateLocalIssuer } from './jwt';
import { localDir } from './stack';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { admin: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const tenantId = positionals[0];
  if (!tenantId || !TENANT_ID_PATTERN.test(tenantId)) {
    process.stderr.write(
      'usage: npm run token -- <tenantId> [--admin]   (tenantId: lower-case letters, digits, _ -)\n',
    );
    process.exitCode = 2;
    return;
  }
  const issuer = await loadOrCreateLocalIssuer(join(localDir(), 'jwt-key.json'));
  process.stdout.write(`${await issuer.token(tenantId, { admin: values.admin })}\n`);
}

void main();
