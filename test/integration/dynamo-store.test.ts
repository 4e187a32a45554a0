import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { ConditionFailedError } from '../../functions/core/errors';
import { type HealthState, initialHealth, type SenderConfig } from '../../functions/core/types';
import { localDynamoClient, manualClock, useDynamoStore } from '../support/dynamo';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

const dynamo = useDynamoStore('t', T0);
const { setup } = dynamo;

function smtpConfig(tenantId: string, version: number): SenderConfig {
  return {
    tenantId,
    mode: 'smtp',
    fallback: 'platform',
    smtp: {
      host: 'smtp.acme.example',
      port: 587,
      security: 'starttls',
      username: 'notifications@acme.example',
      passwordCiphertext: 'Y2lwaGVy',
      fromAddress: 'notifications@acme.example',
    },
    version,
    updatedAt: new Date(T0).toISOString(),
  };
}

/** A raw delivery item: it sorts before HEALTH and must never show up in loadTenant. */
async function putDeliveryItem(tenantId: string): Promise<void> {
  await dynamo.db().doc.send(
    new PutCommand({
      TableName: dynamo.db().tableName,
      Item: {
        pk: `TENANT#${tenantId}`,
        sk: 'DELIVERY#2030-01-01T00:00:00.000Z#m1',
        status: 'sent',
        mode: 'smtp',
      },
    }),
  );
}

const unhealthy = (configVersion: number, retryAt: string): HealthState => ({
  ...initialHealth(configVersion),
  state: 'unhealthy',
  consecutiveFailures: 3,
  backoffLevel: 1,
  retryAt,
  lastFailure: { class: 'connection', code: 'ECONNREFUSED', phase: 'CONNECT', message: 'refused', at: 'x' },
});

describe('loadTenant', () => {
  it('reads config and health with exactly one consistent Query and nothing else', async () => {
    // Prepare: a separate client on the same server, so counting sees only this test's calls
    const { store: writer, tenantId } = setup();
    await writer.putSender(smtpConfig(tenantId, 1), 0);
    await writer.resetHealth(tenantId, 1);
    await putDeliveryItem(tenantId);
    const client = localDynamoClient(dynamo.db().endpoint);
    const calls: { command: string; input: Record<string, unknown> }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const store = createDynamoStore({
      doc: DynamoDBDocumentClient.from(client),
      tableName: dynamo.db().tableName,
      clock: manualClock(T0),
    });

    // Act
    const snapshot = await store.loadTenant(tenantId);
    client.destroy();

    // Assess
    expect(calls).toHaveLength(1);
    expect(calls[0]?.command).toBe('QueryCommand');
    expect(calls[0]?.input).toMatchObject({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :h AND :s',
      ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':h': 'HEALTH', ':s': 'SENDER' },
      ConsistentRead: true,
    });
    expect(snapshot.config).toEqual(smtpConfig(tenantId, 1));
    expect(snapshot.health).toEqual(initialHealth(1));
  });

  it('returns nulls for a tenant never seen, even when it has delivery items', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await putDeliveryItem(tenantId);

    // Act
    const snapshot = await store.loadTenant(tenantId);

    // Assess
    expect(snapshot).toEqual({ config: null, health: null });
  });

  it('returns a platform SENDER (after DELETE) as a platform config', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.putSender(smtpConfig(tenantId, 1), 0);
    const platform: SenderConfig = {
      tenantId,
      mode: 'platform',
      fallback: 'platform',
      version: 2,
      updatedAt: 'u',
    };
    await store.putSender(platform, 1);

    // Act
    const { config } = await store.loadTenant(tenantId);

    // Assess
    expect(config).toEqual(platform);
    expect(await store.getSender(tenantId)).toEqual(platform);
  });
});

describe('SENDER versions', () => {
  it('lets exactly one of two racing writers of the same version win', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.putSender(smtpConfig(tenantId, 1), 0);

    // Act
    const results = await Promise.allSettled([
      store.putSender({ ...smtpConfig(tenantId, 2), fallback: 'hold' }, 1),
      store.putSender({ ...smtpConfig(tenantId, 2), fallback: 'platform' }, 1),
    ]);

    // Assess
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConditionFailedError);
    await expect(store.putSender(smtpConfig(tenantId, 1), 0)).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await store.getSender(tenantId))?.version).toBe(2);
  });

  it('rethrows errors that are not a lost condition', async () => {
    // Prepare
    const { clock } = setup();
    const store = createDynamoStore({ doc: dynamo.db().doc, tableName: 'no-such-table', clock });

    // Act
    const result = store.putSender(smtpConfig('x', 1), 0);

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('HEALTH', () => {
  it('rejects a write for an old config version after a reset', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const created = await store.writeHealth(tenantId, unhealthy(1, '2030-01-01T00:01:00.000Z'));
    await store.resetHealth(tenantId, 2);

    // Act
    const stale = await store.writeHealth(tenantId, unhealthy(1, '2030-01-01T00:02:00.000Z'));
    const afterStale = (await store.loadTenant(tenantId)).health;
    const current = await store.writeHealth(tenantId, unhealthy(2, '2030-01-01T00:03:00.000Z'));

    // Assess
    expect(created).toBe(true);
    expect(stale).toBe(false);
    expect(afterStale).toEqual(initialHealth(2));
    expect(current).toBe(true);
    expect((await store.loadTenant(tenantId)).health).toEqual(unhealthy(2, '2030-01-01T00:03:00.000Z'));
  });

  it('never lets a late reset of an older config, or a repeat of its own, overwrite the breaker', async () => {
    // Prepare
    const { store, tenantId } = setup();
    expect(await store.resetHealth(tenantId, 3)).toBe(true);
    expect(await store.writeHealth(tenantId, unhealthy(3, '2030-01-01T00:01:00.000Z'))).toBe(true);

    // Act
    const late = await store.resetHealth(tenantId, 2);
    const repeat = await store.resetHealth(tenantId, 3);
    const newer = await store.resetHealth(tenantId, 4);

    // Assess
    expect([late, repeat, newer]).toEqual([false, false, true]);
    expect((await store.loadTenant(tenantId)).health).toEqual(initialHealth(4));
  });

  it('lets a newer config version replace a HEALTH item an older config left (no reset reached it)', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.writeHealth(tenantId, unhealthy(1, '2030-01-01T00:01:00.000Z'));

    // Act: the dispatcher read config version 2 and reads the old item as a fresh health for it.
    const next = { ...initialHealth(2), consecutiveFailures: 1 };
    const written = await store.writeHealth(tenantId, next, initialHealth(2));

    // Assess
    expect(written).toBe(true);
    expect((await store.loadTenant(tenantId)).health).toEqual(next);
  });

  it('gives the probe to exactly one of 10 racing callers', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.writeHealth(tenantId, unhealthy(3, '2030-01-01T00:00:00.000Z'));
    const now = T0 + 1000;
    const lease = new Date(now + 30_000).toISOString();

    // Act
    const wins = await Promise.all(
      Array.from({ length: 10 }, () => store.claimProbe(tenantId, 3, lease, now)),
    );

    // Assess
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await store.loadTenant(tenantId)).health?.probeLeaseUntil).toBe(lease);
  });

  it('refuses a probe before retryAt, for another version, while leased, and allows it after the lease', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.writeHealth(tenantId, unhealthy(1, '2030-01-01T00:01:00.000Z'));
    const at = (ms: number) => new Date(T0 + ms).toISOString();

    // Act
    const early = await store.claimProbe(tenantId, 1, at(90_000), at(30_000));
    const otherVersion = await store.claimProbe(tenantId, 2, at(90_000), at(60_000));
    const first = await store.claimProbe(tenantId, 1, at(90_000), at(60_000));
    const whileLeased = await store.claimProbe(tenantId, 1, at(120_000), at(89_999));
    const afterLease = await store.claimProbe(tenantId, 1, at(150_000), at(90_001));

    // Assess
    expect([early, otherVersion, first, whileLeased, afterLease]).toEqual([false, false, true, false, true]);
  });

  it('refuses a probe of a healthy tenant', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.resetHealth(tenantId, 1);

    // Act
    const won = await store.claimProbe(tenantId, 1, new Date(T0 + 1000).toISOString(), T0);

    // Assess
    expect(won).toBe(false);
  });
});

describe('domain ownership', () => {
  it('belongs to one tenant at a time', async () => {
    // Prepare
    const { store, tenantId: a } = setup();
    const b = `${a}-b`;
    const domain = `${a}.example`;

    // Act
    const first = await store.claimDomain(domain, a);
    const again = await store.claimDomain(domain.toUpperCase(), a);
    const other = await store.claimDomain(domain, b);
    const wrongRelease = await store.releaseDomain(domain, b);
    const ownerBefore = await store.domainOwner(domain);
    const release = await store.releaseDomain(domain, a);
    const ownerAfter = await store.domainOwner(domain);
    const otherNow = await store.claimDomain(domain, b);

    // Assess
    expect([first, again, other, otherNow]).toEqual(['claimed', 'claimed', 'owned-by-other', 'claimed']);
    expect([wrongRelease, release]).toEqual([false, true]);
    expect([ownerBefore, ownerAfter]).toEqual([a, null]);
  });
});
