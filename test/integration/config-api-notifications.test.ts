import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretCipher } from '../../functions/adapters/kms-secrets';
import { startWebhookReceiver, type WebhookReceiver } from '../../infra/local/webhook-receiver';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';
import { TEST_HOST, TEST_TLS } from '../support/smtp';

const SECRET = 'whsec-acme-0123456789-test';
const SECRET2 = 'whsec-acme-second-secret-42';
const ALL = [
  'sender.unhealthy',
  'sender.recovered',
  'sender.still-unhealthy',
  'messages.dead-lettered',
  'domain.verified',
  'domain.failed',
  'reputation.warning',
];

let api: ConfigApiFixture;
let receiver: WebhookReceiver;
let acme: string;
let hookUrl: string;

beforeAll(async () => {
  // Local development rules (loopback receivers); link-local and other refusals stay.
  api = await startConfigApiFixture({
    allowPrivateSmtp: true,
    alerts: true,
    hosts: { 'hooks.acme.example': ['52.94.236.249'], 'metadata.acme.example': ['169.254.169.254'] },
  });
  receiver = await startWebhookReceiver({ secret: SECRET, tls: TEST_TLS, now: () => api.clock.now() });
  hookUrl = `https://${TEST_HOST}:${receiver.port}/hooks`;
  acme = await api.token('acme');
});

afterAll(async () => {
  await receiver?.close();
  await api?.close();
});

async function settingsItem(tenantId: string) {
  const key = { pk: `NOTIFY#${tenantId}`, sk: 'SETTINGS' };
  return (await api.dynamo.doc.send(new GetCommand({ TableName: api.dynamo.tableName, Key: key }))).Item;
}

describe('config API: tenant alert settings', () => {
  it('answers defaults when nothing is stored', async () => {
    // Act
    const res = await api.call('GET', '/tenants/acme/notifications', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ emails: [], webhook: null, events: ALL, version: 0 });
  });

  it('stores emails and a webhook, the secret encrypted for this tenant and purpose, never answered', async () => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/notifications', {
      token: acme,
      body: { emails: ['Ops@acme.example'], webhook: { url: hookUrl, secret: SECRET } },
    });
    const got = await api.call('GET', '/tenants/acme/notifications', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      emails: ['ops@acme.example'],
      webhook: { url: hookUrl, secretSet: true },
      events: ALL,
      version: 1,
    });
    expect(got.body).toEqual(res.body);
    const stored = (await settingsItem('acme'))?.webhook as { secretCiphertext: string } | undefined;
    const ciphertext = stored?.secretCiphertext ?? '';
    const webhookCipher = createSecretCipher({
      kms: api.kms.client,
      keyId: api.kms.keyId,
      purpose: 'webhook-secret',
    });
    await expect(webhookCipher.decrypt('acme', ciphertext)).resolves.toBe(SECRET);
    await expect(webhookCipher.decrypt('globex', ciphertext)).rejects.toThrow(/KMS Decrypt/);
    const smtpPurpose = createSecretCipher({
      kms: api.kms.client,
      keyId: api.kms.keyId,
      purpose: 'smtp-password',
    });
    await expect(smtpPurpose.decrypt('acme', ciphertext)).rejects.toThrow(/KMS Decrypt/);
    expect(receiver.received).toHaveLength(0);
  });

  it('keeps the stored secret when it is left out for the same URL, and wants one for a new URL', async () => {
    // Act
    const same = await api.call('PUT', '/tenants/acme/notifications', {
      token: acme,
      body: { emails: ['ops@acme.example'], webhook: { url: hookUrl }, events: ['sender.unhealthy'] },
    });
    const moved = await api.call('PUT', '/tenants/acme/notifications', {
      token: acme,
      body: { emails: [], webhook: { url: 'https://hooks.acme.example/mail' } },
    });

    // Assess
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({
      version: 2,
      events: ['sender.unhealthy'],
      webhook: { secretSet: true },
    });
    expect(moved.status).toBe(422);
    expect(moved.body).toMatchObject({ error: { code: 'validation', field: 'webhook.secret' } });
  });

  it.each([
    [
      { emails: ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example'] },
      'validation',
      'emails',
    ],
    [{ emails: ['not an address'] }, 'validation', 'emails.0'],
    [
      { emails: [], webhook: { url: 'https://hooks.acme.example/x', secret: 'short' } },
      'validation',
      'webhook.secret',
    ],
    [
      { emails: [], webhook: { url: 'ftp://hooks.acme.example/x', secret: SECRET2 } },
      'validation',
      'webhook.url',
    ],
    [
      { emails: [], webhook: { url: 'https://metadata.acme.example/x', secret: SECRET2 } },
      'host-refused',
      'webhook.url',
    ],
    [
      { emails: [], webhook: { url: 'https://nowhere.acme.example/x', secret: SECRET2 } },
      'dns-failure',
      'webhook.url',
    ],
    [{ emails: [], events: ['sender.exploded'] }, 'validation', 'events.0'],
    [{ emails: [], extra: true }, 'validation', 'extra'],
  ])('refuses %j with 422 %s on %s', async (body, code, field) => {
    // Act
    const res = await api.call('PUT', '/tenants/acme/notifications', { token: acme, body });

    // Assess
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code, field } });
  });

  it('sends a test event to every channel now, and logs each', async () => {
    // Prepare
    await api.call('PUT', '/tenants/acme/notifications', {
      token: acme,
      body: { emails: ['ops@acme.example'], webhook: { url: hookUrl, secret: SECRET } },
    });
    await api.alerts?.ses.clear();
    const before = receiver.received.length;

    // Act
    const res = await api.call('POST', '/tenants/acme/notifications/test', { token: acme });
    const log = await api.call('GET', '/tenants/acme/notifications/log?limit=10', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    const results = (res.body as { results: { channel: string; ok: boolean; status?: number }[] }).results;
    expect(results.map((r) => [r.channel, r.ok])).toEqual([
      ['email', true],
      ['webhook', true],
    ]);
    expect(results[1]?.status).toBe(204);
    const hook = receiver.received[before];
    expect(hook?.verified).toBe(true);
    expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({ type: 'test', tenantId: 'acme' });
    const mail = await api.alerts?.ses.store();
    expect(mail).toHaveLength(1);
    expect(mail?.[0]?.subject).toBe('[Mailer] Test alert for acme');
    expect(mail?.[0]?.from).toContain('alerts@platform.example');
    expect(log.status).toBe(200);
    const items = (
      log.body as { items: { eventId: string; channel: string; ok: boolean; attempts: number }[] }
    ).items;
    expect(items.map((i) => [i.channel, i.ok, i.attempts]).sort()).toEqual([
      ['email', true, 1],
      ['webhook', true, 1],
    ]);
    expect(items[0]?.eventId).toBe(JSON.parse(hook?.body ?? '{}').id);
  });

  it('pages the log with an opaque cursor and refuses a forged one', async () => {
    // Act
    const first = await api.call('GET', '/tenants/acme/notifications/log?limit=1', { token: acme });
    const cursor = (first.body as { cursor: string }).cursor;
    const second = await api.call('GET', `/tenants/acme/notifications/log?limit=1&cursor=${cursor}`, {
      token: acme,
    });
    const forged = Buffer.from('DELIVERY#x').toString('base64url');
    const bad = await api.call('GET', `/tenants/acme/notifications/log?cursor=${forged}`, { token: acme });

    // Assess
    expect(first.status).toBe(200);
    expect(cursor).toEqual(expect.any(String));
    expect(second.status).toBe(200);
    expect((second.body as { items: unknown[] }).items).toHaveLength(1);
    expect(bad.status).toBe(400);
  });

  it('allows 5 tests per tenant per minute, then 429', async () => {
    // Prepare: one test already ran in this minute of the fixture's clock
    api.clock.set(Date.UTC(2030, 0, 2));
    const statuses: number[] = [];

    // Act
    for (let i = 0; i < 6; i += 1) {
      statuses.push((await api.call('POST', '/tenants/acme/notifications/test', { token: acme })).status);
    }

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('deletes the settings', async () => {
    // Act
    const res = await api.call('DELETE', '/tenants/acme/notifications', { token: acme });
    const got = await api.call('GET', '/tenants/acme/notifications', { token: acme });

    // Assess
    expect(res.status).toBe(204);
    expect(got.body).toEqual({ emails: [], webhook: null, events: ALL, version: 0 });
  });

  it('never answers or logs the secret, and every answer fits the OpenAPI document', async () => {
    // Assess
    expect(await api.leaks([SECRET, SECRET2])).toEqual([]);
    expect(api.contractViolations()).toEqual([]);
  });
});
