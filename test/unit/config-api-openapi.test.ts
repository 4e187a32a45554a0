import { describe, expect, it } from 'vitest';
import {
  componentOf,
  openApiDocument,
  REQUEST_SCHEMAS,
  RESPONSE_SCHEMAS,
} from '../../functions/config-api/openapi';
import { ROUTES } from '../../functions/config-api/routes';

type Json = Record<string, unknown>;

function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('config API OpenAPI document', () => {
  const doc = openApiDocument() as Json & { paths: Record<string, Record<string, Json>>; components: Json };

  it('is OpenAPI 3.1 and describes every route, only openapi.json without security', () => {
    // Assess
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op?.security).toEqual(route.public ? [] : undefined);
    }
    const count = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
    expect(count).toBe(ROUTES.length);
  });

  it('derives every component schema from its zod schema', () => {
    // Prepare
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;

    // Assess
    for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) {
      expect(schemas[name]).toEqual(componentOf(schema, 'input'));
    }
    for (const [name, schema] of Object.entries(RESPONSE_SCHEMAS)) {
      expect(schemas[name]).toEqual(componentOf(schema, 'output'));
    }
    expect(JSON.stringify(schemas.SenderView)).not.toMatch(/"password"|passwordCiphertext/);
  });

  it('resolves every $ref and documents the error statuses of the contract', () => {
    // Prepare
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;

    // Assess
    for (const ref of refsIn(doc.paths)) {
      expect(schemas[ref.replace('#/components/schemas/', '')], ref).toBeDefined();
    }
    const put = doc.paths['/tenants/{tenantId}/sender']?.put as { responses: Json };
    expect(Object.keys(put.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '422']),
    );
    const test = doc.paths['/tenants/{tenantId}/sender/test']?.post as { responses: Json };
    expect(Object.keys(test.responses)).toEqual(expect.arrayContaining(['200', '422', '429']));
  });

  it('requires a JWT bearer everywhere but openapi.json, and a body on PUT but not on the test', () => {
    // Prepare
    const ops = doc.paths as Record<string, Record<string, { requestBody?: { required?: boolean } }>>;

    // Assess
    expect(doc.security).toEqual([{ jwt: [] }]);
    expect((doc.components as { securitySchemes: unknown }).securitySchemes).toEqual({
      jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
    expect(ops['/tenants/{tenantId}/sender']?.put?.requestBody?.required).toBe(true);
    // No body at all tests the stored config, as `{}` does.
    expect(ops['/tenants/{tenantId}/sender/test']?.post?.requestBody?.required).toBe(false);
  });
});
