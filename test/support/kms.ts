import { KMSClient } from '@aws-sdk/client-kms';
import { startKmsStandIn } from '../../infra/local/kms-stand-in';
import { localClientConfig } from './aws-client';

export interface LocalKms {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** The stand-in's default key id (alias/tenant-mailer names it too). */
  keyId: string;
  client: KMSClient;
  close(): Promise<void>;
}

/** Starts the KMS stand-in on 127.0.0.1 and a free port, with a client pointed at it. */
export async function startKms(): Promise<LocalKms> {
  const standIn = await startKmsStandIn({ host: '127.0.0.1', port: 0 });
  const client = new KMSClient(localClientConfig(standIn.url));
  return {
    endpoint: standIn.url,
    keyId: standIn.keyId,
    client,
    async close() {
      client.destroy();
      await standIn.close();
    },
  };
}
