import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '../../functions/adapters/dynamo-table';

export interface CreateTableOptions {
  /** How long to wait for ACTIVE before giving up (default 30 s). */
  timeoutMs?: number;
  /** Pause between DescribeTable polls (default 50 ms; dynalite's default CREATING phase is 500 ms). */
  pollMs?: number;
}

/** The table's key schema and billing as CreateTable takes them, from the definition the CDK stack uses too. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey } = TABLE_SCHEMA;
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/**
 * Creates the project's one table as the CDK stack defines it (pk, sk strings; on-demand) and waits until
 * it is ACTIVE. A table that already exists is waited for, not recreated, so a restart is harmless. No
 * UpdateTimeToLive: dynalite lacks it, and readers compare expiresAt with now anyway.
 */
export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateTableOptions = {},
): Promise<void> {
  const { timeoutMs = 30_000, pollMs = 50 } = options;
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (err) {
    if (!(err instanceof Error && err.name === 'ResourceInUseException')) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() >= deadline) {
      throw new Error(`table ${tableName} not ACTIVE after ${timeoutMs} ms (${out.Table?.TableStatus})`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
