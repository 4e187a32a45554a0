import { afterEach, describe, expect, it } from 'vitest';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import {
  createWebhookPoster,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_PORTS,
  type WebhookPosterOptions,
} from '../../functions/adapters/webhook';
import type { AlertEvent } from '../../functions/core/alerts';
import { systemClock } from '../../functions/core/types';
import {
  startWebhookReceiver,
  type WebhookAnswer,
  type WebhookReceiver,
} from '../../infra/local/webhook-receiver';
import { PUBLIC_ADDRESS, tableResolver } from '../support/config-api';
import { TEST_CA, TEST_HOST, TEST_TLS } from '../support/smtp';

const SECRET = 'whsec-0123456789abcdef-test';
const EVENT: AlertEvent = {
  id: 'evt_0123456789abcdefABCD',
  type: 'test',
  tenantId: 'acme',
  createdAt: '2030-01-01T00:00:00.000Z',
  data: {},
};
const HOSTS = {
  [TEST_HOST]: ['127.0.0.1'],
  'hooks.acme.example': [PUBLIC_ADDRESS],
  'inside.acme.example': ['10.0.0.7'],
  'metadata.acme.example': ['169.254.169.254'],
  'mixed.acme.example': [PUBLIC_ADDRESS, '127.0.0.1'],
};

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(answer?: (n: number) => WebhookAnswer) {
  const r = await startWebhookReceiver({ secret: SECRET, tls: TEST_TLS, ...(answer && { answer }) });
  receivers.push(r);
  return { r, url: `https://${TEST_HOST}:${r.port}/hooks` };
}

function poster(over: Partial<WebhookPosterOptions> & { allowPrivate?: boolean } = {}) {
  const allowPrivate = over.allowPrivate ?? true;
  const guard = createNetworkGuard({ allowPrivate, ports: WEBHOOK_PORTS, resolve: tableResolver(HOSTS) });
  return createWebhookPoster({
    guard,
    clock: systemClock,
    allowInsecure: allowPrivate,
    ca: [TEST_CA.toString()],
    ...over,
  });
}

describe('webhook poster against a real HTTPS receiver', () => {
  it('POSTs the event signed, with the event headers, to the vetted address under the URL name', async () => {
    const { r, url } = await receiver();
    const result = await poster().post({ url, secret: SECRET }, EVENT);
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(r.received).toHaveLength(1);
    const got = r.received[0];
    expect(got?.verified).toBe(true);
    expect(JSON.parse(got?.body ?? '')).toEqual(EVENT);
    expect(got?.headers).toMatchObject({
      'content-type': 'application/json',
      'tenant-mailer-event': 'test',
      'tenant-mailer-event-id': EVENT.id,
      host: `${TEST_HOST}:${r.port}`,
    });
    expect(got?.headers['tenant-mailer-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('signature checks with the secret only, over the exact raw body', () => {
    const body = JSON.stringify(EVENT);
    const header = signWebhook(SECRET, 1_900_000_000, body);
    expect(verifyWebhookSignature(SECRET, header, body, 1_900_000_010)).toBe(true);
    expect(verifyWebhookSignature('another-secret-value', header, body, 1_900_000_010)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, `${body} `, 1_900_000_010)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, body, 1_900_001_000)).toBe(false);
  });

  it('reports a 500 as a failure with its status, and the next POST of the same event succeeds', async () => {
    const { r, url } = await receiver((n) => (n === 1 ? 500 : 204));
    const p = poster();
    const first = await p.post({ url, secret: SECRET }, EVENT);
    const second = await p.post({ url, secret: SECRET }, EVENT);
    expect(first).toMatchObject({ ok: false, status: 500 });
    expect(second).toMatchObject({ ok: true, status: 204 });
    expect(r.received.map((x) => x.headers['tenant-mailer-event-id'])).toEqual([EVENT.id, EVENT.id]);
  });

  it('gives up on a receiver that never answers after its timeout', async () => {
    const { r, url } = await receiver(() => 'hang');
    const result = await poster({ timeoutMs: 300 }).post({ url, secret: SECRET }, EVENT);
    expect(result.ok).toBe(false);
    expect(result.status).toBeUndefined();
    expect(result.message).toMatch(/ETIMEDOUT/);
    expect(r.received).toHaveLength(1);
  });

  it('does not follow a redirect', async () => {
    const { r, url } = await receiver(() => 302);
    const result = await poster().post({ url, secret: SECRET }, EVENT);
    expect(result).toMatchObject({ ok: false, status: 302 });
    expect(result.message).toMatch(/redirects are not followed/);
    expect(r.received).toHaveLength(1);
  });

  it('checks the certificate against the URL name, not the address it connects to', async () => {
    const { r } = await receiver();
    const result = await poster().post({ url: `https://127.0.0.1:${r.port}/hooks`, secret: SECRET }, EVENT);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|altname/i);
    expect(r.received).toHaveLength(0);
  });
});

describe('webhook URL guard', () => {
  const production = () => poster({ allowPrivate: false });

  it.each([
    ['http://hooks.acme.example/x', /https/],
    ['https://user:pw@hooks.acme.example/x', /credentials/],
    ['https://hooks.acme.example:8080/x', /port 8080/],
    ['https://inside.acme.example/x', /10\.0\.0\.7 \(private\)/],
    ['https://metadata.acme.example/x', /linkLocal/],
    ['https://mixed.acme.example/x', /loopback/],
    ['https://127.0.0.1/x', /loopback/],
    ['https://[::ffff:10.0.0.1]/x', /private/],
    ['https://nowhere.acme.example/x', /ENOTFOUND/],
    ['not a url', /valid URL/],
  ])('refuses %s without a connection', async (url, reason) => {
    const result = await production().post({ url, secret: SECRET }, EVENT);
    expect(result.ok).toBe(false);
    expect(result.status).toBeUndefined();
    expect(result.message).toMatch(reason);
    await expect(production().vetUrl(url)).rejects.toThrow(reason);
  });

  it('accepts a public https URL on 443 at config time without calling it', async () => {
    await expect(production().vetUrl('https://hooks.acme.example/mail')).resolves.toMatchObject({
      address: PUBLIC_ADDRESS,
    });
  });

  it('takes http and loopback only when private addresses are allowed (local development)', async () => {
    const r = await startWebhookReceiver({ secret: SECRET });
    receivers.push(r);
    const result = await poster().post({ url: r.url, secret: SECRET }, EVENT);
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect((await production().post({ url: r.url, secret: SECRET }, EVENT)).ok).toBe(false);
    expect(r.received).toHaveLength(1);
  });

  it('never puts the secret in a result', async () => {
    const { url } = await receiver(() => 500);
    const result = await poster().post({ url, secret: SECRET }, EVENT);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });
});
