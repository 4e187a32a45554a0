import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalApiGateway, startLocalApiGateway } from '../../infra/local/api-gateway';
import { createLocalIssuer, type LocalIssuer } from '../../infra/local/jwt';
import { type DynamoFixture, startDynamo } from '../support/dynamo';
import { type LocalKms, startKms } from '../support/kms';

// The Lambda entry as deployed: settings and SDK endpoints from the environment only.
let dynamo: DynamoFixture;
let kms: LocalKms;
let issuer: LocalIssuer;
let gateway: LocalApiGateway;

beforeAll(async () => {
  [dynamo, kms, issuer] = await Promise.all([startDynamo(), startKms(), createLocalIssuer()]);
  vi.stubEnv('TABLE_NAME', dynamo.tableName);
  vi.stubEnv('KMS_KEY_ID', kms.keyId);
  vi.stubEnv('QUEUE_URL', 'http://127.0.0.1:1/queue/unused');
  vi.stubEnv('DLQ_URL', 'http://127.0.0.1:1/queue/unused-dlq');
  vi.stubEnv('PLATFORM_FROM_ADDRESS', 'mail@platform.example');
  vi.stubEnv('PLATFORM_NAME', 'Platform');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_KMS', kms.endpoint);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
  const { handler } = await import('../../functions/config-api/handler');
  gateway = await startLocalApiGateway({ handler, verify: issuer.verify });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([dynamo?.close(), kms?.close()]);
  vi.unstubAllEnvs();
});

describe('config API Lambda handler', () => {
  it('builds its adapters from the environment and serves the routes', async () => {
    // Prepare
    const headers = {
      authorization: `Bearer ${await issuer.token('acme')}`,
      'content-type': 'application/json',
    };
    const body = JSON.stringify({
      mode: 'domain',
      domain: { name: 'acme.example', fromAddress: 'hello@acme.example' },
    });

    // Act
    const put = await fetch(`${gateway.url}/tenants/acme/sender`, { method: 'PUT', headers, body });
    const get = await fetch(`${gateway.url}/tenants/acme/sender`, { headers });
    const health = await fetch(`${gateway.url}/tenants/acme/health`, { headers });

    // Assess
    expect(put.status).toBe(200);
    expect(await get.json()).toMatchObject({ mode: 'domain', version: 1, domain: { name: 'acme.example' } });
    expect(await health.json()).toMatchObject({ state: 'healthy', configVersion: 1 });
  });
});
