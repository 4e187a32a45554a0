import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSServiceException,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsCipher, MAX_CACHE_TTL_MS } from '../../functions/adapters/kms-cipher';
import { CredentialsError } from '../../functions/core/errors';
import type { Clock } from '../../functions/core/types';
import { localClientConfig } from '../support/aws-client';
import { type LocalKms, startKms } from '../support/kms';

const context = { tenantId: 'acme', purpose: 'smtp-password' };
const PASSWORD = 'hunter2-Sup3r$ecret';

let kms: LocalKms;

beforeAll(async () => {
  kms = await startKms();
});

afterAll(async () => {
  await kms?.close();
});

/** A client of its own that counts the KMS operations it sends, by command name. */
function countingClient(): { client: KMSClient; calls: string[] } {
  const calls: string[] = [];
  const client = new KMSClient(localClientConfig(kms.endpoint));
  client.middlewareStack.add(
    (next, ctx) => async (args) => {
      calls.push(String(ctx.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countKmsCalls' },
  );
  return { client, calls };
}

function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('KMS stand-in through @aws-sdk/client-kms', () => {
  it('encrypts and decrypts with a context, whatever the order of its keys', async () => {
    // Prepare
    const plaintext = Buffer.from('secret bytes');

    // Act
    const enc = await kms.client.send(
      new EncryptCommand({ KeyId: kms.keyId, Plaintext: plaintext, EncryptionContext: context }),
    );
    const dec = await kms.client.send(
      new DecryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        EncryptionContext: { purpose: 'smtp-password', tenantId: 'acme' },
      }),
    );

    // Assess
    expect(Buffer.from(dec.Plaintext ?? []).toString()).toBe('secret bytes');
    expect(enc.KeyId).toBe(`arn:aws:kms:us-east-1:000000000000:key/${kms.keyId}`);
    expect(dec.KeyId).toBe(enc.KeyId);
  });

  it('accepts the alias and ARN forms of the key', async () => {
    // Prepare
    const refs = ['alias/tenant-mailer', `arn:aws:kms:us-east-1:000000000000:key/${kms.keyId}`];

    // Act
    const results = await Promise.all(
      refs.map((KeyId) => kms.client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }))),
    );

    // Assess
    expect(results.map((r) => r.KeyId)).toEqual([results[0]?.KeyId, results[0]?.KeyId]);
  });

  it('refuses an unknown key with NotFoundException', async () => {
    // Act
    const err = await rejection(
      kms.client.send(new EncryptCommand({ KeyId: 'alias/nope', Plaintext: Buffer.from('x') })),
    );

    // Assess
    expect(err.name).toBe('NotFoundException');
  });

  it('refuses a decrypt under another context with InvalidCiphertextException (HTTP 400)', async () => {
    // Prepare
    const enc = await kms.client.send(
      new EncryptCommand({ KeyId: kms.keyId, Plaintext: Buffer.from('s'), EncryptionContext: context }),
    );

    // Act
    const err = await rejection(
      kms.client.send(
        new DecryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionContext: { ...context, tenantId: 'globex' },
        }),
      ),
    );

    // Assess
    expect(err.name).toBe('InvalidCiphertextException');
    expect((err as KMSServiceException).$metadata.httpStatusCode).toBe(400);
  });

  it('refuses a tampered ciphertext blob', async () => {
    // Prepare
    const enc = await kms.client.send(
      new EncryptCommand({ KeyId: kms.keyId, Plaintext: Buffer.from('s'), EncryptionContext: context }),
    );
    const tampered = Buffer.from(enc.CiphertextBlob ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01;

    // Act
    const err = await rejection(
      kms.client.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context })),
    );
    const garbage = await rejection(
      kms.client.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a blob') })),
    );

    // Assess
    expect(err.name).toBe('InvalidCiphertextException');
    expect(garbage.name).toBe('InvalidCiphertextException');
  });

  it('generates a data key whose ciphertext decrypts to its plaintext', async () => {
    // Act
    const key = await kms.client.send(
      new GenerateDataKeyCommand({
        KeyId: 'alias/tenant-mailer',
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    );
    const dec = await kms.client.send(
      new DecryptCommand({ CiphertextBlob: key.CiphertextBlob, EncryptionContext: context }),
    );

    // Assess
    expect(key.Plaintext?.length).toBe(32);
    expect(key.KeyId).toContain(kms.keyId);
    expect(Buffer.from(dec.Plaintext ?? []).equals(Buffer.from(key.Plaintext ?? []))).toBe(true);
  });
});

describe('KMS cipher', () => {
  it('round-trips a password and sends the tenant context on both calls', async () => {
    // Prepare
    const { client } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock() });

    // Act
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);
    const plaintext = await cipher.decryptPassword('acme', ciphertext);
    const direct = await kms.client.send(
      new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertext, 'base64'), EncryptionContext: context }),
    );

    // Assess
    expect(plaintext).toBe(PASSWORD);
    expect(ciphertext).not.toContain(PASSWORD);
    expect(Buffer.from(direct.Plaintext ?? []).toString()).toBe(PASSWORD);
  });

  it("fails with CredentialsError on another tenant's ciphertext, even after a cached decrypt", async () => {
    // Prepare
    const { client } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock() });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);
    await cipher.decryptPassword('acme', ciphertext);

    // Act
    const err = await rejection(cipher.decryptPassword('globex', ciphertext));

    // Assess
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).code).toBe('InvalidCiphertextException');
  });

  it('serves a repeated decrypt from the cache without a second Decrypt', async () => {
    // Prepare
    const { client, calls } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock() });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);

    // Act
    const results = await Promise.all([
      cipher.decryptPassword('acme', ciphertext),
      cipher.decryptPassword('acme', ciphertext),
    ]);
    const later = await cipher.decryptPassword('acme', ciphertext);

    // Assess
    expect([...results, later]).toEqual([PASSWORD, PASSWORD, PASSWORD]);
    expect(calls.filter((c) => c === 'DecryptCommand')).toHaveLength(1);
  });

  it('decrypts again once the cache entry has expired on the injected clock', async () => {
    // Prepare
    const { client, calls } = countingClient();
    const clock = manualClock();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock, cacheTtlMs: 60_000 });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);
    await cipher.decryptPassword('acme', ciphertext);

    // Act
    clock.advance(59_999);
    await cipher.decryptPassword('acme', ciphertext);
    const beforeExpiry = calls.filter((c) => c === 'DecryptCommand').length;
    clock.advance(1);
    const plaintext = await cipher.decryptPassword('acme', ciphertext);

    // Assess
    expect(beforeExpiry).toBe(1);
    expect(calls.filter((c) => c === 'DecryptCommand')).toHaveLength(2);
    expect(plaintext).toBe(PASSWORD);
  });

  it('caps the cache lifetime at 15 minutes', async () => {
    // Prepare
    const { client, calls } = countingClient();
    const clock = manualClock();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock, cacheTtlMs: 60 * 60_000 });
    const ciphertext = await cipher.encryptPassword('acme', PASSWORD);
    await cipher.decryptPassword('acme', ciphertext);

    // Act
    clock.advance(MAX_CACHE_TTL_MS);
    await cipher.decryptPassword('acme', ciphertext);

    // Assess
    expect(calls.filter((c) => c === 'DecryptCommand')).toHaveLength(2);
  });

  it('keeps at most maxEntries plaintexts, dropping the least recently used', async () => {
    // Prepare
    const { client, calls } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock(), maxEntries: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((t) => cipher.encryptPassword(t, PASSWORD)));

    // Act
    await cipher.decryptPassword('a', a ?? '');
    await cipher.decryptPassword('b', b ?? '');
    await cipher.decryptPassword('a', a ?? '');
    await cipher.decryptPassword('c', c ?? '');
    const afterFill = calls.filter((x) => x === 'DecryptCommand').length;
    await cipher.decryptPassword('a', a ?? '');
    await cipher.decryptPassword('b', b ?? '');

    // Assess
    expect(afterFill).toBe(3);
    expect(calls.filter((x) => x === 'DecryptCommand')).toHaveLength(4);
  });

  it('does not cache a failure', async () => {
    // Prepare
    const { client, calls } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock() });
    const bogus = Buffer.from('not a blob').toString('base64');

    // Act
    await rejection(cipher.decryptPassword('acme', bogus));
    await rejection(cipher.decryptPassword('acme', bogus));

    // Assess
    expect(calls.filter((x) => x === 'DecryptCommand')).toHaveLength(2);
  });

  it('never puts the plaintext in an error message, stack or cause', async () => {
    // Prepare
    const { client } = countingClient();
    const cipher = createKmsCipher({ kms: client, keyId: 'alias/missing', clock: manualClock() });
    const good = createKmsCipher({ kms: client, keyId: kms.keyId, clock: manualClock() });
    const ciphertext = await good.encryptPassword('acme', PASSWORD);

    // Act
    const errors = [
      await rejection(cipher.encryptPassword('acme', PASSWORD)),
      await rejection(good.decryptPassword('globex', ciphertext)),
    ];

    // Assess
    expect(errors.map((e) => (e as CredentialsError).code)).toEqual([
      'NotFoundException',
      'InvalidCiphertextException',
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(CredentialsError);
      const cause = err.cause instanceof Error ? `${err.cause.message} ${err.cause.stack}` : '';
      expect(`${err.message} ${err.stack} ${cause} ${JSON.stringify(err)}`).not.toContain(PASSWORD);
    }
  });
});
