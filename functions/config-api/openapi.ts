import { z } from 'zod';
import { DOMAIN_OPERATIONS } from './domain-openapi';
import { domainListSchema, domainViewSchema } from './domain-schemas';
import { NOTIFICATION_OPERATIONS } from './notification-openapi';
import {
  notificationLogPageSchema,
  notificationsViewSchema,
  notificationTestResultSchema,
  putNotificationsBodySchema,
} from './notification-schemas';
import { ROUTES, routeKey } from './routes';
import {
  deliveriesPageSchema,
  deliveryDetailSchema,
  errorBodySchema,
  gatewayErrorSchema,
  healthViewSchema,
  putSenderBodySchema,
  senderViewSchema,
  testBodySchema,
  testResultSchema,
} from './schemas';
import { SES_OPERATIONS } from './ses-openapi';
import { putSesBodySchema, sesTenantViewSchema } from './ses-schemas';
import { SUPPRESSION_OPERATIONS } from './suppression-openapi';
import {
  putSuppressionBodySchema,
  suppressionsPageSchema,
  suppressionViewSchema,
} from './suppression-schemas';

/**
 * The OpenAPI 3.1 document of the config API (GET /openapi.json). Every body schema is derived from the
 * zod schemas in schemas.ts with z.toJSONSchema, so the document cannot drift from what the code parses
 * and answers; the integration suite validates real responses against it.
 */

/** Request bodies, by component name (JSON Schema of what the API accepts). */
export const REQUEST_SCHEMAS = {
  SenderPut: putSenderBodySchema,
  SenderTest: testBodySchema,
  NotificationsPut: putNotificationsBodySchema,
  SuppressionPut: putSuppressionBodySchema,
  SesPut: putSesBodySchema,
} as const;

/** Response bodies, by component name (JSON Schema of what the API answers). */
export const RESPONSE_SCHEMAS = {
  SenderView: senderViewSchema,
  TestResult: testResultSchema,
  Health: healthViewSchema,
  DeliveriesPage: deliveriesPageSchema,
  DeliveryDetail: deliveryDetailSchema,
  Error: errorBodySchema,
  GatewayError: gatewayErrorSchema,
  NotificationsView: notificationsViewSchema,
  NotificationTestResult: notificationTestResultSchema,
  NotificationLogPage: notificationLogPageSchema,
  DomainView: domainViewSchema,
  DomainList: domainListSchema,
  Suppression: suppressionViewSchema,
  SuppressionsPage: suppressionsPageSchema,
  SesTenant: sesTenantViewSchema,
} as const;

type ResponseName = keyof typeof RESPONSE_SCHEMAS;
type JsonObject = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: JsonObject) => ({ content: { 'application/json': { schema } } });
const errorResponse = (description: string) => ({ description, ...jsonContent(ref('Error')) });

const COMMON_ERRORS = {
  '401': {
    description:
      'No valid token: the gateway answers `{ message }` without invoking the API; a token without a ' +
      '`tenant_id` claim (and no admin scope) gets `unauthorized`.',
    ...jsonContent({ anyOf: [ref('GatewayError'), ref('Error')] }),
  },
  '403': errorResponse('`forbidden`: the token names another tenant and lacks the `mailer/admin` scope.'),
  '404': errorResponse('`not-found`: the tenantId (or messageId) in the path is not a valid id, or absent.'),
  '500': errorResponse('`internal`: an unexpected failure (never for bad input); nothing is exposed.'),
};

export interface Operation {
  summary: string;
  ok: { status: string; description: string; body?: ResponseName };
  /** A second success answer (PUT of a domain: 201 started, 200 already there). */
  alsoOk?: { status: string; description: string; body?: ResponseName };
  request?: keyof typeof REQUEST_SCHEMAS;
  /** The request body may be left out (the test endpoint then tests the stored config). */
  optionalBody?: boolean;
  errors?: Record<string, string>;
  query?: boolean;
}

const VALIDATION_422 =
  '`validation` (field names the member), `host-refused` (smtp.host / smtp.port), `dns-failure`, ' +
  '`password-required` (a password may be omitted only while host, port and username stay the same), ' +
  '`domain-unverified` (domain.name: not a domain of this tenant that SES verified).';

const OPERATIONS: Record<string, Operation> = {
  'PUT /tenants/{tenantId}/sender': {
    summary: 'Validate, guard the host, encrypt the password, store with a new version, reset health.',
    ok: {
      status: '200',
      description: 'The stored config, without password or ciphertext.',
      body: 'SenderView',
    },
    request: 'SenderPut',
    errors: {
      '400': '`bad-request`: the body is not JSON.',
      '409':
        '`conflict`: the config kept changing concurrently; retry. `domain-taken` (domain.name): another ' +
        'tenant owns the domain.',
      '422': VALIDATION_422,
    },
  },
  'GET /tenants/{tenantId}/sender': {
    summary: 'The config (never the password); no config → `{ "mode": "platform", "version": 0 }`.',
    ok: { status: '200', description: 'The config.', body: 'SenderView' },
  },
  'DELETE /tenants/{tenantId}/sender': {
    summary: 'Back to platform mode with version + 1 (versions never repeat); resets health.',
    ok: { status: '204', description: 'Deleted.' },
    errors: { '409': '`conflict`: the config kept changing concurrently; retry.' },
  },
  'POST /tenants/{tenantId}/sender/test': {
    summary:
      'SMTP mode only: connect, TLS, AUTH (and one test message with `sendTo`), within 15 s. Body `{}` ' +
      'tests the stored config, a PUT body (smtp mode) an unsaved one.',
    ok: { status: '200', description: 'The outcome; `ok` false carries the failure.', body: 'TestResult' },
    request: 'SenderTest',
    optionalBody: true,
    errors: {
      '400': '`bad-request`: the body is not JSON.',
      '422': `${VALIDATION_422} Also \`validation\` when nothing is stored and the body has no config.`,
      '429': '`rate-limited`: more than 5 `sendTo`, or more than 30 tests, per tenant per minute.',
    },
  },
  'GET /tenants/{tenantId}/health': {
    summary: 'The tenant’s health (a tenant never seen is healthy).',
    ok: { status: '200', description: 'The HEALTH item’s fields.', body: 'Health' },
  },
  'GET /tenants/{tenantId}/deliveries': {
    summary: 'The delivery log, newest first.',
    ok: { status: '200', description: 'One page; `cursor` null on the last.', body: 'DeliveriesPage' },
    errors: { '400': '`bad-request`: limit not an integer 1..100, or a cursor not from this listing.' },
    query: true,
  },
  'GET /tenants/{tenantId}/deliveries/{messageId}': {
    summary: 'One delivery by its messageId (the idempotencyKey, by default the SQS message id).',
    ok: { status: '200', description: 'The delivery.', body: 'DeliveryDetail' },
  },
  ...NOTIFICATION_OPERATIONS,
  ...DOMAIN_OPERATIONS,
  ...SES_OPERATIONS,
  ...SUPPRESSION_OPERATIONS,
};

const PARAMETERS = {
  tenantId: {
    name: 'tenantId',
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
    description: 'An id not matching the pattern answers 404 `not-found`.',
  },
  messageId: { name: 'messageId', in: 'path', required: true, schema: { type: 'string', maxLength: 128 } },
  domain: {
    name: 'domain',
    in: 'path',
    required: true,
    schema: { type: 'string', maxLength: 253 },
    description: 'A domain name (IDN allowed; stored lower case, as punycode).',
  },
  address: {
    name: 'address',
    in: 'path',
    required: true,
    schema: { type: 'string', maxLength: 254 },
    description:
      'A bare address, URL-encoded; normalised as the dispatcher does (lower case, punycoded domain).',
  },
  limit: {
    name: 'limit',
    in: 'query',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
  cursor: {
    name: 'cursor',
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description: 'Opaque; the `cursor` of the previous page.',
  },
};

/** JSON Schema of a zod schema, as an OpenAPI 3.1 component (no `$schema` key). */
export function componentOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
  }) as JsonObject;
  return rest;
}

function operationOf(key: string, op: Operation): JsonObject {
  const path = key.slice(key.indexOf(' ') + 1);
  const parameters: JsonObject[] = [PARAMETERS.tenantId];
  if (path.includes('{messageId}')) parameters.push(PARAMETERS.messageId);
  if (path.includes('{domain}')) parameters.push(PARAMETERS.domain);
  if (path.includes('{address}')) parameters.push(PARAMETERS.address);
  if (op.query) parameters.push(PARAMETERS.limit, PARAMETERS.cursor);
  const responses: JsonObject = {
    [op.ok.status]: { description: op.ok.description, ...(op.ok.body ? jsonContent(ref(op.ok.body)) : {}) },
    ...(op.alsoOk && {
      [op.alsoOk.status]: {
        description: op.alsoOk.description,
        ...(op.alsoOk.body ? jsonContent(ref(op.alsoOk.body)) : {}),
      },
    }),
    ...COMMON_ERRORS,
  };
  for (const [status, description] of Object.entries(op.errors ?? {})) {
    responses[status] = errorResponse(description);
  }
  return {
    operationId: key.replace(/[^A-Za-z]+/g, '_').replace(/^_|_$/g, ''),
    summary: op.summary,
    parameters,
    ...(op.request
      ? { requestBody: { required: op.optionalBody !== true, ...jsonContent(ref(op.request)) } }
      : {}),
    responses,
  };
}

function buildDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of ROUTES) {
    const entry = paths[route.path] ?? {};
    paths[route.path] = entry;
    const method = route.method.toLowerCase();
    if (route.public) {
      entry[method] = {
        operationId: 'openapi',
        summary: 'This document (OpenAPI 3.1); public.',
        security: [],
        responses: { '200': { description: 'The document.', ...jsonContent({ type: 'object' }) } },
      };
      continue;
    }
    const op = OPERATIONS[routeKey(route)];
    if (!op) throw new Error(`route ${routeKey(route)} has no OpenAPI description`);
    entry[method] = operationOf(routeKey(route), op);
  }
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) schemas[name] = componentOf(schema, 'input');
  for (const [name, schema] of Object.entries(RESPONSE_SCHEMAS))
    schemas[name] = componentOf(schema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'tenant-mailer config API',
      version: '1',
      description:
        'Per-tenant sender config, its test, health and delivery log. Errors are ' +
        '`{ "error": { "code", "message", "field"? } }`; times are ISO 8601 UTC. No string of a request ' +
        'body may hold a C0 control character, DEL, U+2028 or U+2029 (422 `validation` naming the field).',
    },
    security: [{ jwt: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

let cached: JsonObject | undefined;

/** The OpenAPI document, built once per container. */
export function openApiDocument(): JsonObject {
  cached ??= buildDocument();
  return cached;
}
