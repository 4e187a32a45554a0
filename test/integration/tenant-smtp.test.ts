import { describe, expect, it } from 'vitest';
import {
  RAW_MESSAGE,
  sendFailure,
  smtpSenderHarness,
  TEST_PASSWORD,
  TEST_USER,
  testMail,
  testTarget,
} from '../support/smtp';

const { servers, makeSender } = smtpSenderHarness();

describe('tenant SMTP sender: delivery', () => {
  it('delivers over STARTTLS with AUTH, the raw message intact', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender();

    // Act
    const outcome = await sender.send(
      testTarget(server.port),
      testMail(['ann@example.test', 'bob@example.test']),
    );

    // Assess
    expect(outcome).toMatchObject({
      ok: true,
      accepted: ['ann@example.test', 'bob@example.test'],
      refused: [],
    });
    expect(outcome.ok && outcome.response).toMatch(/^250 .*queued as TEST1/);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]).toMatchObject({
      from: 'notifications@tenant.test',
      to: ['ann@example.test', 'bob@example.test'],
      user: TEST_USER,
      secure: true,
    });
    expect(server.received[0]?.raw.equals(RAW_MESSAGE)).toBe(true);
  });

  it('delivers over implicit TLS', async () => {
    // Prepare
    const server = await servers.start({ tls: 'implicit' });
    const sender = makeSender();

    // Act
    const outcome = await sender.send(testTarget(server.port, { security: 'tls' }), testMail());

    // Assess
    expect(outcome).toMatchObject({ ok: true, accepted: ['ann@example.test'] });
    expect(server.received[0]?.secure).toBe(true);
  });

  it('sends to the accepted recipients and reports the one refused with 550 5.1.1', async () => {
    // Prepare
    const server = await servers.start({ rcpt: { 'gone@example.test': '550 5.1.1 No such user' } });
    const sender = makeSender();

    // Act
    const outcome = await sender.send(
      testTarget(server.port),
      testMail(['ann@example.test', 'gone@example.test']),
    );

    // Assess
    expect(outcome).toMatchObject({
      ok: true,
      accepted: ['ann@example.test'],
      refused: [{ address: 'gone@example.test', responseCode: 550, response: '550 5.1.1 No such user' }],
    });
    expect(server.received[0]?.to).toEqual(['ann@example.test']);
  });

  it('fails with EENVELOPE and every refusal when all recipients are refused', async () => {
    // Prepare
    const server = await servers.start({
      rcpt: {
        'gone@example.test': '550 5.1.1 No such user',
        'left@example.test': '550 5.1.1 Mailbox disabled',
      },
    });
    const sender = makeSender();

    // Act
    const outcome = sendFailure(
      await sender.send(testTarget(server.port), testMail(['gone@example.test', 'left@example.test'])),
    );

    // Assess
    expect(outcome.error).toMatchObject({ phase: 'RCPT', code: 'EENVELOPE', responseCode: 550 });
    expect(outcome.accepted).toEqual([]);
    expect(outcome.refused).toEqual([
      { address: 'gone@example.test', responseCode: 550, response: '550 5.1.1 No such user' },
      { address: 'left@example.test', responseCode: 550, response: '550 5.1.1 Mailbox disabled' },
    ]);
    expect(server.received).toHaveLength(0);
  });

  it("refuses security 'none' without a connection unless allowInsecure is set", async () => {
    // Prepare
    const server = await servers.start({ tls: 'none' });
    const strict = makeSender();
    const local = makeSender({ allowInsecure: true });

    // Act
    const refused = sendFailure(await strict.send(testTarget(server.port, { security: 'none' }), testMail()));
    const connectionsAfterRefusal = server.connections();
    const allowed = await local.send(testTarget(server.port, { security: 'none' }), testMail());

    // Assess
    expect(refused.error).toMatchObject({ phase: 'CONFIG', code: 'ECONFIG' });
    expect(connectionsAfterRefusal).toBe(0);
    expect(allowed.ok).toBe(true);
    expect(server.received[0]?.secure).toBe(false);
  });
});

describe('tenant SMTP sender: pools', () => {
  it('sends consecutive messages of a tenant over one connection', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender();
    const target = testTarget(server.port);

    // Act
    const first = await sender.send(target, testMail());
    const second = await sender.send(target, testMail());

    // Assess
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(server.received).toHaveLength(2);
    expect(server.connections()).toBe(1);
  });

  it('opens a new pool for a new config version, and after invalidate', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender();
    const target = testTarget(server.port);

    // Act
    await sender.send(target, testMail());
    await sender.send({ ...target, configVersion: 2 }, testMail());
    const afterVersionChange = server.connections();
    sender.invalidate(target.tenantId);
    await sender.send({ ...target, configVersion: 2 }, testMail());

    // Assess
    expect(afterVersionChange).toBe(2);
    expect(server.connections()).toBe(3);
    expect(server.received).toHaveLength(3);
  });

  it('reconnects after a failure', async () => {
    // Prepare
    const server = await servers.start({ rcpt: { 'gone@example.test': '550 5.1.1 No such user' } });
    const sender = makeSender();
    const target = testTarget(server.port);

    // Act
    const failed = await sender.send(target, testMail(['gone@example.test']));
    const next = await sender.send(target, testMail());

    // Assess
    expect(failed.ok).toBe(false);
    expect(next.ok).toBe(true);
    expect(server.connections()).toBe(2);
  });
});

describe('tenant SMTP sender: deadlines', () => {
  it('never runs past the deadline, whatever the timeouts allow', async () => {
    // Prepare
    const silent = await servers.startSilent();
    const sender = makeSender({ timeouts: { connectMs: 5000, commandMs: 5000 } });

    // Act
    const outcome = sendFailure(
      await sender.send(testTarget(silent.port), testMail(), { deadline: Date.now() + 300 }),
    );

    // Assess
    expect(outcome.error).toMatchObject({ phase: 'GREETING', code: 'ETIMEDOUT' });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(250);
    expect(outcome.durationMs).toBeLessThan(1000);
  });
});

describe('tenant SMTP sender: verify', () => {
  it('connects, secures and authenticates without sending mail', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender();

    // Act
    const outcome = await sender.verify(testTarget(server.port));

    // Assess
    expect(outcome.ok).toBe(true);
    expect(server.connections()).toBe(1);
    expect(server.received).toHaveLength(0);
  });

  it('reports a wrong password as an AUTH failure', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender();

    // Act
    const outcome = await sender.verify(testTarget(server.port, { password: 'not-the-password' }));

    // Assess
    expect(outcome).toMatchObject({ ok: false, error: { phase: 'AUTH', code: 'EAUTH', responseCode: 535 } });
    expect(JSON.stringify(outcome)).not.toContain('not-the-password');
  });

  it('stops at the deadline against a host that never greets', async () => {
    // Prepare
    const silent = await servers.startSilent();
    const sender = makeSender({ timeouts: { connectMs: 5000, commandMs: 5000 } });

    // Act
    const outcome = await sender.verify(testTarget(silent.port), { deadline: Date.now() + 300 });

    // Assess
    expect(outcome).toMatchObject({ ok: false, error: { phase: 'GREETING', code: 'ETIMEDOUT' } });
    expect(outcome.durationMs).toBeLessThan(1000);
  });
});

describe('tenant SMTP sender: the password stays secret', () => {
  it('redacts a password a hostile server echoes, in the outcome and in the log', async () => {
    // Prepare
    const server = await servers.start({ echoPasswordOnFailure: true });
    const logged: Array<Record<string, unknown>> = [];
    const sender = makeSender({ logger: { warn: (_message, extra) => logged.push(extra) } });
    const password = 'Echoed-Secret-42';

    // Act
    const outcome = sendFailure(await sender.send(testTarget(server.port, { password }), testMail()));

    // Assess: a reply to AUTH is kept as its codes and a fixed description only.
    expect(outcome.error.response).toBe('535 5.7.8 authentication credentials invalid');
    expect(JSON.stringify(outcome)).not.toContain(password);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ phase: 'AUTH', code: 'EAUTH' });
    expect(JSON.stringify(logged)).not.toContain(password);
    expect(JSON.stringify(logged)).not.toContain(TEST_PASSWORD);
  });

  /** The forms a careless or hostile server echoes a secret in. */
  const changedForms = (pw: string) => [pw.slice(0, -1), pw.toUpperCase(), pw.split('').join(' ')];

  it('keeps nothing of a 535 that echoes the password cut, upper-cased or spaced out', async () => {
    // Prepare
    const password = 'Hostile-Echo-77';
    const server = await servers.start({
      authRefusal: (pw) =>
        `5.7.8 partial=${pw.slice(0, -1)} upper=${pw.toUpperCase()} spaced=${pw.split('').join(' ')}`,
    });
    const logged: Array<Record<string, unknown>> = [];
    const sender = makeSender({ logger: { warn: (_message, extra) => logged.push(extra) } });

    // Act
    const sent = sendFailure(await sender.send(testTarget(server.port, { password }), testMail()));
    const checked = await sender.verify(testTarget(server.port, { password }));

    // Assess
    const everything = JSON.stringify([sent, checked, logged]);
    for (const form of [password, ...changedForms(password)]) expect(everything).not.toContain(form);
    expect(sent.error).toMatchObject({ phase: 'AUTH', responseCode: 535 });
    expect(sent.error.response).toBe('535 5.7.8 authentication credentials invalid');
  });

  it('redacts pieces of 6+ characters of the password, in any case, from other replies', async () => {
    // Prepare: logged in fine, then MAIL is refused with the password echoed changed.
    const server = await servers.startScripted({
      MAIL: `550 5.7.1 not for ${TEST_PASSWORD.slice(1).toLowerCase()} nor ${TEST_PASSWORD.slice(0, 7).toUpperCase()}`,
    });
    const sender = makeSender({ allowInsecure: true });

    // Act
    const outcome = sendFailure(await sender.send(testTarget(server.port, { security: 'none' }), testMail()));

    // Assess
    expect(outcome.error.phase).toBe('MAIL');
    expect(outcome.error.response).toBe('550 5.7.1 not for [redacted] nor [redacted]');
    expect(outcome.error.message).not.toMatch(new RegExp(TEST_PASSWORD.slice(1, 7), 'i'));
  });
});
