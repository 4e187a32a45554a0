import { afterEach, describe, expect, it } from 'vitest';
import { HTTPS_PORTS } from '../../functions/adapters/guarded-http';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import {
  createOAuthTokenClient,
  type OAuthTokenClientOptions,
  type RotatedRefreshToken,
  type TokenOutcome,
  type TokenSubject,
} from '../../functions/adapters/oauth-token';
import type { OAuth2Settings } from '../../functions/core/oauth2';
import type { FailureRecord } from '../../functions/core/types';
import { type OAuthServer, type OAuthServerOptions, startOAuthServer } from '../../infra/local/oauth-server';
import { PUBLIC_ADDRESS, tableResolver } from '../support/config-api';
import { TEST_CA, TEST_HOST, TEST_TLS } from '../support/smtp';

const CLIENT = {
  clientId: 'app-1',
  clientSecret: 'client-Secret-0123456789',
  refreshToken: 'rt-0-abcdefghijk',
};
const HOSTS = {
  [TEST_HOST]: ['127.0.0.1'],
  'wrong.test': ['127.0.0.1'],
  'login.acme.example': [PUBLIC_ADDRESS],
  'inside.acme.example': ['10.0.0.7'],
  'metadata.acme.example': ['169.254.169.254'],
};

const servers: OAuthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function tokenServer(over: Partial<OAuthServerOptions> = {}): Promise<OAuthServer> {
  const server = await startOAuthServer({ clients: [CLIENT], audience: 'smtp.test', tls: TEST_TLS, ...over });
  servers.push(server);
  return server;
}

class TestClock {
  t = Date.parse('2030-01-01T00:00:00Z');
  now = (): number => this.t;
}

interface Harness {
  clock: TestClock;
  rotations: RotatedRefreshToken[];
  logs: unknown[];
  client: ReturnType<typeof createOAuthTokenClient>;
}

function harness(over: Partial<OAuthTokenClientOptions> & { allowPrivate?: boolean } = {}): Harness {
  const allowPrivate = over.allowPrivate ?? true;
  const clock = new TestClock();
  const rotations: RotatedRefreshToken[] = [];
  const logs: unknown[] = [];
  const guard = createNetworkGuard({ allowPrivate, ports: HTTPS_PORTS, resolve: tableResolver(HOSTS) });
  const client = createOAuthTokenClient({
    guard,
    clock,
    allowInsecure: allowPrivate,
    ca: [TEST_CA.toString()],
    onRotated: async (rotated) => {
      rotations.push(rotated);
    },
    logger: { warn: (message, extra) => logs.push({ message, extra }) },
    ...over,
  });
  return { clock, rotations, logs, client };
}

let tenantCount = 0;
function subject(tokenUrl: string, over: Partial<OAuth2Settings> = {}, refreshToken = CLIENT.refreshToken) {
  tenantCount += 1;
  const oauth2: OAuth2Settings = {
    provider: 'custom',
    flow: 'refresh-token',
    clientId: CLIENT.clientId,
    tokenUrl,
    scope: 'smtp.send',
    ...over,
  };
  const decrypts = { count: 0 };
  const s: TokenSubject & { decrypts: typeof decrypts } = {
    tenantId: `tenant-${tenantCount}`,
    configVersion: 1,
    oauth2,
    decrypts,
    secrets: async () => {
      decrypts.count += 1;
      return oauth2.flow === 'refresh-token'
        ? { clientSecret: CLIENT.clientSecret, refreshToken }
        : { clientSecret: CLIENT.clientSecret };
    },
  };
  return s;
}

const urlOf = (server: OAuthServer, host = TEST_HOST): string => `https://${host}:${server.port}/token`;

function failureOf(outcome: TokenOutcome): FailureRecord {
  if (outcome.ok) throw new Error('expected a failure');
  return outcome.failure;
}

function expectNoSecret(text: string): void {
  for (const secret of [CLIENT.clientSecret, CLIENT.refreshToken]) expect(text).not.toContain(secret);
}

describe('OAuth2 token client against a real token server', () => {
  it('fetches with the refresh-token grant over TLS and serves the cached token after', async () => {
    const server = await tokenServer();
    const { client } = harness();
    const s = subject(urlOf(server));

    const first = await client.getToken(s);
    const again = await client.getToken(s);
    const third = await client.getToken(s);

    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    expect(third).toEqual(first);
    expect(server.tokenRequests()).toBe(1);
    expect(s.decrypts.count).toBe(1);
    expect(server.forms[0]).toEqual({
      grant_type: 'refresh_token',
      refresh_token: CLIENT.refreshToken,
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      scope: 'smtp.send',
    });
  });

  it('shares one request among concurrent callers of a tenant', async () => {
    const server = await tokenServer();
    const { client } = harness();
    const s = subject(urlOf(server));

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => client.getToken(s)));

    expect(server.tokenRequests()).toBe(1);
    expect(new Set(outcomes.map((o) => (o.ok ? o.accessToken : 'failed')))).toHaveProperty('size', 1);
    expect(outcomes.every((o) => o.ok)).toBe(true);
  });

  it('fetches again 60 s before expiry, and for a new config version', async () => {
    const server = await tokenServer({ tokenTtlSeconds: 600 });
    const { client, clock } = harness();
    const s = subject(urlOf(server));

    await client.getToken(s);
    clock.t += 539_000;
    await client.getToken(s);
    expect(server.tokenRequests()).toBe(1);
    clock.t += 1_000;
    await client.getToken(s);
    expect(server.tokenRequests()).toBe(2);
    await client.getToken({ ...s, configVersion: 2 });
    expect(server.tokenRequests()).toBe(3);
  });

  it('reports a rotated refresh token and uses it next, even while the stored config is older', async () => {
    const server = await tokenServer();
    const { client, rotations } = harness();
    const s = subject(urlOf(server));

    const first = await client.getToken(s);
    if (!first.ok) throw new Error('no token');
    client.invalidate(s.tenantId, first.accessToken);
    const second = await client.getToken(s);

    expect(second.ok).toBe(true);
    expect(server.tokenRequests()).toBe(2);
    expect(rotations).toHaveLength(2);
    expect(rotations[0]).toMatchObject({ tenantId: s.tenantId, configVersion: 1 });
    expect(server.forms[1]?.refresh_token).toBe(rotations[0]?.refreshToken);
    expect(server.accepts(CLIENT.clientId, rotations[1]?.refreshToken ?? '')).toBe(true);
    expect(server.accepts(CLIENT.clientId, CLIENT.refreshToken)).toBe(false);
  });

  it('drops a refused token only while it is still the cached one', async () => {
    const server = await tokenServer();
    const { client } = harness();
    const s = subject(urlOf(server));

    const first = await client.getToken(s);
    client.invalidate(s.tenantId, 'another-token');
    await client.getToken(s);
    expect(server.tokenRequests()).toBe(1);
    client.invalidate(s.tenantId, first.ok ? first.accessToken : '');
    const fresh = await client.getToken(s);
    expect(server.tokenRequests()).toBe(2);
    expect(fresh).not.toEqual(first);
  });

  it('sends the client-credentials grant without a refresh token', async () => {
    const server = await tokenServer();
    const { client, rotations } = harness();
    const s = subject(urlOf(server), {
      flow: 'client-credentials',
      scope: 'https://outlook.office365.com/.default',
    });

    expect((await client.getToken(s)).ok).toBe(true);
    expect(server.forms[0]).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      scope: 'https://outlook.office365.com/.default',
    });
    expect(rotations).toEqual([]);
  });
});

describe('OAuth2 token endpoint failures', () => {
  it('invalid_grant (consent withdrawn) → auth, TOKEN, hint reconsent; never a secret', async () => {
    const server = await tokenServer();
    server.revoke(CLIENT.clientId);
    const { client, logs } = harness();

    const failure = failureOf(await client.getToken(subject(urlOf(server))));

    expect(failure).toMatchObject({
      class: 'auth',
      code: 'invalid_grant',
      phase: 'TOKEN',
      hint: 'reconsent',
    });
    expectNoSecret(JSON.stringify({ failure, logs }));
    expect(logs).toHaveLength(1);
  });

  it('a wrong client secret → auth invalid_client, without the reconsent hint', async () => {
    const server = await tokenServer({ clients: [{ ...CLIENT, clientSecret: 'another-secret-value' }] });
    const { client } = harness();

    const failure = failureOf(await client.getToken(subject(urlOf(server))));

    expect(failure).toMatchObject({ class: 'auth', code: 'invalid_client', phase: 'TOKEN' });
    expect(failure.hint).toBeUndefined();
  });

  it.each([
    [{ status: 500, body: 'internal error' }, 'HTTP_500'],
    [{ status: 429, body: '{"error":"too_many_requests"}' }, 'too_many_requests'],
    [{ status: 503, body: '{"error":"temporarily_unavailable"}' }, 'temporarily_unavailable'],
    [{ status: 200, body: '<html>maintenance</html>' }, 'EBADRESPONSE'],
  ])('%j → server-temporary %s, and the next call asks again', async (fault, code) => {
    const server = await tokenServer({ fault: (n) => (n === 1 ? fault : undefined) });
    const { client } = harness();
    const s = subject(urlOf(server));

    expect(failureOf(await client.getToken(s))).toMatchObject({
      class: 'server-temporary',
      code,
      phase: 'TOKEN',
    });
    expect((await client.getToken(s)).ok).toBe(true);
    expect(server.tokenRequests()).toBe(2);
  });

  it('an endpoint that never answers → server-temporary ETIMEDOUT after the timeout', async () => {
    const server = await tokenServer({ fault: () => 'hang' });
    const { client } = harness({ timeoutMs: 300 });

    const failure = failureOf(await client.getToken(subject(urlOf(server))));

    expect(failure).toMatchObject({ class: 'server-temporary', code: 'ETIMEDOUT', phase: 'TOKEN' });
  });

  it('a caller stops waiting at its deadline while the shared request goes on for others', async () => {
    const server = await tokenServer({ fault: () => 'hang' });
    const { client, clock } = harness({ timeoutMs: 600 });
    const s = subject(urlOf(server));

    const hurried = client.getToken(s, { deadline: clock.t + 100 });
    const patient = client.getToken(s);

    expect(failureOf(await hurried)).toMatchObject({ class: 'server-temporary', message: /100 ms left/ });
    expect(failureOf(await patient)).toMatchObject({ code: 'ETIMEDOUT' });
    expect(server.tokenRequests()).toBe(1);
  });

  it('an endpoint echoing the secrets in its error has them redacted', async () => {
    const description = `bad secret ${CLIENT.clientSecret} for ${CLIENT.refreshToken}`;
    const body = JSON.stringify({ error: 'invalid_client', error_description: description });
    const server = await tokenServer({ fault: () => ({ status: 401, body }) });
    const { client, logs } = harness();

    const failure = failureOf(await client.getToken(subject(urlOf(server))));

    expect(failure.message).toContain('[redacted]');
    expectNoSecret(JSON.stringify({ failure, logs }));
  });

  it('a certificate for another name → tls', async () => {
    const server = await tokenServer();
    const { client } = harness();

    const failure = failureOf(await client.getToken(subject(urlOf(server, 'wrong.test'))));

    expect(failure).toMatchObject({ class: 'tls', phase: 'TOKEN' });
    expect(server.tokenRequests()).toBe(0);
  });

  it('a secret that cannot be decrypted → credentials at DECRYPT, nothing sent', async () => {
    const server = await tokenServer();
    const { client } = harness();
    const s = subject(urlOf(server));
    const failing: TokenSubject = {
      ...s,
      secrets: async () => {
        throw Object.assign(new Error('KMS refused the context'), { code: 'InvalidCiphertextException' });
      },
    };

    const failure = failureOf(await client.getToken(failing));

    expect(failure).toMatchObject({
      class: 'credentials',
      phase: 'DECRYPT',
      code: 'InvalidCiphertextException',
    });
    expect(server.tokenRequests()).toBe(0);
  });
});

describe('the network guard on token URLs', () => {
  it.each([
    ['http://login.acme.example/token', 'ECONFIG', 'config-invalid'],
    ['https://inside.acme.example/token', 'ECONFIG', 'config-invalid'],
    ['https://metadata.acme.example/token', 'ECONFIG', 'config-invalid'],
    ['https://127.0.0.1/token', 'ECONFIG', 'config-invalid'],
    ['https://login.acme.example:25/token', 'ECONFIG', 'config-invalid'],
    ['https://user:pw@login.acme.example/token', 'ECONFIG', 'config-invalid'],
    ['https://nowhere.acme.example/token', 'ENOTFOUND', 'connection'],
  ])('%s → %s (%s), nothing contacted', async (url, code, cls) => {
    const { client } = harness({ allowPrivate: false });

    const failure = failureOf(await client.getToken(subject(url)));

    expect(failure).toMatchObject({ class: cls, code, phase: 'TOKEN' });
  });

  it('vetUrl checks a URL as a PUT does, without contacting it', async () => {
    const server = await tokenServer();
    const guarded = harness({ allowPrivate: false }).client;
    const local = harness().client;

    await expect(guarded.vetUrl('https://login.acme.example/oauth2/token')).resolves.toMatchObject({
      address: PUBLIC_ADDRESS,
    });
    await expect(guarded.vetUrl(`https://${TEST_HOST}/token`)).rejects.toThrow(/127\.0\.0\.1 \(loopback\)/);
    await expect(guarded.vetUrl(urlOf(server))).rejects.toThrow(/port/);
    await expect(guarded.vetUrl('http://login.acme.example/token')).rejects.toThrow(/https/);
    await expect(local.vetUrl(urlOf(server))).resolves.toMatchObject({ address: '127.0.0.1' });
    expect(server.tokenRequests()).toBe(0);
  });
});
