import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ADMIN_SCOPE } from '../../functions/config-api/routes';

/** Issuer and audience of the local stack's tokens (the CDK stack takes real ones from context). */
export const LOCAL_ISSUER = 'https://tenant-mailer.local/issuer';
export const LOCAL_AUDIENCE = 'tenant-mailer-api';
export const LOCAL_ALG = 'ES256';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface LocalIssuer {
  issuer: string;
  audience: string;
  /** A bare JWT for a tenant (`tenant_id`), with the admin scope when asked. */
  token(
    tenantId: string,
    options?: { admin?: boolean; expiresIn?: string; extra?: JWTPayload },
  ): Promise<string>;
  /**
   * Verifies as API Gateway's JWT authorizer does: signature, alg allow-list, issuer, audience, and an
   * `exp` after now (a token without `exp` is refused, as API Gateway refuses it).
   */
  verify(token: string): Promise<JWTPayload>;
  /** The private key, for tests that forge tokens with other claims. */
  signingKey: Key;
}

/** An issuer with a fresh in-memory key pair (tests). */
export async function createLocalIssuer(): Promise<LocalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(LOCAL_ALG, { extractable: true });
  return issuerFrom(privateKey, publicKey);
}

/** An issuer whose key pair is kept in a JSON file, so tokens survive a restart of the local stack. */
export async function loadOrCreateLocalIssuer(keyFile: string): Promise<LocalIssuer> {
  try {
    const saved = JSON.parse(await readFile(keyFile, 'utf8')) as { privateJwk: object; publicJwk: object };
    const privateKey = (await importJWK(saved.privateJwk, LOCAL_ALG)) as Key;
    const publicKey = (await importJWK(saved.publicJwk, LOCAL_ALG)) as Key;
    return issuerFrom(privateKey, publicKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey, publicKey } = await generateKeyPair(LOCAL_ALG, { extractable: true });
  await mkdir(dirname(keyFile), { recursive: true });
  const body = JSON.stringify({
    privateJwk: await exportJWK(privateKey),
    publicJwk: await exportJWK(publicKey),
  });
  await writeFile(keyFile, body, { mode: 0o600 });
  return issuerFrom(privateKey, publicKey);
}

function issuerFrom(privateKey: Key, publicKey: Key): LocalIssuer {
  return {
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    signingKey: privateKey,
    async token(tenantId, options = {}) {
      const scope = options.admin ? `openid ${ADMIN_SCOPE}` : 'openid';
      return new SignJWT({ tenant_id: tenantId, scope, ...options.extra })
        .setProtectedHeader({ alg: LOCAL_ALG })
        .setSubject(`user-${tenantId}`)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '12h')
        .sign(privateKey);
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        algorithms: [LOCAL_ALG],
        requiredClaims: ['exp'],
      });
      return payload;
    },
  };
}
