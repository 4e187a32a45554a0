import { describe, expect, it } from 'vitest';
import { createConfigApi } from '../../functions/config-api/app';
import type { ConfigApiDeps } from '../../functions/config-api/deps';
import { errorResponseOf, HttpError, UnprocessableError } from '../../functions/config-api/errors';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { apiEvent } from '../support/api-event';

const SECRET = 'pw-Unit-app*4';

const event = apiEvent;

/** Deps whose store fails with an unexpected error; the logger records what it is given. */
function brokenDeps() {
  const logged: unknown[] = [];
  const fail = async () => {
    throw new Error('socket hang up');
  };
  const deps = {
    store: { getSender: fail, loadTenant: fail, listDeliveries: fail },
    cipher: { encryptPassword: fail, decryptPassword: fail },
    guard: { vet: async () => ({ host: 'h', address: '52.94.236.248', family: 4 }) },
    smtp: {},
    logger: {
      info: (...args: unknown[]) => logged.push(args),
      warn: (...args: unknown[]) => logged.push(args),
      error: (...args: unknown[]) => logged.push(args),
    },
    clock: { now: () => 0 },
    allowPrivateSmtp: false,
  } as unknown as ConfigApiDeps;
  return { deps, logged };
}

const context = localLambdaContext('config-api', 10_000);

describe('config API handler', () => {
  it('answers an unexpected failure with a generic 500, logged without the request body', async () => {
    // Prepare
    const { deps, logged } = brokenDeps();
    const api = createConfigApi(deps);
    const body = JSON.stringify({
      mode: 'smtp',
      smtp: {
        host: 'smtp.acme.example',
        port: 587,
        security: 'starttls',
        username: 'u@acme.example',
        password: SECRET,
        fromAddress: 'u@acme.example',
      },
    });

    // Act
    const res = await api(event('PUT', '/tenants/acme/sender', { body }), context);

    // Assess
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: { code: 'internal', message: 'internal error' } });
    const text = JSON.stringify(logged);
    expect(text).toContain('socket hang up');
    expect(text).toContain('PUT /tenants/{tenantId}/sender');
    expect(text).not.toContain(SECRET);
  });

  it('routes by method and path behind a $default route, and answers unknown routes with 404', async () => {
    // Prepare
    const { deps } = brokenDeps();
    const api = createConfigApi(deps);

    // Act
    const doc = await api(event('GET', '/openapi.json'), context);
    const unknown = await api(event('GET', '/tenants/acme/secrets'), context);

    // Assess
    expect(doc.statusCode).toBe(200);
    expect(JSON.parse(doc.body ?? '')).toMatchObject({ openapi: '3.1.0' });
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body ?? '')).toMatchObject({ error: { code: 'not-found' } });
  });

  it('checks claims before anything else: no claims → 401 without touching the store', async () => {
    // Prepare
    const { deps } = brokenDeps();
    const api = createConfigApi(deps);
    const noClaims = event('GET', '/tenants/acme/sender');
    (noClaims.requestContext as { authorizer?: unknown }).authorizer = undefined;

    // Act
    const res = await api(noClaims, context);

    // Assess
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body ?? '')).toMatchObject({ error: { code: 'unauthorized' } });
  });
});

describe('config API errors', () => {
  it('exposes an HttpError as it is and hides anything else', () => {
    // Act
    const exposed = errorResponseOf(new UnprocessableError('host-refused', 'no', 'smtp.host'));
    const hidden = errorResponseOf(new HttpError(503, 'internal', 'dynamo table xyz is down'));
    const plain = errorResponseOf(new TypeError(`cannot read ${SECRET}`));

    // Assess
    expect(exposed).toEqual({
      statusCode: 422,
      body: { error: { code: 'host-refused', message: 'no', field: 'smtp.host' } },
    });
    expect(hidden.statusCode).toBe(500);
    expect(JSON.stringify(hidden)).not.toContain('xyz');
    expect(JSON.stringify(plain)).not.toContain(SECRET);
  });
});
