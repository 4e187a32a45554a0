import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, vi } from 'vitest';
import { createAlertEmitter } from '../../functions/adapters/alert-emitter';
import { createNotifyStore } from '../../functions/adapters/dynamo-notify';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createSuppressionStore } from '../../functions/adapters/dynamo-suppressions';
import { createKmsCipher } from '../../functions/adapters/kms-cipher';
import { buildMime } from '../../functions/adapters/mime';
import { createNetworkGuard, type Resolver } from '../../functions/adapters/network-guard';
import { createOAuthTokens, createTenantCredentials } from '../../functions/adapters/smtp-credentials';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import { createConfigApi } from '../../functions/config-api/app';
import { openApiDocument, RESPONSE_SCHEMAS } from '../../functions/config-api/openapi';
import { matchRoute } from '../../functions/config-api/routes';
import { HostRefusedError } from '../../functions/core/errors';
import type { PasswordCipher, Store, TenantSmtpSender } from '../../functions/core/ports';
import type { Clock } from '../../functions/core/types';
import { type LocalApiGateway, startLocalApiGateway } from '../../infra/local/api-gateway';
import { createLocalIssuer, type LocalIssuer } from '../../infra/local/jwt';
import { type AlertsFixture, startAlertsDeps } from './alerts';
import { type DomainsFixture, startDomainsDeps } from './domains';
import { type DynamoFixture, startDynamo } from './dynamo';
import { type LocalKms, startKms } from './kms';
import { TEST_CA, TEST_HOST } from './smtp';
import { type LocalSqs, startLocalSqs } from './sqs';

/** A public-looking address the guard accepts; nothing ever connects to it (see loopbackOnly). */
export const PUBLIC_ADDRESS = '52.94.236.248';

/** Names the tests use, resolved without DNS. Anything else is ENOTFOUND. */
export const TEST_HOSTS: Record<string, string[]> = {
  [TEST_HOST]: ['127.0.0.1'],
  'smtp.acme.example': [PUBLIC_ADDRESS],
  'smtp2.acme.example': [PUBLIC_ADDRESS],
  'smtp.globex.example': [PUBLIC_ADDRESS],
};

/** A resolver over a fixed table: no test ever does real DNS. */
export function tableResolver(table: Record<string, string[]>): Resolver {
  return async (host) => {
    const answers = table[host.toLowerCase().replace(/\.$/, '')];
    if (answers) return answers;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
}

/** Real time, but settable: rate-limit windows are then deterministic without fake timers. */
export function settableClock(startMs: number): Clock & { set(ms: number): void } {
  let base = startMs;
  let setAt = Date.now();
  return {
    now: () => base + (Date.now() - setAt),
    set(ms) {
      base = ms;
      setAt = Date.now();
    },
  };
}

/** A valid smtp-mode PUT body (acme's public server, port 587), with `smtp` members replaced by `over`. */
export function smtpConfigBody(
  password: string,
  over: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) {
  return {
    mode: 'smtp',
    smtp: {
      host: 'smtp.acme.example',
      port: 587,
      security: 'starttls',
      username: 'notifications@acme.example',
      password,
      fromAddress: 'notifications@acme.example',
      ...over,
    },
    ...extra,
  };
}

export interface ConfigApiFixtureOptions {
  /** TENANT_SMTP_ALLOW_PRIVATE: loopback/private hosts, any port, security "none". Default false. */
  allowPrivateSmtp?: boolean;
  /** Extra resolver entries over TEST_HOSTS. */
  hosts?: Record<string, string[]>;
  /** The test endpoint's budget (default 15 s in the API; short here keeps failures fast). */
  testBudgetMs?: number;
  /** Wire the tenant alert routes (starts a local SES for their test emails). */
  alerts?: boolean;
  /** Wire the domain routes (starts the SES v2 stand-in in front of a local SES). */
  domains?: boolean;
  /** With `domains`: their domain.verified / domain.failed events onto a local SQS queue (fauxqs). */
  domainEvents?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

export interface Exchange {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export interface ConfigApiFixture {
  url: string;
  issuer: LocalIssuer;
  dynamo: DynamoFixture;
  kms: LocalKms;
  store: Store;
  cipher: PasswordCipher;
  smtp: TenantSmtpSender;
  /** Present with `alerts: true`. */
  alerts?: AlertsFixture;
  /** Present with `domains: true`. */
  domains?: DomainsFixture;
  /** Present with `domainEvents: true`: the queue the domain events go to (`sqs.queueUrl`). */
  domainEvents?: LocalSqs;
  clock: Clock & { set(ms: number): void };
  /** Every response body text and every stdout/stderr write (Powertools Logger output) so far. */
  responses: string[];
  logs: string[];
  token(tenantId: string, options?: { admin?: boolean }): Promise<string>;
  /** A real HTTP request through the local gateway; `body` is JSON-encoded unless `raw` is given. */
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string },
  ): Promise<ApiResponse>;
  /** Every request made through `call`, with its answer. */
  exchanges: Exchange[];
  /** The config API handler itself, for tests that call it without HTTP (payload 2.0 events). */
  handler: ReturnType<typeof createConfigApi>;
  /** Answers that the OpenAPI document does not describe (status undocumented, or body off-schema). */
  contractViolations(): string[];
  /** Response bodies, log lines and table items containing any of the secrets (plain or base64). */
  leaks(secrets: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Starts everything the config API needs on 127.0.0.1: dynalite with the table, the KMS stand-in, the
 * guarded tenant SMTP sender (trusting the test CA), a JWT issuer and the local API gateway in front of
 * `createConfigApi`. Logger output is captured (stdout/stderr) for the password scan.
 */
export async function startConfigApiFixture(
  options: ConfigApiFixtureOptions = {},
): Promise<ConfigApiFixture> {
  const allowPrivate = options.allowPrivateSmtp === true;
  const logs: string[] = [];
  const capture = (chunk: unknown) => {
    logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);

  const clock = settableClock(Date.UTC(2030, 0, 1));
  const [dynamo, kms, issuer] = await Promise.all([startDynamo(), startKms(), createLocalIssuer()]);
  const store = createDynamoStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  const suppressions = createSuppressionStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock });
  const cipher = createKmsCipher({ kms: kms.client, keyId: kms.keyId, clock });
  const resolve = tableResolver({ ...TEST_HOSTS, ...options.hosts });
  const guard = createNetworkGuard({ allowPrivate, resolve });
  const logger = new Logger({ serviceName: 'config-api-test', logLevel: 'DEBUG' });
  const smtp = createTenantSmtpSender({
    vet: loopbackOnly(guard.vet),
    credentials: createTenantCredentials({ cipher, store, clock, allowPrivate, resolve }),
    clock,
    tls: { ca: [TEST_CA] },
    allowInsecure: allowPrivate,
    timeouts: { connectMs: 2_000, commandMs: 3_000, dataReplyMs: 3_000 },
    logger,
  });
  const alerts = options.alerts
    ? await startAlertsDeps({ dynamo, kms, clock, allowPrivate, hosts: { ...TEST_HOSTS, ...options.hosts } })
    : undefined;
  const domains = options.domains ? await startDomainsDeps(dynamo) : undefined;
  const domainEvents = options.domainEvents ? await startLocalSqs() : undefined;
  if (domains && domainEvents) {
    domains.deps.alerts = createAlertEmitter({
      sqs: domainEvents.client,
      queueUrl: domainEvents.queueUrl,
      store: createNotifyStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock }),
      clock,
      logger,
    });
  }
  const api = createConfigApi({
    ...(alerts && { alerts: alerts.deps }),
    ...(domains && { domains: domains.deps }),
    store,
    suppressions,
    cipher,
    guard,
    tokens: createOAuthTokens({ clock, allowPrivate, resolve }),
    smtp,
    mime: buildMime,
    logger,
    clock,
    allowPrivateSmtp: allowPrivate,
    testBudgetMs: options.testBudgetMs ?? 5_000,
  });
  const gateway: LocalApiGateway = await startLocalApiGateway({ handler: api, verify: issuer.verify });
  const responses: string[] = [];
  const exchanges: Exchange[] = [];

  async function call(
    method: string,
    path: string,
    init: { token?: string | null; body?: unknown; raw?: string } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const payload = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    responses.push(text);
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON; the test sees the text
    }
    exchanges.push({ method, path, status: res.status, body });
    return { status: res.status, headers: res.headers, text, body };
  }

  async function leaks(secrets: string[]): Promise<string[]> {
    // As given, base64, and as a careless server echoes it: cut by one, in any case, spaced out.
    const exact = secrets.map((s) => Buffer.from(s, 'utf8').toString('base64'));
    const anyCase = secrets.flatMap((s) =>
      [s, s.slice(0, -1), s.split('').join(' ')].map((f) => f.toLowerCase()),
    );
    const items = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tableName }));
    const texts = [...responses, ...logs, ...(items.Items ?? []).map((item) => JSON.stringify(item))];
    return texts.filter(
      (text) =>
        exact.some((form) => text.includes(form)) ||
        anyCase.some((form) => text.toLowerCase().includes(form)),
    );
  }

  return {
    url: gateway.url,
    issuer,
    dynamo,
    kms,
    store,
    cipher,
    smtp,
    ...(alerts && { alerts }),
    ...(domainEvents && { domainEvents }),
    ...(domains && { domains }),
    clock,
    responses,
    logs,
    exchanges,
    handler: api,
    contractViolations: () => exchanges.flatMap((e) => violationOf(e) ?? []),
    token: (tenantId, opts) => issuer.token(tenantId, opts),
    call,
    leaks,
    async close() {
      smtp.close();
      await gateway.close();
      await alerts?.close();
      await domains?.close();
      await domainEvents?.close();
      await Promise.all([dynamo.close(), kms.close()]);
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}

/**
 * The sender's connect-time vet, plus a test-only rule: never a packet to anything outside 127.0.0.0/8,
 * whatever a test configures (the guard itself lets public addresses through, as it must).
 */
function loopbackOnly(vet: (host: string, port: number) => Promise<{ address: string }>) {
  return async (host: string, port: number) => {
    const target = await vet(host, port);
    if (!target.address.startsWith('127.')) {
      throw new HostRefusedError(`test fixture: ${host} is not on loopback`, 'test-fixture');
    }
    return target;
  };
}

type Json = Record<string, unknown>;

/**
 * Checks one answer against the OpenAPI document: the status must be documented for the operation, and
 * the body must parse with the zod schema its `$ref` names (the document's schemas are derived from the
 * same zod schemas, see test/unit/config-api-openapi.test.ts). Undefined when it conforms.
 */
function violationOf(e: Exchange): string | undefined {
  const label = `${e.method} ${e.path} → ${e.status}`;
  // The path as the request went out: fetch resolves '.' and '..' segments before sending.
  const match = matchRoute(e.method, new URL(e.path, 'http://127.0.0.1').pathname);
  if (!match) return e.status === 404 ? undefined : `${label}: no such route`;
  const doc = openApiDocument() as { paths: Record<string, Record<string, { responses: Json }>> };
  const op = doc.paths[match.route.path]?.[e.method.toLowerCase()];
  const response = op?.responses[String(e.status)] as
    | { content?: Record<string, { schema: Json }> }
    | undefined;
  if (!response) return `${label}: status not documented`;
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return e.body === undefined ? undefined : `${label}: documented without a body`;
  if (match.route.public)
    return typeof e.body === 'object' && e.body !== null ? undefined : `${label}: not JSON`;
  const refs = (schema.anyOf as Json[] | undefined) ?? [schema];
  const names = refs.map((r) => String(r.$ref).replace('#/components/schemas/', ''));
  const fits = names.some(
    (name) => RESPONSE_SCHEMAS[name as keyof typeof RESPONSE_SCHEMAS]?.safeParse(e.body).success,
  );
  return fits ? undefined : `${label}: body does not fit ${names.join(' | ')}: ${JSON.stringify(e.body)}`;
}

/** The fixture and the tokens most tests use: tenants `acme` and `globex`, and a platform admin. */
export interface ConfigApiSession {
  api: ConfigApiFixture;
  acme: string;
  globex: string;
  admin: string;
}

/**
 * Registers the usual hooks of a config API test file: one fixture for the file (started before all,
 * closed after all) with tokens for acme, globex and an admin, handed to `onStart`.
 */
export function useConfigApiFixture(
  onStart: (session: ConfigApiSession) => void | Promise<void>,
  options: ConfigApiFixtureOptions = {},
): void {
  let api: ConfigApiFixture | undefined;
  beforeAll(async () => {
    api = await startConfigApiFixture(options);
    const [acme, globex, admin] = await Promise.all([
      api.token('acme'),
      api.token('globex'),
      api.token('platform-ops', { admin: true }),
    ]);
    await onStart({ api, acme, globex, admin });
  });
  afterAll(async () => {
    await api?.close();
  });
}
