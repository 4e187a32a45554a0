import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConditionFailedError } from '../core/errors';
import type { SecretPurpose } from '../core/ports';
import type { SenderConfig } from '../core/types';
import { afterConfigWrite } from './after-write';
import type { RouteContext } from './deps';
import { requireVerifiedDomain } from './domain-routes';
import { BadRequestError, ConflictError, DomainConflictError } from './errors';
import { BODY_FIELD, json, noContent, parseJsonBody, parseWith } from './http';
import { checkOAuth2, guardTokenUrl, smtpServerOf, storedOAuth2Of } from './oauth-rules';
import { type PutSenderBody, putSenderBodySchema } from './schemas';
import {
  checkDomainAddress,
  checkSecurity,
  guardHost,
  senderDomain,
  storedCiphertextFor,
} from './sender-rules';
import { senderView } from './views';

/** Read-modify-write rounds before a PUT/DELETE gives up on a config that keeps changing (409). */
const WRITE_ROUNDS = 3;

/** GET /tenants/{tenantId}/sender. */
export async function getSenderRoute({
  tenantId,
  deps,
}: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  return json(200, senderView(await deps.store.getSender(tenantId)));
}

/** PUT /tenants/{tenantId}/sender: validate, guard, encrypt, store as version + 1, release, reset health. */
export async function putSenderRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const { event, tenantId, deps } = ctx;
  const raw = parseJsonBody(event.body, event.isBase64Encoded);
  if (raw === undefined) throw new BadRequestError('a JSON request body is required', BODY_FIELD);
  const body = parseWith(putSenderBodySchema, raw);
  if (body.mode === 'smtp') {
    const server = smtpServerOf(body.smtp);
    checkOAuth2(body.smtp, undefined, deps.allowPrivateSmtp);
    checkSecurity(server.security, deps.allowPrivateSmtp);
    await guardHost(deps.guard, server.host, server.port, deps.guardTimeoutMs);
    await guardTokenUrl(deps.tokens, body.smtp.oauth2, deps.guardTimeoutMs);
  }
  if (body.mode === 'domain') {
    checkDomainAddress(body.domain.name, body.domain.fromAddress);
    await requireVerifiedDomain(ctx, body.domain.name.toLowerCase());
  }
  const newDomain = body.mode === 'domain' ? body.domain.name.toLowerCase() : undefined;

  // Each secret encrypted once, whatever the number of rounds.
  const encrypted = new Map<string, Promise<string>>();
  const encrypt = (plaintext: string, purpose: SecretPurpose = 'smtp-password') => {
    const key = `${purpose}\u0000${plaintext}`;
    const ciphertext = encrypted.get(key) ?? deps.cipher.encryptPassword(tenantId, plaintext, purpose);
    encrypted.set(key, ciphertext);
    return ciphertext;
  };

  let claimed = false;
  try {
    for (let round = 0; round < WRITE_ROUNDS; round++) {
      const current = await deps.store.getSender(tenantId);
      const expected = current?.version ?? 0;
      const next = await configFrom(ctx, body, current, expected + 1, encrypt);
      if (newDomain && (await deps.store.claimDomain(newDomain, tenantId)) === 'owned-by-other') {
        throw new DomainConflictError(
          'domain-taken',
          `domain ${newDomain} belongs to another tenant`,
          'domain.name',
        );
      }
      claimed = newDomain !== undefined;
      if (!(await stored(ctx, next, expected))) continue;
      await afterConfigWrite(deps, tenantId, current, next);
      return json(200, senderView(next));
    }
    throw new ConflictError();
  } catch (err) {
    // However the request ends without its config, a domain it claimed must not stay locked.
    if (claimed && newDomain) await releaseIfUnused(ctx, newDomain);
    throw err;
  }
}

/** Releases `name` unless the stored config uses it; best effort, the request's own error wins. */
async function releaseIfUnused({ tenantId, deps }: RouteContext, name: string): Promise<void> {
  try {
    if (senderDomain(await deps.store.getSender(tenantId)) !== name)
      await deps.store.releaseDomain(name, tenantId);
  } catch (err) {
    deps.logger.warn('could not release an unused sender domain', {
      tenantId,
      domain: name,
      error: String(err),
    });
  }
}

/** DELETE /tenants/{tenantId}/sender: `{ mode: 'platform' }` as version + 1 (versions never repeat). */
export async function deleteSenderRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const { tenantId, deps } = ctx;
  for (let round = 0; round < WRITE_ROUNDS; round++) {
    const current = await deps.store.getSender(tenantId);
    const expected = current?.version ?? 0;
    const next: SenderConfig = {
      tenantId,
      mode: 'platform',
      fallback: 'platform',
      version: expected + 1,
      updatedAt: new Date(deps.clock.now()).toISOString(),
    };
    if (!(await stored(ctx, next, expected))) continue;
    await afterConfigWrite(deps, tenantId, current, next);
    return noContent();
  }
  throw new ConflictError();
}

async function configFrom(
  { tenantId, deps }: RouteContext,
  body: PutSenderBody,
  current: SenderConfig | null,
  version: number,
  encrypt: (plaintext: string, purpose?: SecretPurpose) => Promise<string>,
): Promise<SenderConfig> {
  const base = { tenantId, version, updatedAt: new Date(deps.clock.now()).toISOString() };
  if (body.mode === 'smtp') {
    const s = body.smtp;
    const server = smtpServerOf(s);
    checkOAuth2(s, current, deps.allowPrivateSmtp);
    // Exactly one credential: an oauth2 login, else a password (typed, or the stored one kept).
    const credential = s.oauth2
      ? { oauth2: await storedOAuth2Of(s.oauth2, current, encrypt) }
      : {
          passwordCiphertext:
            s.password !== undefined
              ? await encrypt(s.password)
              : storedCiphertextFor({ ...server, username: s.username }, current),
        };
    return {
      ...base,
      mode: 'smtp',
      fallback: body.fallback ?? 'platform',
      smtp: {
        ...server,
        username: s.username,
        ...credential,
        ...(s.limits !== undefined && { limits: s.limits }),
        fromAddress: s.fromAddress,
        ...(s.fromName !== undefined ? { fromName: s.fromName } : {}),
      },
    };
  }
  if (body.mode === 'domain') {
    const d = body.domain;
    return {
      ...base,
      mode: 'domain',
      fallback: 'platform',
      domain: {
        name: d.name.toLowerCase(),
        fromAddress: d.fromAddress,
        ...(d.fromName !== undefined ? { fromName: d.fromName } : {}),
      },
    };
  }
  return { ...base, mode: 'platform', fallback: 'platform' };
}

/** Conditional put; false when another writer came first (the caller reads again and retries). */
async function stored({ deps }: RouteContext, next: SenderConfig, expected: number): Promise<boolean> {
  try {
    await deps.store.putSender(next, expected);
    return true;
  } catch (err) {
    if (err instanceof ConditionFailedError) return false;
    throw err;
  }
}
