import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type JsonBody, StandInFault, startJsonStandIn } from './json-stand-in';

/**
 * A local stand-in for KMS speaking the JSON 1.1 protocol as @aws-sdk/client-kms sends it (Encrypt,
 * Decrypt, GenerateDataKey; signatures are not checked). AES-256-GCM per key with the canonical
 * encryption context as AAD, so a wrong context or a tampered blob fails as it does in KMS.
 */

export interface StandInKey {
  keyId: string;
  /** 32 bytes; random per process when absent (ciphertexts then die with the process). */
  material?: Buffer;
  aliases?: string[];
}

export interface KmsStandInOptions {
  port?: number;
  host?: string;
  keys?: StandInKey[];
}

export interface KmsStandIn {
  url: string;
  port: number;
  /** The first (default) key's id; its alias `alias/tenant-mailer` works too. */
  keyId: string;
  close(): Promise<void>;
}

export const DEFAULT_KEY_ID = '6f0c2a43-8a4e-4d8e-9d7b-7e1c2f3a4b5c';
const ARN_PREFIX = 'arn:aws:kms:us-east-1:000000000000:';
const VERSION = 1;
const ALGORITHM = { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };

/** Sorted-keys JSON, so {a,b} and {b,a} are the same context, as in KMS. */
function canonicalContext(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

/** Starts the stand-in on 127.0.0.1 (port 0 = a free port). */
export async function startKmsStandIn(options: KmsStandInOptions = {}): Promise<KmsStandIn> {
  const keys = (options.keys ?? [{ keyId: DEFAULT_KEY_ID, aliases: ['alias/tenant-mailer'] }]).map((k) => ({
    keyId: k.keyId,
    material: k.material ?? randomBytes(32),
    arn: `${ARN_PREFIX}key/${k.keyId}`,
    aliases: k.aliases ?? [],
  }));
  const defaultKey = keys[0];
  if (!defaultKey) throw new Error('the KMS stand-in needs at least one key');

  // Key id, key ARN, alias name or alias ARN (any region/account) all name the same key.
  function findKey(ref: unknown) {
    const name = String(ref ?? '').replace(/^arn:aws:kms:[^:]*:[^:]*:/, '');
    const key = keys.find((k) => name === k.keyId || name === `key/${k.keyId}` || k.aliases.includes(name));
    if (!key) throw new StandInFault('NotFoundException', `Key '${String(ref)}' does not exist`);
    return key;
  }

  function seal(key: (typeof keys)[number], plaintext: Buffer, context: unknown): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv).setAAD(canonicalContext(context));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const id = Buffer.from(key.keyId, 'utf8');
    return Buffer.concat([Buffer.from([VERSION, id.length]), id, iv, cipher.getAuthTag(), data]);
  }

  function open(blob: Buffer, context: unknown) {
    const invalid = new StandInFault(
      'InvalidCiphertextException',
      'The ciphertext is invalid or the context does not match',
    );
    const at = 2 + (blob[1] ?? 0); // version, id length, id, then iv (12), tag (16), data
    const key = keys.find((k) => k.keyId === blob.subarray(2, at).toString('utf8'));
    if (blob[0] !== VERSION || blob.length < at + 28 || !key) throw invalid;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(at, at + 12));
      decipher.setAAD(canonicalContext(context)).setAuthTag(blob.subarray(at + 12, at + 28));
      return { key, plaintext: Buffer.concat([decipher.update(blob.subarray(at + 28)), decipher.final()]) };
    } catch {
      throw invalid;
    }
  }

  type Body = JsonBody;
  const blob = (value: unknown) => Buffer.from(String(value ?? ''), 'base64');
  const operations: Record<string, (body: Body) => Body> = {
    Encrypt(body) {
      const key = findKey(body.KeyId);
      const plaintext = blob(body.Plaintext);
      if (plaintext.length === 0 || plaintext.length > 4096) {
        throw new StandInFault('ValidationException', 'Plaintext must be 1 to 4096 bytes');
      }
      const ciphertext = seal(key, plaintext, body.EncryptionContext);
      return { CiphertextBlob: ciphertext.toString('base64'), KeyId: key.arn, ...ALGORITHM };
    },
    Decrypt(body) {
      const { key, plaintext } = open(blob(body.CiphertextBlob), body.EncryptionContext);
      if (body.KeyId !== undefined && findKey(body.KeyId) !== key) {
        throw new StandInFault(
          'IncorrectKeyException',
          'The ciphertext was not encrypted under the given key',
        );
      }
      return { Plaintext: plaintext.toString('base64'), KeyId: key.arn, ...ALGORITHM };
    },
    GenerateDataKey(body) {
      const key = findKey(body.KeyId);
      const size =
        typeof body.NumberOfBytes === 'number' ? body.NumberOfBytes : body.KeySpec === 'AES_128' ? 16 : 32;
      if (!Number.isInteger(size) || size < 1 || size > 1024) {
        throw new StandInFault('ValidationException', 'NumberOfBytes must be 1 to 1024');
      }
      const plaintext = randomBytes(size);
      const CiphertextBlob = seal(key, plaintext, body.EncryptionContext).toString('base64');
      return { CiphertextBlob, Plaintext: plaintext.toString('base64'), KeyId: key.arn };
    },
  };

  const server = await startJsonStandIn({
    targetPrefix: 'TrentService',
    operations,
    internalErrorType: 'KMSInternalException',
    port: options.port,
    host: options.host,
  });
  return { url: server.url, port: server.port, keyId: defaultKey.keyId, close: server.close };
}
