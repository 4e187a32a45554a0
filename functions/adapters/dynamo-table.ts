/**
 * The one table's shape as the DynamoDB adapter uses it: string partition and sort keys, items expiring
 * through a TTL attribute. The CDK stack and the local stack both build the table from this definition.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; TTL deletion is lazy, so readers compare it with now themselves. */
  timeToLiveAttribute: 'expiresAt',
} as const;
