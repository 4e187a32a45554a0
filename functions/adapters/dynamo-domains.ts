import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CheckStatus, ClaimStatus, DomainClaim, DomainStore } from '../core/ports';
import { conditionHeld } from './dynamo-conditions';
import type { Item } from './dynamo-items';

/**
 * Domain claims and SES tenant markers (contract, "Domains" and "SES tenants"), each under a pk of its
 * own so no tenant Query ever reads them:
 * - `DOMAIN#<name>` / `CLAIM`: the one claim on a domain (who, status, DKIM tokens, timestamps); the
 *   conditional writes on it decide races between tenants;
 * - `DOMAINS#<tenantId>` / `<name>`: a tenant's list of its claims (a pointer; the claim is the truth);
 * - `SESTENANT#<tenantId>` / `MARKER`: the tenant's SES tenant exists with its shared resources.
 */

const CLAIM_SK = 'CLAIM';
const MARKER_SK = 'MARKER';
const claimKey = (name: string) => ({ pk: `DOMAIN#${name}`, sk: CLAIM_SK });
const listPk = (tenantId: string) => `DOMAINS#${tenantId}`;
const markerKey = (tenantId: string) => ({ pk: `SESTENANT#${tenantId}`, sk: MARKER_SK });

function claimOf(item: Item): DomainClaim {
  return {
    name: String(item.name),
    tenantId: String(item.tenantId),
    status: item.status as ClaimStatus,
    dkim: item.dkim as CheckStatus,
    mailFrom: item.mailFrom as CheckStatus,
    dkimTokens: (item.dkimTokens as string[] | undefined) ?? [],
    createdAt: String(item.createdAt),
    expiresAt: String(item.expiresAt),
    ...(typeof item.verifiedAt === 'string' && { verifiedAt: item.verifiedAt }),
  };
}

export function createDomainStore(options: { doc: DynamoDBDocumentClient; tableName: string }): DomainStore {
  const { doc, tableName: TableName } = options;
  const itemOf = (claim: DomainClaim) => ({ ...claimKey(claim.name), ...claim });

  return {
    async getClaim(name) {
      const out = await doc.send(new GetCommand({ TableName, Key: claimKey(name), ConsistentRead: true }));
      return out.Item ? claimOf(out.Item) : null;
    },

    putClaim(claim, replacing) {
      return conditionHeld(() =>
        doc.send(
          new PutCommand({
            TableName,
            Item: itemOf(claim),
            ...(replacing === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'tenantId = :t AND createdAt = :c',
                  ExpressionAttributeValues: { ':t': replacing.tenantId, ':c': replacing.createdAt },
                }),
          }),
        ),
      );
    },

    updateClaim(claim, fromStatus) {
      return conditionHeld(() =>
        doc.send(
          new PutCommand({
            TableName,
            Item: itemOf(claim),
            ConditionExpression: `tenantId = :t AND createdAt = :c${fromStatus ? ' AND #s = :s' : ''}`,
            ExpressionAttributeValues: {
              ':t': claim.tenantId,
              ':c': claim.createdAt,
              ...(fromStatus && { ':s': fromStatus }),
            },
            ...(fromStatus && { ExpressionAttributeNames: { '#s': 'status' } }),
          }),
        ),
      );
    },

    deleteClaim(name, tenantId) {
      return conditionHeld(() =>
        doc.send(
          new DeleteCommand({
            TableName,
            Key: claimKey(name),
            ConditionExpression: 'tenantId = :t',
            ExpressionAttributeValues: { ':t': tenantId },
          }),
        ),
      );
    },

    async listNames(tenantId) {
      const names: string[] = [];
      let start: Item | undefined;
      do {
        const out = await doc.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': listPk(tenantId) },
            ...(start !== undefined && { ExclusiveStartKey: start }),
          }),
        );
        for (const item of out.Items ?? []) names.push(String(item.sk));
        start = out.LastEvaluatedKey;
      } while (start !== undefined);
      return names;
    },

    async addName(tenantId, name) {
      await doc.send(new PutCommand({ TableName, Item: { pk: listPk(tenantId), sk: name } }));
    },

    async removeName(tenantId, name) {
      await doc.send(new DeleteCommand({ TableName, Key: { pk: listPk(tenantId), sk: name } }));
    },

    async hasSesTenantMarker(tenantId) {
      const out = await doc.send(new GetCommand({ TableName, Key: markerKey(tenantId) }));
      return out.Item !== undefined;
    },

    async putSesTenantMarker(tenantId, sesTenant, atIso) {
      await doc.send(
        new PutCommand({ TableName, Item: { ...markerKey(tenantId), sesTenant, createdAt: atIso } }),
      );
    },
  };
}
