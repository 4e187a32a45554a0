import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReputationCounts, ReputationStore } from '../core/reputation';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';

/** Items `REPUTATION#<tenantId>` / `HOUR#<UTC hour>` (counts) and `/ WARNED` (the last warning's time). */
const pk = (tenantId: string) => `REPUTATION#${tenantId}`;

export function createReputationStore(t: Pick<DynamoStoreOptions, 'doc' | 'tableName'>): ReputationStore {
  return {
    async add(tenantId, bucket, counts, expiresAtSeconds) {
      const names: Record<string, string> = { '#exp': 'expiresAt' };
      const values: Record<string, number> = { ':exp': expiresAtSeconds };
      const adds: string[] = [];
      for (const key of ['recipients', 'bounces', 'complaints'] as const) {
        const n = counts[key];
        if (!n) continue;
        names[`#${key}`] = key;
        values[`:${key}`] = n;
        adds.push(`#${key} :${key}`);
      }
      if (adds.length === 0) return;
      await t.doc.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key: { pk: pk(tenantId), sk: bucket },
          UpdateExpression: `SET #exp = :exp ADD ${adds.join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    },

    async totals(tenantId, sinceBucket) {
      const out = await t.doc.send(
        new QueryCommand({
          TableName: t.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk(tenantId), ':from': sinceBucket, ':to': 'HOUR#~' },
          ConsistentRead: true,
        }),
      );
      const sum: ReputationCounts = { recipients: 0, bounces: 0, complaints: 0 };
      for (const item of out.Items ?? []) {
        sum.recipients += Number(item.recipients ?? 0);
        sum.bounces += Number(item.bounces ?? 0);
        sum.complaints += Number(item.complaints ?? 0);
      }
      return sum;
    },

    claimWarning(tenantId, nowMs, intervalMs) {
      return conditionHeld(() =>
        t.doc.send(
          new PutCommand({
            TableName: t.tableName,
            Item: {
              pk: pk(tenantId),
              sk: 'WARNED',
              at: nowMs,
              expiresAt: Math.ceil((nowMs + intervalMs) / 1000),
            },
            ConditionExpression: 'attribute_not_exists(pk) OR #at <= :before',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':before': nowMs - intervalMs },
          }),
        ),
      );
    },
  };
}
