import { describe, expect, it } from 'vitest';
import { classifySmtpFailure } from '../../functions/core/classify';
import { CredentialsError } from '../../functions/core/errors';
import type { SmtpCredential, SmtpCredentials } from '../../functions/core/ports';
import {
  sendFailure,
  smtpSenderHarness,
  TEST_PASSWORD,
  TEST_USER,
  testMail,
  testTarget,
} from '../support/smtp';

// The sender asks a credentials port for the login when it opens a connection; the secret goes nowhere else.
const { servers, makeSender } = smtpSenderHarness();

const never = <T>() => new Promise<T>(() => undefined);

describe('tenant SMTP sender: credentials', () => {
  /** A credentials port that counts what the sender asks for and forgets. */
  function countingCredentials(answer: () => Promise<SmtpCredential>) {
    const asked: number[] = [];
    const invalidated: number[] = [];
    const credentials: SmtpCredentials = {
      credentialFor: async (target) => {
        asked.push(target.configVersion);
        return answer();
      },
      invalidate: (target) => invalidated.push(target.configVersion),
    };
    return { credentials, asked, invalidated };
  }
  const password = async (): Promise<SmtpCredential> => ({
    type: 'password',
    user: TEST_USER,
    pass: TEST_PASSWORD,
  });

  it('asks for the credential when it opens a connection, not for every message', async () => {
    // Prepare
    const server = await servers.start();
    const { credentials, asked } = countingCredentials(password);
    const sender = makeSender({ credentials });
    const target = testTarget(server.port);

    // Act
    await sender.send(target, testMail());
    await sender.send(target, testMail());
    await sender.send({ ...target, configVersion: 2 }, testMail());

    // Assess
    expect(server.received).toHaveLength(3);
    expect(asked).toEqual([1, 2]);
  });

  it('reports a credential it cannot get as DECRYPT, without connecting', async () => {
    // Prepare
    const server = await servers.start();
    const { credentials } = countingCredentials(async () => {
      throw new CredentialsError('KMS Decrypt failed', 'AccessDeniedException');
    });
    const sender = makeSender({ credentials });

    // Act
    const outcome = sendFailure(await sender.send(testTarget(server.port), testMail()));

    // Assess
    expect(outcome.error).toMatchObject({ phase: 'DECRYPT', code: 'AccessDeniedException' });
    expect(classifySmtpFailure(outcome.error).class).toBe('credentials');
    expect(server.connections()).toBe(0);
  });

  it('has the credentials port forget a credential the server refused', async () => {
    // Prepare
    const server = await servers.start();
    const { credentials, asked, invalidated } = countingCredentials(async () => ({
      type: 'password',
      user: TEST_USER,
      pass: 'expired-or-wrong',
    }));
    const sender = makeSender({ credentials });
    const target = testTarget(server.port);

    // Act
    const sent = sendFailure(await sender.send(target, testMail()));
    const checked = await sender.verify(target);

    // Assess
    expect(sent.error).toMatchObject({ phase: 'AUTH', code: 'EAUTH' });
    expect(checked).toMatchObject({ ok: false, error: { phase: 'AUTH' } });
    expect(asked).toEqual([1, 1]);
    expect(invalidated).toEqual([1, 1]);
  });

  it('logs in with per-call credentials (an unsaved config) over a connection of its own', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender({ credentials: countingCredentials(() => never()).credentials });
    const typed = countingCredentials(password);

    // Act
    const outcome = await sender.sendOnce(testTarget(server.port), testMail(), {
      credentials: typed.credentials,
    });

    // Assess
    expect(outcome.ok).toBe(true);
    expect(typed.asked).toEqual([1]);
    expect(server.received).toHaveLength(1);
  });
});
