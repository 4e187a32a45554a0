import net from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsCipher } from '../../functions/adapters/kms-cipher';
import { CredentialsError } from '../../functions/core/errors';
import type { Clock } from '../../functions/core/types';
import { localClientConfig } from '../support/aws-client';
import { type LocalKms, startKms } from '../support/kms';

const PASSWORD = 'hunter2-Sup3r$ecret';

let kms: LocalKms;
const clients: KMSClient[] = [];

beforeAll(async () => {
  kms = await startKms();
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await kms?.close();
});

function client(endpoint: string): KMSClient {
  const built = new KMSClient(localClientConfig(endpoint));
  clients.push(built);
  return built;
}

const clock: Clock = { now: () => 1_700_000_000_000 };

async function rejection(promise: Promise<unknown>): Promise<CredentialsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CredentialsError);
  return err as CredentialsError;
}

describe('KMS cipher deadlines', () => {
  it('gives up on a KMS that never answers at the deadline, with CredentialsError', async () => {
    // Prepare: a TCP listener on 127.0.0.1 that accepts and never answers.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const cipher = createKmsCipher({ kms: client(`http://127.0.0.1:${port}`), keyId: kms.keyId, clock });
    const started = Date.now();

    // Act
    const blob = Buffer.from('blob').toString('base64');
    const err = await rejection(cipher.decryptPassword('acme', blob, { deadline: clock.now() + 200 }));
    const elapsed = Date.now() - started;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    // Assess
    expect(err.code).toBe('TimeoutError');
    expect(elapsed).toBeLessThan(2_000);
  });

  it('fails at once when the deadline has already passed, without calling KMS', async () => {
    // Prepare
    const calls: string[] = [];
    const counted = client(kms.endpoint);
    counted.middlewareStack.add(
      (next, ctx) => async (args) => {
        calls.push(String(ctx.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countKmsCalls' },
    );
    const cipher = createKmsCipher({ kms: counted, keyId: kms.keyId, clock });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);

    // Act
    const err = await rejection(cipher.decryptPassword('acme', ciphertext, { deadline: clock.now() - 1 }));

    // Assess
    expect(err.code).toBe('TimeoutError');
    expect(calls.filter((x) => x === 'DecryptCommand')).toHaveLength(0);
  });

  it('answers from KMS well within a deadline that leaves time', async () => {
    // Prepare
    const cipher = createKmsCipher({ kms: client(kms.endpoint), keyId: kms.keyId, clock });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);

    // Act
    const plaintext = await cipher.decryptPassword('acme', ciphertext, { deadline: clock.now() + 5_000 });

    // Assess
    expect(plaintext).toBe(PASSWORD);
  });
});
