import { describe, expect, it, vi } from 'vitest';
import { classifySmtpFailure } from '../../functions/core/classify';
import { SILENT, sendFailure, smtpSenderHarness, testMail, testTarget } from '../support/smtp';

// Every reply is timed: COMMAND_MS for each command before DATA, DATA_REPLY_MS for the reply after ".".
// Scripted servers speak plain text, which only a local-development sender allows.
const COMMAND_MS = 300;
const DATA_REPLY_MS = 1_500;
const { servers, makeSender } = smtpSenderHarness({
  allowInsecure: true,
  timeouts: { connectMs: 500, commandMs: COMMAND_MS, dataReplyMs: DATA_REPLY_MS },
});

describe('tenant SMTP sender: a server that greets, then hangs', () => {
  it.each([
    ['EHLO', 'EHLO', 'connection'],
    ['AUTH', 'AUTH', 'connection'],
    ['MAIL', 'MAIL', 'connection'],
    ['RCPT', 'RCPT', 'connection'],
    ['DATA', 'DATA', 'connection'],
  ])('gives up on a missing reply to %s after the command timeout', async (verb, phase, failureClass) => {
    // Prepare
    const server = await servers.startScripted({ [verb]: SILENT });
    const sender = makeSender();

    // Act
    const outcome = sendFailure(await sender.send(testTarget(server.port, { security: 'none' }), testMail()));

    // Assess
    expect(outcome.error).toMatchObject({ phase, code: 'ETIMEDOUT' });
    expect(classifySmtpFailure(outcome.error).class).toBe(failureClass);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(COMMAND_MS - 20);
    expect(outcome.durationMs).toBeLessThan(COMMAND_MS + 700);
    expect(outcome.deferred).toBeUndefined();
  });
});

describe('tenant SMTP sender: the reply after the final "."', () => {
  it('waits for a reply slower than a command timeout, up to its own bound', async () => {
    // Prepare: smtp-server answers 250 well after COMMAND_MS, within DATA_REPLY_MS.
    const server = await servers.start({ replyAfterDotMs: COMMAND_MS * 3 });
    const sender = makeSender();

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail());

    // Assess
    expect(outcome).toMatchObject({ ok: true, accepted: ['ann@example.test'] });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(COMMAND_MS * 3 - 20);
    expect(server.received).toHaveLength(1);
  });

  it('calls a wait past its bound uncertain (the server may have taken the message)', async () => {
    // Prepare
    const server = await servers.startScripted({ '.': SILENT });
    const sender = makeSender();

    // Act
    const outcome = sendFailure(await sender.send(testTarget(server.port, { security: 'none' }), testMail()));

    // Assess
    expect(outcome.error).toMatchObject({ phase: 'MESSAGE', code: 'ETIMEDOUT' });
    expect(classifySmtpFailure(outcome.error).class).toBe('uncertain');
    expect(outcome.accepted).toEqual(['ann@example.test']);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(DATA_REPLY_MS - 20);
  });

  it('does not start DATA when its reply could not be awaited before the deadline', async () => {
    // Prepare
    const server = await servers.startScripted({});
    const sender = makeSender();

    // Act: the deadline leaves time to connect, but less than DATA_REPLY_MS.
    const outcome = sendFailure(
      await sender.send(testTarget(server.port, { security: 'none' }), testMail(), {
        deadline: Date.now() + DATA_REPLY_MS - 200,
      }),
    );

    // Assess: nothing sent, nothing blamed on the server, and DATA never reached it.
    expect(outcome.deferred).toBe(true);
    expect(outcome.error).toMatchObject({ phase: 'DATA' });
    expect(server.commands.some((line) => /^MAIL FROM/i.test(line))).toBe(true);
    expect(server.commands).not.toContain('DATA');
    expect(outcome.durationMs).toBeLessThan(DATA_REPLY_MS - 200);
  });
});

describe('tenant SMTP sender: a kept connection is retired with QUIT', () => {
  const quitArrives = async (server: { commands: string[] }) =>
    vi.waitFor(() => expect(server.commands).toContain('QUIT'), { timeout: 2_000, interval: 20 });

  it('when the sender closes (smtp-server sees the QUIT)', async () => {
    // Prepare
    const server = await servers.start({ tls: 'none' });
    const sender = makeSender();
    const outcome = await sender.send(testTarget(server.port, { security: 'none' }), testMail());

    // Act
    sender.close();

    // Assess
    expect(outcome.ok).toBe(true);
    await quitArrives(server);
  });

  it('when the config changes, when it is invalidated, and when it sat idle', async () => {
    // Prepare
    const changed = await servers.startScripted({});
    const invalidated = await servers.startScripted({});
    const idle = await servers.startScripted({});
    const sender = makeSender({
      timeouts: { connectMs: 500, commandMs: COMMAND_MS, dataReplyMs: DATA_REPLY_MS, idleMs: 200 },
    });
    const first = testTarget(changed.port, { security: 'none' });
    const second = testTarget(invalidated.port, { security: 'none' });

    // Act
    await sender.send(first, testMail());
    await sender.send({ ...first, configVersion: 2 }, testMail());
    await sender.send(second, testMail());
    sender.invalidate(second.tenantId);
    await sender.send(testTarget(idle.port, { security: 'none' }), testMail());

    // Assess
    await quitArrives(changed);
    await quitArrives(invalidated);
    await quitArrives(idle);
    expect(changed.connections()).toBe(2);
  });
});
