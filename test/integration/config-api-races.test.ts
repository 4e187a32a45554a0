import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { type ConfigApiHandler, createConfigApi } from '../../functions/config-api/app';
import type { ConfigApiDeps } from '../../functions/config-api/deps';
import type { Store } from '../../functions/core/ports';
import { type SenderConfig, systemClock } from '../../functions/core/types';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { apiEvent } from '../support/api-event';
import { type DynamoFixture, startDynamo } from '../support/dynamo';

// Two writes of one tenant's config at once (two operators, a retried request): the store has no
// transactions, so the API must leave the domain owned and the HEALTH item at the config's version
// whatever the interleaving. Each test forces one interleaving with a one-shot hook on the real store.

type Hook = () => Promise<void>;
const hooks: { release?: Hook; reset?: Hook; putDomain?: Hook } = {};
/** While set, runs before every SENDER write: another writer's real write that comes first each time. */
let rival: ((config: SenderConfig, expected: number) => Promise<void>) | undefined;

let dynamo: DynamoFixture;
let store: Store;
let api: ConfigApiHandler;
const errors: unknown[] = [];

/** Runs a one-shot hook once, the first time its store call is made after it was set. */
async function fire(name: keyof typeof hooks): Promise<void> {
  const hook = hooks[name];
  delete hooks[name];
  await hook?.();
}

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createDynamoStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock: systemClock });
  const hooked: Store = {
    ...store,
    async releaseDomain(name, tenantId) {
      await fire('release');
      return store.releaseDomain(name, tenantId);
    },
    async resetHealth(tenantId, version) {
      await fire('reset');
      return store.resetHealth(tenantId, version);
    },
    async putSender(config: SenderConfig, expected: number) {
      if (config.mode === 'domain') await fire('putDomain');
      await rival?.(config, expected);
      return store.putSender(config, expected);
    },
  };
  const unused = async () => {
    throw new Error('not used by these tests');
  };
  api = createConfigApi({
    store: hooked,
    cipher: { encryptPassword: unused, decryptPassword: unused },
    guard: { vet: unused },
    smtp: { verify: unused, send: unused, invalidate: () => undefined },
    logger: {
      info: () => undefined,
      warn: () => undefined,
      error: (...args: unknown[]) => errors.push(args),
    },
    clock: systemClock,
    allowPrivateSmtp: false,
  } as unknown as ConfigApiDeps);
});

afterAll(async () => {
  await dynamo?.close();
});

function call(method: string, path: string, body?: unknown) {
  const event = apiEvent(method, path, body === undefined ? {} : { json: body });
  return api(event, localLambdaContext('config-api', 10_000));
}

const domainBody = (name: string) => ({ mode: 'domain', domain: { name, fromAddress: `n@${name}` } });
const PLATFORM = { mode: 'platform' };

function deferred() {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('config API: concurrent writes of one tenant', () => {
  it('keeps the domain owned when a PUT that leaves it releases it after another PUT took it back', async () => {
    // Prepare: acme owns acme.example; a second PUT of the domain runs to its end inside the first
    // PUT's release of the old domain.
    expect((await call('PUT', '/tenants/acme/sender', domainBody('acme.example'))).statusCode).toBe(200);
    let second: Awaited<ReturnType<typeof call>> | undefined;
    hooks.release = async () => {
      second = await call('PUT', '/tenants/acme/sender', domainBody('acme.example'));
    };

    // Act
    const first = await call('PUT', '/tenants/acme/sender', PLATFORM);

    // Assess
    expect([first.statusCode, second?.statusCode]).toEqual([200, 200]);
    expect(await store.getSender('acme')).toMatchObject({ mode: 'domain', version: 3 });
    expect(await store.domainOwner('acme.example')).toBe('acme');
    const thief = await call('PUT', '/tenants/globex/sender', domainBody('acme.example'));
    expect(JSON.parse(thief.body ?? '')).toMatchObject({ error: { code: 'domain-taken' } });
  });

  it('keeps the domain owned when the release lands between another PUT’s claim and its write', async () => {
    // Prepare: the second PUT claims initech.example, then waits at its write until the first PUT
    // (leaving the domain) has released it and answered.
    expect((await call('PUT', '/tenants/initech/sender', domainBody('initech.example'))).statusCode).toBe(
      200,
    );
    const secondAtWrite = deferred();
    const firstDone = deferred();
    let second: ReturnType<typeof call> | undefined;
    hooks.release = async () => {
      hooks.putDomain = async () => {
        secondAtWrite.resolve();
        await firstDone.promise;
      };
      second = call('PUT', '/tenants/initech/sender', domainBody('initech.example'));
      await Promise.race([secondAtWrite.promise, second]);
    };

    // Act
    const first = await call('PUT', '/tenants/initech/sender', PLATFORM);
    firstDone.resolve();
    const secondRes = await second;

    // Assess
    expect([first.statusCode, secondRes?.statusCode]).toEqual([200, 200]);
    expect(await store.getSender('initech')).toMatchObject({ mode: 'domain', version: 3 });
    expect(await store.domainOwner('initech.example')).toBe('initech');
  });

  it('leaves HEALTH at the newest config version when an older reset lands last', async () => {
    // Prepare: version 1 stored; the second PUT (version 3) finishes inside the first's health reset.
    expect((await call('PUT', '/tenants/hooli/sender', PLATFORM)).statusCode).toBe(200);
    let second: Awaited<ReturnType<typeof call>> | undefined;
    hooks.reset = async () => {
      second = await call('PUT', '/tenants/hooli/sender', PLATFORM);
    };

    // Act
    const first = await call('PUT', '/tenants/hooli/sender', PLATFORM);

    // Assess
    expect([first.statusCode, second?.statusCode]).toEqual([200, 200]);
    expect((await store.getSender('hooli'))?.version).toBe(3);
    const health = await call('GET', '/tenants/hooli/health');
    expect(JSON.parse(health.body ?? '')).toMatchObject({ state: 'healthy', configVersion: 3 });
    expect((await store.loadTenant('hooli')).health?.configVersion).toBe(3);
    expect(errors).toEqual([]);
  });

  it('releases a domain it claimed when its write then fails, so no failed request locks a domain', async () => {
    // Prepare: the table fails the SENDER write after the claim.
    hooks.putDomain = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };

    // Act
    const failed = await call('PUT', '/tenants/umbrella/sender', domainBody('umbrella.example'));

    // Assess
    expect(failed.statusCode).toBe(500);
    expect(await store.domainOwner('umbrella.example')).toBeNull();
    const other = await call('PUT', '/tenants/wayne/sender', domainBody('umbrella.example'));
    expect(other.statusCode).toBe(200);
  });

  it.each([
    ['PUT', PLATFORM],
    ['DELETE', undefined],
  ])(
    'answers %s that loses the version race three times with 409 conflict, storing nothing of its own',
    async (method, body) => {
      // Prepare: before each of the request's writes, another writer stores a newer version first.
      const tenant = `rival-${method.toLowerCase()}`;
      expect(
        (await call('PUT', `/tenants/${tenant}/sender`, domainBody(`${tenant}.example`))).statusCode,
      ).toBe(200);
      let rivalWrites = 0;
      rival = async (config, expected) => {
        rivalWrites += 1;
        const theirs = { ...config, mode: 'domain' as const, version: expected + 1 };
        await store.putSender(
          { ...theirs, domain: { name: `${tenant}.example`, fromAddress: `n@${tenant}.example` } },
          expected,
        );
      };

      // Act
      const res = await call(method, `/tenants/${tenant}/sender`, body).finally(() => {
        rival = undefined;
      });

      // Assess
      expect(res.statusCode).toBe(409);
      expect(JSON.parse(res.body ?? '')).toEqual({
        error: { code: 'conflict', message: expect.any(String) },
      });
      expect(rivalWrites).toBe(3);
      expect(await store.getSender(tenant)).toMatchObject({ mode: 'domain', version: 4 });
      expect(await store.domainOwner(`${tenant}.example`)).toBe(tenant);
    },
  );
});
