import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConfigApiFixture,
  PUBLIC_ADDRESS,
  smtpConfigBody,
  startConfigApiFixture,
} from '../support/config-api';
import { SmtpTestServers, TEST_HOST, TEST_PASSWORD, TEST_USER, type TestSmtpServer } from '../support/smtp';

// The deployed setting: TENANT_SMTP_ALLOW_PRIVATE unset. Names resolve through a fixed table (no DNS).
const HOSTS: Record<string, string[]> = {
  localhost: ['127.0.0.1'],
  'metadata.acme.example': ['169.254.169.254'],
  'ec2-v6.acme.example': ['fd00:ec2::254'],
  'intranet.acme.example': ['10.1.2.3'],
  'mixed.acme.example': [PUBLIC_ADDRESS, '192.168.0.10'],
  'mapped.acme.example': ['::ffff:127.0.0.1'],
};

const PASSWORD = 'pw-Guard-test%5';

let api: ConfigApiFixture;
let token: string;
const servers = new SmtpTestServers();
let server: TestSmtpServer;

beforeAll(async () => {
  api = await startConfigApiFixture({ allowPrivateSmtp: false, hosts: HOSTS });
  token = await api.token('acme');
  server = await servers.start();
});

afterAll(async () => {
  await servers.closeAll();
  await api?.close();
});

const body = (host: string, port = 587, over: Record<string, unknown> = {}) =>
  smtpConfigBody(PASSWORD, { host, port, security: port === 465 ? 'tls' : 'starttls', ...over });

const REFUSED_HOSTS = [
  // loopback, however spelt
  '127.0.0.1',
  '127.10.20.30',
  '127.1',
  '2130706433',
  '0x7f.0.0.1',
  '0177.0.0.1',
  'localhost',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '0.0.0.0',
  '::',
  // the metadata service
  '169.254.169.254',
  'metadata.acme.example',
  'ec2-v6.acme.example',
  // private and other non-unicast ranges
  '10.0.0.1',
  '172.16.5.4',
  '172.31.255.254',
  '192.168.1.1',
  '100.64.0.1',
  'intranet.acme.example',
  'fc00::1',
  'fe80::1',
  '224.0.0.1',
  '255.255.255.255',
  'mixed.acme.example',
  // IPv4 inside IPv6
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:169.254.169.254',
  'mapped.acme.example',
  '64:ff9b::a9fe:a9fe',
  '2002:7f00:1::1',
  '2002:a00:1::1',
];

describe('config API: network guard at config time', () => {
  it.each(REFUSED_HOSTS)('refuses host %s with 422 host-refused on smtp.host', async (host) => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', { token, body: body(host) });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.host' } });
  });

  it.each([25, 22, 80, 443, 2526, 8025])(
    'refuses port %i with 422 host-refused on smtp.port',
    async (port) => {
      // Act
      const res = await api.call('PUT', '/tenants/acme/sender', {
        token,
        body: body('smtp.acme.example', port),
      });

      // Assess
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.port' } });
    },
  );

  it.each([465, 587, 2525])('accepts a public host on port %i', async (port) => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', {
      token,
      body: body('smtp.acme.example', port),
    });

    // Assess
    expect(res.status).toBe(200);
  });

  it('answers a name that does not resolve with 422 dns-failure', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', { token, body: body('gone.acme.example') });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'dns-failure', field: 'smtp.host' } });
  });

  it('refuses security "none" outside local development', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/sender', {
      token,
      body: body('smtp.acme.example', 587, { security: 'none' }),
    });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'validation', field: 'smtp.security' } });
  });
});

describe('config API: network guard on the test endpoint', () => {
  it.each(['127.0.0.1', TEST_HOST, 'localhost', '::ffff:127.0.0.1'])(
    'refuses %s with 422 before any connection',
    async (host) => {
      // Prepare
      const before = server.connections();
      const test = {
        mode: 'smtp',
        smtp: {
          host,
          port: server.port,
          security: 'starttls',
          username: TEST_USER,
          password: TEST_PASSWORD,
          fromAddress: 'notifications@tenant.test',
        },
      };

      // Act
      const res = await api.call('POST', '/tenants/acme/sender/test', { token, body: test });

      // Assess
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: { code: 'host-refused' } });
      expect(server.connections()).toBe(before);
    },
  );

  it('refuses the stored config when it no longer passes (before any connection)', async () => {
    // Prepare: a config stored behind the API's back, pointing at loopback.
    const ciphertext = await api.cipher.encryptPassword('sneaky', TEST_PASSWORD);
    await api.store.putSender(
      {
        tenantId: 'sneaky',
        mode: 'smtp',
        fallback: 'platform',
        smtp: {
          host: TEST_HOST,
          port: 587,
          security: 'starttls',
          username: TEST_USER,
          passwordCiphertext: ciphertext,
          fromAddress: 'n@tenant.test',
        },
        version: 1,
        updatedAt: '2030-01-01T00:00:00.000Z',
      },
      0,
    );
    const before = server.connections();

    // Act
    const res = await api.call('POST', '/tenants/sneaky/sender/test', {
      token: await api.token('sneaky'),
      body: {},
    });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'host-refused', field: 'smtp.host' } });
    expect(server.connections()).toBe(before);
  });
});

describe('config API: guard suite contract and secrets', () => {
  it('answered every request as documented and leaked no password', async () => {
    expect(api.contractViolations()).toEqual([]);
    expect(await api.leaks([PASSWORD, TEST_PASSWORD])).toEqual([]);
  });
});
