import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the local stack keeps under `.local/` between runs (docs/design.md §16): the DynamoDB table
 * (dynalite on LevelDB), the SQS queues with their messages (fauxqs on SQLite), the KMS stand-in's key
 * material (so stored credentials still decrypt), the tenant mailbox's files, the webhook log, the token
 * signing key and the demo's marker. `npm start -- --fresh` wipes all but the signing key.
 */
export const STATE = {
  dynamodb: 'dynamodb',
  sqs: 'sqs',
  kmsKey: 'kms-key.json',
  maildev: 'maildev',
  webhooks: 'webhooks.jsonl',
  platformWebhooks: 'platform-webhooks.jsonl',
  demoDone: 'demo-done',
} as const;

/** Removes the kept state (the token signing key stays: tokens already handed out keep working). */
export async function wipeState(dir: string): Promise<void> {
  for (const name of Object.values(STATE)) await rm(join(dir, name), { recursive: true, force: true });
}

/** The KMS stand-in's key material, kept in `kms-key.json` (0600) so ciphertexts outlive a restart. */
export async function loadOrCreateKmsMaterial(dir: string): Promise<Buffer> {
  const file = join(dir, STATE.kmsKey);
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { material?: string };
    const material = Buffer.from(saved.material ?? '', 'base64');
    if (material.length === 32) return material;
  } catch {
    // none yet (or unreadable): a new key; what was encrypted under the old one no longer decrypts
  }
  const material = randomBytes(32);
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify({ material: material.toString('base64') })}\n`, { mode: 0o600 });
  return material;
}

/** Whether the demo already ran on this state. */
export function demoDone(dir: string): boolean {
  return existsSync(join(dir, STATE.demoDone));
}

export async function markDemoDone(dir: string): Promise<void> {
  await writeFile(join(dir, STATE.demoDone), `${new Date().toISOString()}\n`);
}
