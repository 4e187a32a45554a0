import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

export interface ApiEventOptions {
  /** The raw body, as API Gateway passes it (a string). */
  body?: string;
  /** A body to send as JSON (shorthand for `body: JSON.stringify(json)`). */
  json?: unknown;
  /** Authorizer claims; default: the path's tenant (else `acme`) as `tenant_id`. */
  claims?: Record<string, string>;
  routeKey?: string;
}

/**
 * A payload 2.0 event as API Gateway's HTTP API hands it to the config function behind the JWT
 * authorizer, for tests that call the handler without the local gateway.
 */
export function apiEvent(
  method: string,
  path: string,
  options: ApiEventOptions = {},
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const tenantId = /^\/tenants\/([^/]+)/.exec(path)?.[1];
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
  return {
    version: '2.0',
    routeKey: options.routeKey ?? '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    ...(tenantId ? { pathParameters: { tenantId } } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      authorizer: { jwt: { claims: options.claims ?? { tenant_id: tenantId ?? 'acme' }, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}
