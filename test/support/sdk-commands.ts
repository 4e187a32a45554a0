/**
 * The AWS SDK commands source code constructs (`new XCommand(`), named as the recorder names calls
 * (`service:Operation`, lib-dynamodb's `Get` as `dynamodb:GetItem`). The least-privilege test uses it to
 * make sure its run reaches every command the functions contain.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// lib-dynamodb commands and the low-level operation each sends.
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'ExecuteStatement',
};

/** Every `service:Operation` constructed in the .ts files under `dir` (except folders in `skip`). */
export function sdkCommandsIn(dir: string, skip: string[] = []): Set<string> {
  const found = new Set<string>();
  for (const file of tsFiles(dir, skip)) {
    const text = readFileSync(file, 'utf8');
    const serviceOf = new Map<string, string>();
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([\w-]+)'/g)) {
      const service =
        m[2] === 'lib-dynamodb' ? 'lib-dynamodb' : (m[2] ?? '').replace(/^client-/, '').replaceAll('-', '');
      for (const spec of (m[1] ?? '').split(',')) {
        const local = spec.trim().split(/\s+as\s+/);
        const imported = local[0]?.replace(/^type\s+/, '');
        const name = local[1] ?? imported;
        if (imported?.endsWith('Command') && name) serviceOf.set(name, `${service}:${imported}`);
      }
    }
    for (const m of text.matchAll(/new\s+(\w+Command)\s*\(/g)) {
      const origin = serviceOf.get(m[1] ?? '');
      if (origin === undefined) continue;
      const [service, command = ''] = origin.split(':');
      const operation = command.replace(/Command$/, '');
      found.add(
        service === 'lib-dynamodb'
          ? `dynamodb:${DOCUMENT_OPERATIONS[operation] ?? operation}`
          : `${service}:${operation}`,
      );
    }
  }
  return found;
}

function tsFiles(dir: string, skip: string[]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skip.includes(entry.name) ? [] : tsFiles(path, skip);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
