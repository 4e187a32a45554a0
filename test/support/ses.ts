import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Email } from 'aws-ses-v2-local/dist/store';
import { startSesLocal } from '../../infra/local/services';
import { type SesStandIn, type SesStandInOptions, startSesStandIn } from '../../infra/local/ses-stand-in';
import { localClientConfig } from './aws-client';

export type { Email as SesStoredEmail } from 'aws-ses-v2-local/dist/store';

export interface LocalSes {
  /** Base URL, e.g. http://127.0.0.1:41234 (`/store`, `/get-emlContent?messageId=` under it). */
  endpoint: string;
  /** Talks to the SES v2 stand-in when one was asked for, else straight to aws-ses-v2-local. */
  client: SESv2Client;
  /** The stand-in in front of the mailbox (identities, tenants, SendEmail checks), when asked for. */
  standIn?: SesStandIn;
  /** Every email the server has accepted since the last clear. */
  store(): Promise<Email[]>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts aws-ses-v2-local in this process on 127.0.0.1 and a free port. Its store is module-global, so
 * two servers in one process share their mail; vitest runs each test file in its own process. With
 * `standIn`, the SES v2 stand-in runs in front of it and the client talks to the stand-in.
 */
export async function startLocalSes(
  options: { standIn?: Omit<SesStandInOptions, 'forwardTo'> } = {},
): Promise<LocalSes> {
  const server = await startSesLocal();
  const endpoint = server.url;
  const standIn =
    options.standIn === undefined
      ? undefined
      : await startSesStandIn({ ...options.standIn, forwardTo: endpoint });
  const client = new SESv2Client(localClientConfig(standIn?.url ?? endpoint));
  return {
    endpoint,
    client,
    ...(standIn !== undefined && { standIn }),
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
      await standIn?.close();
      await server.close();
    },
  };
}
