import { describe, expect, it } from 'vitest';
import type { FallbackReason } from '../../functions/core/types';
import {
  type DispatcherFixture,
  mail,
  PLATFORM,
  TEST_PASSWORD,
  useDispatcherFixture,
} from '../support/dispatcher';
import type { SmtpServerMode, TestSmtpServer } from '../support/smtp';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

/** One message of a tenant whose server fails in `mode`; returns the server and the batch response. */
async function sendThrough(tenantId: string, mode: SmtpServerMode, extra = {}) {
  const server = await f.smtp.start(mode);
  await f.smtpTenant(tenantId, server.port, extra);
  const response = await f.invoke(await f.receive([mail(tenantId)]));
  return { server, response };
}

/** The message went out through SES from the platform, with the tenant's name, and was recorded so. */
async function expectPlatformFallback(tenantId: string, reason: FallbackReason, count = 1) {
  const emails = await f.ses.store();
  expect(emails).toHaveLength(count);
  for (const email of emails) {
    expect(email.from).toContain(`${tenantId.toUpperCase()} via ${PLATFORM.name}`);
    expect(email.from).toContain(PLATFORM.address);
  }
  const log = await f.deliveries(tenantId);
  expect(log).toHaveLength(count);
  for (const d of log) {
    expect(d).toMatchObject({ route: 'platform', fallbackReason: reason, status: 'sent' });
    expect(d.accepted).toEqual(['ann@example.test']);
  }
  return log;
}

function expectNothingReceived(server: TestSmtpServer) {
  expect(server.received).toHaveLength(0);
}

describe('dispatcher: tenant failures fall back to the platform', () => {
  it('connection refused: fallback, one counted failure, breaker still closed', async () => {
    const port = await f.smtp.closedPort();
    await f.smtpTenant('refusedco', port);

    const response = await f.invoke(await f.receive([mail('refusedco')]));

    expect(response.batchItemFailures).toEqual([]);
    await expectPlatformFallback('refusedco', 'connection');
    const health = await f.health('refusedco');
    expect(health).toMatchObject({ state: 'healthy', consecutiveFailures: 1, retryAt: null });
    expect(health?.lastFailure).toMatchObject({ class: 'connection', phase: 'CONNECT' });
  });

  it('a host that never greets: one timeout, the rest of the batch skips the tenant', async () => {
    const server = await f.smtp.startSilent();
    await f.smtpTenant('silentco', server.port);
    const records = await f.receive([
      mail('silentco', { subject: '1' }),
      mail('silentco', { subject: '2' }),
      mail('silentco', { subject: '3' }),
    ]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(server.connections()).toBe(1); // one greeting timeout, not three
    await expectPlatformFallback('silentco', 'connection', 3);
    expect(await f.health('silentco')).toMatchObject({ state: 'healthy', consecutiveFailures: 1 });
  });

  it('a certificate for another name (tls): fallback and the breaker opens at once', async () => {
    const { server, response } = await sendThrough(
      'certco',
      { tls: 'implicit', wrongCertificate: true },
      { security: 'tls' },
    );

    expect(response.batchItemFailures).toEqual([]);
    expectNothingReceived(server);
    await expectPlatformFallback('certco', 'tls');
    const health = await f.health('certco');
    expect(health).toMatchObject({ state: 'unhealthy', backoffLevel: 0 });
    expect(health?.lastFailure?.class).toBe('tls');
    expect(Date.parse(health?.retryAt ?? '')).toBeGreaterThan(f.clock.now() + 50_000);
  });

  it('AUTH 535: fallback and the breaker opens at once', async () => {
    const { server, response } = await sendThrough('authco', {}, { password: 'not-the-password' });

    expect(response.batchItemFailures).toEqual([]);
    expectNothingReceived(server);
    await expectPlatformFallback('authco', 'auth');
    const health = await f.health('authco');
    expect(health?.state).toBe('unhealthy');
    expect(health?.lastFailure).toMatchObject({ class: 'auth', phase: 'AUTH', responseCode: 535 });
  });

  it('451 after DATA: server-temporary, fallback, counted', async () => {
    const { server, response } = await sendThrough('tempco', { dataEnd: '451 4.3.0 Try again later' });

    expect(response.batchItemFailures).toEqual([]);
    expectNothingReceived(server);
    await expectPlatformFallback('tempco', 'server-temporary');
    expect(await f.health('tempco')).toMatchObject({ state: 'healthy', consecutiveFailures: 1 });
  });

  it('421 instead of the greeting: server-temporary, fallback', async () => {
    const { server, response } = await sendThrough('busyco', { greeting: '421 4.3.2 Too busy, try later' });

    expect(response.batchItemFailures).toEqual([]);
    expectNothingReceived(server);
    await expectPlatformFallback('busyco', 'server-temporary');
    const health = await f.health('busyco');
    expect(health).toMatchObject({ state: 'healthy', consecutiveFailures: 1 });
    expect(health?.lastFailure?.responseCode).toBe(421);
  });

  it('a drop after the final ".": uncertain, sent through SES, recorded as a possible duplicate', async () => {
    const { response } = await sendThrough('dropco', { dropAfterDot: true });

    expect(response.batchItemFailures).toEqual([]);
    const [d] = await expectPlatformFallback('dropco', 'uncertain');
    expect(d?.possibleDuplicate).toBe(true);
    expect(await f.health('dropco')).toMatchObject({ state: 'healthy', consecutiveFailures: 1 });
  });

  it('550 5.4.5 after DATA: server-throttled, fallback, the breaker opens at once', async () => {
    const { server, response } = await sendThrough('quotaco', {
      dataEnd: '550 5.4.5 Daily sending quota exceeded',
    });

    expect(response.batchItemFailures).toEqual([]);
    expectNothingReceived(server);
    await expectPlatformFallback('quotaco', 'server-throttled');
    const health = await f.health('quotaco');
    expect(health?.state).toBe('unhealthy');
    expect(health?.lastFailure?.class).toBe('server-throttled');
  });

  it('a 5.1.1 at RCPT stays final when the message then fails at DATA: SES never gets that address', async () => {
    const server = await f.smtp.start({
      rcpt: { 'gone@example.test': '550 5.1.1 No such user' },
      dataEnd: '451 4.3.0 Try later',
    });
    await f.smtpTenant('datafail', server.port);
    const records = await f.receive([mail('datafail', { to: ['ann@example.test', 'gone@example.test'] })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    expect(f.sesRequests[0]?.Destination).toEqual({ ToAddresses: ['ann@example.test'] });
    const [d] = await f.deliveries('datafail');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: 'server-temporary', status: 'partial' });
    expect(d?.accepted).toEqual(['ann@example.test']);
    expect(d?.rejected.map((r) => r.address)).toEqual(['gone@example.test']);
  });

  it("a ciphertext copied from another tenant's record: credentials, no SMTP connection", async () => {
    const server = await f.smtp.start();
    const stolen = await f.cipher.encryptPassword('victim', TEST_PASSWORD);
    await f.smtpTenant('copycat', server.port, { passwordCiphertext: stolen });

    const response = await f.invoke(await f.receive([mail('copycat')]));

    expect(response.batchItemFailures).toEqual([]);
    expect(server.connections()).toBe(0);
    expect(f.counts.kms.DecryptCommand).toBe(1);
    await expectPlatformFallback('copycat', 'credentials');
    const health = await f.health('copycat');
    expect(health?.state).toBe('unhealthy');
    expect(health?.lastFailure).toMatchObject({ class: 'credentials', phase: 'DECRYPT' });
  });
});

describe('dispatcher: invalid messages', () => {
  it('sends an invalid message to the DLQ at once, verbatim, and reports it done', async () => {
    const body = JSON.stringify(mail('badco', { from: 'ceo@bank.example' }));
    const records = await f.receive([body, mail('goodco')]);
    const bad = records.find((r) => r.body === body);

    const response = await f.invoke(records);

    expect(bad).toBeDefined();
    expect(response.batchItemFailures).toEqual([]);
    const dlq = await f.dlqMessages();
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.body).toBe(body);
    expect(dlq[0]?.attributes).toMatchObject({ reason: 'validation', tenantId: 'badco' });
    expect(dlq[0]?.attributes.detail).toMatch(/^from: /);
    expect(f.sesRequests).toHaveLength(1); // only the valid one
    expect(await f.deliveries('badco')).toEqual([]);
    expect(await f.sqs.inflight('mail')).toEqual([]);
  });

  it('names the field of a bad value and keeps a non-JSON body verbatim', async () => {
    const badSubject = JSON.stringify(mail('badsubject', { subject: 'a\r\nBcc: all@example.test' }));
    const notJson = '{"v":1, this is not json';

    const response = await f.invoke(await f.receive([badSubject, notJson]));

    expect(response.batchItemFailures).toEqual([]);
    const dlq = await f.dlqMessages();
    const byBody = new Map(dlq.map((m) => [m.body, m.attributes]));
    expect(byBody.get(badSubject)).toMatchObject({ reason: 'validation', tenantId: 'badsubject' });
    expect(byBody.get(badSubject)?.detail).toMatch(/^subject: /);
    expect(byBody.get(notJson)?.reason).toBe('validation');
    expect(byBody.get(notJson)?.tenantId).toBeUndefined();
    expect(f.sesRequests).toHaveLength(0);
  });

  it('says what `to` accepts, and refuses control characters in header values and addresses', async () => {
    // Prepare
    const toNumber = JSON.stringify(mail('badto', { to: 42 }));
    const separator = JSON.stringify(mail('badheader', { headers: { 'X-Ref': 'a\u2028Bcc: x@y.example' } }));
    const nul = JSON.stringify(mail('badaddress', { to: ['ok@example.test', 'a\u0000@example.test'] }));

    // Act
    const response = await f.invoke(await f.receive([toNumber, separator, nul]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const byBody = new Map((await f.dlqMessages()).map((m) => [m.body, m.attributes]));
    expect(byBody.get(toNumber)).toMatchObject({
      reason: 'validation',
      detail: 'to: must be an address or a list of addresses',
    });
    expect(byBody.get(separator)?.detail).toMatch(/^headers\.X-Ref: must not contain control characters/);
    expect(byBody.get(nul)?.detail).toMatch(/^to\[1\]: must not contain control characters/);
    expect(f.sesRequests).toHaveLength(0);
  });
});
