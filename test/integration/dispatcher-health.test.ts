import { Logger } from '@aws-lambda-powertools/logger';
import { TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../functions/core/ports';
import { type HealthState, initialHealth } from '../../functions/core/types';
import {
  captureOutput,
  type DispatcherFixture,
  mail,
  sesTenant,
  TEST_PASSWORD,
  useDispatcherFixture,
} from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

/** Writes the tenant's HEALTH as an open breaker for its current config version. */
async function openBreaker(tenantId: string, version: number, retryAt: number): Promise<void> {
  const health: HealthState = {
    ...initialHealth(version),
    state: 'unhealthy',
    consecutiveFailures: 3,
    backoffLevel: 2,
    retryAt: new Date(retryAt).toISOString(),
    lastFailure: {
      class: 'connection',
      code: 'ECONNREFUSED',
      phase: 'CONNECT',
      message: 'connect ECONNREFUSED',
      at: new Date(retryAt - 240_000).toISOString(),
    },
  };
  expect(await f.store.writeHealth(tenantId, health)).toBe(true);
}

describe('dispatcher: the shared breaker', () => {
  it('opens after 3 consecutive connection failures, one per batch', async () => {
    const port = await f.smtp.closedPort();
    await f.smtpTenant('flaky', port);

    const states = [];
    for (let i = 0; i < 3; i++) {
      await f.invoke(await f.receive([mail('flaky', { subject: `try ${i}` })]));
      states.push((await f.health('flaky'))?.state);
    }

    expect(states).toEqual(['healthy', 'healthy', 'unhealthy']);
    const health = await f.health('flaky');
    expect(health).toMatchObject({ consecutiveFailures: 3, backoffLevel: 0 });
    expect(Date.parse(health?.retryAt ?? '')).toBeGreaterThan(f.clock.now() + 55_000);
    expect(await f.ses.store()).toHaveLength(3);
  });

  it('an unhealthy tenant before retryAt: no connection, platform with reason unhealthy', async () => {
    const server = await f.smtp.start();
    const config = await f.smtpTenant('sick', server.port);
    await openBreaker('sick', config.version, f.clock.now() + 120_000);

    const response = await f.invoke(await f.receive([mail('sick', { subject: 'a' }), mail('sick')]));

    expect(response.batchItemFailures).toEqual([]);
    expect(server.connections()).toBe(0);
    expect(await f.ses.store()).toHaveLength(2);
    for (const d of await f.deliveries('sick')) {
      expect(d).toMatchObject({ route: 'platform', fallbackReason: 'unhealthy', status: 'sent' });
    }
    expect(await f.health('sick')).toMatchObject({ state: 'unhealthy', backoffLevel: 2 });
  });

  it('a probe due: exactly one of two racing containers probes; success closes the breaker', async () => {
    const server = await f.smtp.start();
    const config = await f.smtpTenant('mending', server.port);
    await openBreaker('mending', config.version, f.clock.now() - 1_000);
    // Both containers read the open breaker before either sends: a true race for the probe claim.
    let arrived = 0;
    let bothLoaded = (): void => undefined;
    const barrier = new Promise<void>((resolve) => {
      bothLoaded = resolve;
    });
    const racingStore: Store = {
      ...f.store,
      loadTenant: async (tenantId) => {
        const snapshot = await f.store.loadTenant(tenantId);
        arrived += 1;
        if (arrived === 2) bothLoaded();
        await barrier;
        return snapshot;
      },
    };
    const [one, two] = await f.receive([mail('mending', { subject: 'one' }), mail('mending')]);
    if (!one || !two) throw new Error('two records expected');

    const responses = await Promise.all([
      f.invoke([one], { handler: f.newContainer({ store: racingStore }) }),
      f.invoke([two], { handler: f.newContainer({ store: racingStore }) }),
    ]);

    for (const r of responses) expect(r.batchItemFailures).toEqual([]);
    expect(server.connections()).toBe(1);
    expect(server.received).toHaveLength(1);
    const log = await f.deliveries('mending');
    expect(log.map((d) => `${d.route}/${d.fallbackReason}`).sort()).toEqual([
      'platform/unhealthy',
      'smtp/null',
    ]);
    expect(await f.health('mending')).toMatchObject({
      state: 'healthy',
      consecutiveFailures: 0,
      backoffLevel: 0,
      retryAt: null,
      probeLeaseUntil: null,
    });
  });

  it('a failed probe reopens the breaker one backoff level higher', async () => {
    const port = await f.smtp.closedPort();
    const config = await f.smtpTenant('relapse', port);
    await openBreaker('relapse', config.version, f.clock.now() - 1_000);

    await f.invoke(await f.receive([mail('relapse')]));

    const health = await f.health('relapse');
    expect(health).toMatchObject({ state: 'unhealthy', backoffLevel: 3, consecutiveFailures: 4 });
    // 1 min × 2^3
    const delay = Date.parse(health?.retryAt ?? '') - f.clock.now();
    expect(delay).toBeGreaterThan(470_000);
    expect(delay).toBeLessThanOrEqual(480_000);
    expect(only(await f.deliveries('relapse'))).toMatchObject({ fallbackReason: 'connection' });
  });

  it('a config change while a failure is in flight never reopens the breaker on the new config', async () => {
    const broken = await f.smtp.start();
    const working = await f.smtp.start();
    const v1 = await f.smtpTenant('movingco', broken.port, { password: 'wrong-password' });
    let v2 = 0;
    // The dispatcher reads v1; the config API then stores v2 and resets health before v1's failure lands.
    const store: Store = {
      ...f.store,
      loadTenant: async (tenantId) => {
        const snapshot = await f.store.loadTenant(tenantId);
        // Only after the batch's read; a later re-read (the lost conditional write) sees v2 as it is.
        if (v2 === 0) v2 = (await f.smtpTenant('movingco', working.port)).version;
        return snapshot;
      },
    };

    const response = await f.invoke(await f.receive([mail('movingco')]), {
      handler: f.newContainer({ store }),
    });

    expect(response.batchItemFailures).toEqual([]);
    expect(v2).toBe(v1.version + 1);
    expect(broken.connections()).toBe(1); // the v1 attempt really failed (AUTH)
    expect(only(await f.deliveries('movingco'))).toMatchObject({ route: 'platform', fallbackReason: 'auth' });
    expect(await f.health('movingco')).toEqual(initialHealth(v2));
  });

  it('a container that read "healthy" never closes a breaker another container opened meanwhile', async () => {
    const port = await f.smtp.closedPort();
    const config = await f.smtpTenant('racyco', port);
    const retryAt = f.clock.now() + 120_000;
    // This container reads the tenant healthy; before its failure lands, another opens the breaker.
    let reads = 0;
    const store: Store = {
      ...f.store,
      loadTenant: async (tenantId) => {
        reads += 1;
        const snapshot = await f.store.loadTenant(tenantId);
        if (reads === 1) await openBreaker('racyco', config.version, retryAt);
        return snapshot;
      },
    };

    await f.invoke(await f.receive([mail('racyco')]), { handler: f.newContainer({ store }) });

    expect(reads).toBe(2); // the batch read, and the re-read after the conditional write lost
    expect(await f.ses.store()).toHaveLength(1);
    expect(await f.health('racyco')).toMatchObject({
      state: 'unhealthy',
      backoffLevel: 2,
      retryAt: new Date(retryAt).toISOString(),
      consecutiveFailures: 4,
    });
  });
});

describe('dispatcher: the password stays secret', () => {
  it('never appears in logs, metrics, delivery records, HEALTH or DLQ attributes', async () => {
    const wrongPassword = 'Wr0ng-But-Still-S3cret';
    const echoing = await f.smtp.start({ echoPasswordOnFailure: true });
    const good = await f.smtp.start();
    await f.smtpTenant('leaky', echoing.port, { password: wrongPassword });
    await f.smtpTenant('tight', good.port);
    await f.smtpTenant('doomed', echoing.port, { password: wrongPassword });
    f.failSes((input) =>
      sesTenant(input) === 'doomed'
        ? new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: {} })
        : undefined,
    );
    const { text: captured } = await captureOutput(async () => {
      const logger = new Logger({ serviceName: 'dispatcher-secret-test', logLevel: 'DEBUG' });
      const container = f.newContainer({ logger, maxAttempts: 1 });
      const records = await f.receive([mail('leaky'), mail('tight'), mail('doomed')]);
      await f.invoke(records, { handler: container });
    });

    // The run did log and emit: the SMTP failure, the dead letter, the Sent metrics.
    expect(captured).toContain('tenant smtp send failed');
    // The 535 that echoed the password is kept as its codes and a fixed description only.
    expect(captured).toContain('535 5.7.8 authentication credentials invalid');
    expect(captured).toContain('"Sent":1');
    expect(captured).toContain('dead-lettered');
    expect(good.received).toHaveLength(1);
    const dlq = await f.dlqMessages();
    expect(dlq.map((m) => m.attributes.tenantId)).toEqual(['doomed']);
    const stored = JSON.stringify({
      deliveries: await Promise.all(['leaky', 'tight', 'doomed'].map((t) => f.deliveries(t))),
      health: await Promise.all(['leaky', 'tight', 'doomed'].map((t) => f.health(t))),
      dlq: dlq.map((m) => m.attributes),
    });
    expect(stored).toContain('535');
    for (const secret of [TEST_PASSWORD, wrongPassword]) {
      const base64 = Buffer.from(secret).toString('base64');
      expect(captured).not.toContain(secret);
      expect(captured).not.toContain(base64);
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(base64);
    }
  });
});

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}
