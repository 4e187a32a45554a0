import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import type { Clock } from '../../functions/core/types';
import { startDynalite } from '../../infra/local/services';
import { createTable } from '../../infra/local/table';
import { localClientConfig } from './aws-client';

export interface DynamoFixture {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Destroys the clients and stops dynalite. */
  close(): Promise<void>;
}

/** Builds a DynamoDB client for a local endpoint, with dummy credentials (never reaches AWS). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient(localClientConfig(endpoint));
}

/**
 * Starts an in-memory dynalite on 127.0.0.1 (random port) with the project's table created and ACTIVE.
 * Call `close()` in afterAll.
 */
export async function startDynamo(tableName = 'tenant-mailer-test'): Promise<DynamoFixture> {
  const server = await startDynalite();
  const endpoint = server.url;
  const client = localDynamoClient(endpoint);
  const doc = DynamoDBDocumentClient.from(client);
  const close = async (): Promise<void> => {
    doc.destroy();
    client.destroy();
    await server.close();
  };
  try {
    await createTable(client, tableName);
  } catch (err) {
    await close();
    throw err;
  }
  return { endpoint, client, doc, tableName, close };
}

/** A clock the test moves by hand (instead of fake timers, which stall sockets). */
export function manualClock(startMs: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/**
 * Registers one dynalite for the test file (started before all, closed after all). `setup()` gives a
 * fresh tenant id (`<prefix><n>-<random>`) and a store over the table on its own manual clock.
 */
export function useDynamoStore(prefix: string, startMs: number) {
  let db: DynamoFixture | undefined;
  let seq = 0;
  beforeAll(async () => {
    db = await startDynamo();
  });
  afterAll(async () => {
    await db?.close();
  });
  const fixture = (): DynamoFixture => {
    if (!db) throw new Error('dynalite is not started (useDynamoStore registers beforeAll)');
    return db;
  };
  return {
    db: fixture,
    setup(at = startMs) {
      const clock = manualClock(at);
      const store = createDynamoStore({ doc: fixture().doc, tableName: fixture().tableName, clock });
      seq += 1;
      return { clock, store, tenantId: `${prefix}${seq}-${Math.random().toString(36).slice(2, 8)}` };
    },
  };
}
