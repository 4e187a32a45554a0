import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Email } from 'aws-ses-v2-local/dist/store';
import { startSesLocal } from '../../infra/local/services';

export type { Email as SesStoredEmail } from 'aws-ses-v2-local/dist/store';

export interface LocalSes {
  /** Base URL, e.g. http://127.0.0.1:41234 (`/store`, `/get-emlContent?messageId=` under it). */
  endpoint: string;
  client: SESv2Client;
  /** Every email the server has accepted since the last clear. */
  store(): Promise<Email[]>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts aws-ses-v2-local in this process on 127.0.0.1 and a free port. Its store is module-global, so
 * two servers in one process share their mail; vitest runs each test file in its own process.
 */
export async function startLocalSes(): Promise<LocalSes> {
  const server = await startSesLocal();
  const endpoint = server.url;
  const client = new SESv2Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    async store() {
      const response = await fetch(`${endpoint}/store`);
      if (!response.ok) throw new Error(`local SES /store answered ${response.status}`);
      const body = (await response.json()) as { emails: Email[] };
      return body.emails;
    },
    async clear() {
      const response = await fetch(`${endpoint}/clear-store`, { method: 'POST' });
      if (!response.ok) throw new Error(`local SES /clear-store answered ${response.status}`);
    },
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
