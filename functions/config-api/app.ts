import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { authorizeTenant, callerOf } from './authz';
import type { ConfigApiDeps, RouteContext } from './deps';
import { deleteDomainRoute, getDomainRoute, listDomainsRoute, putDomainRoute } from './domain-routes';
import { errorResponseOf, NotFoundError, RateLimitedError } from './errors';
import { json } from './http';
import {
  deleteNotificationsRoute,
  getNotificationsRoute,
  notificationLogRoute,
  putNotificationsRoute,
  testNotificationsRoute,
} from './notification-routes';
import { openApiDocument } from './openapi';
import { deliveriesRoute, deliveryRoute, healthRoute } from './read-routes';
import { matchRoute, ROUTES, routeKey } from './routes';
import { tenantIdSchema } from './schemas';
import { deleteSenderRoute, getSenderRoute, putSenderRoute } from './sender-routes';
import { getSesRoute, putSesRoute } from './ses-routes';
import {
  deleteSuppressionRoute,
  getSuppressionRoute,
  listSuppressionsRoute,
  putSuppressionRoute,
} from './suppression-routes';
import { testSenderRoute } from './test-route';

export type ConfigApiHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

type RouteHandler = (ctx: RouteContext) => Promise<APIGatewayProxyStructuredResultV2>;

const HANDLERS: Record<string, RouteHandler> = {
  'PUT /tenants/{tenantId}/sender': putSenderRoute,
  'GET /tenants/{tenantId}/sender': getSenderRoute,
  'DELETE /tenants/{tenantId}/sender': deleteSenderRoute,
  'POST /tenants/{tenantId}/sender/test': testSenderRoute,
  'GET /tenants/{tenantId}/health': healthRoute,
  'GET /tenants/{tenantId}/deliveries': deliveriesRoute,
  'GET /tenants/{tenantId}/deliveries/{messageId}': deliveryRoute,
  'PUT /tenants/{tenantId}/notifications': putNotificationsRoute,
  'GET /tenants/{tenantId}/notifications': getNotificationsRoute,
  'DELETE /tenants/{tenantId}/notifications': deleteNotificationsRoute,
  'POST /tenants/{tenantId}/notifications/test': testNotificationsRoute,
  'GET /tenants/{tenantId}/notifications/log': notificationLogRoute,
  'PUT /tenants/{tenantId}/domains/{domain}': putDomainRoute,
  'GET /tenants/{tenantId}/domains/{domain}': getDomainRoute,
  'DELETE /tenants/{tenantId}/domains/{domain}': deleteDomainRoute,
  'GET /tenants/{tenantId}/domains': listDomainsRoute,
  'GET /tenants/{tenantId}/suppressions': listSuppressionsRoute,
  'GET /tenants/{tenantId}/suppressions/{address}': getSuppressionRoute,
  'PUT /tenants/{tenantId}/suppressions/{address}': putSuppressionRoute,
  'DELETE /tenants/{tenantId}/suppressions/{address}': deleteSuppressionRoute,
  'GET /tenants/{tenantId}/ses': getSesRoute,
  'PUT /tenants/{tenantId}/ses': putSesRoute,
};

const KNOWN_KEYS = new Set(ROUTES.map(routeKey));

/** The route an event is for: API Gateway's routeKey, or (behind a `$default` route) method and path. */
function resolveRoute(event: APIGatewayProxyEventV2WithJWTAuthorizer): {
  key: string;
  params: Record<string, string>;
} {
  if (KNOWN_KEYS.has(event.routeKey))
    return { key: event.routeKey, params: { ...event.pathParameters } as Record<string, string> };
  const match = matchRoute(event.requestContext?.http?.method ?? '', event.rawPath ?? '');
  if (!match) throw new NotFoundError('no such route');
  return { key: routeKey(match.route), params: match.pathParameters };
}

async function dispatch(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
  deps: ConfigApiDeps,
  key: string,
  params: Record<string, string>,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (key === 'GET /openapi.json') return json(200, openApiDocument(), { 'cache-control': 'max-age=300' });
  const handler = HANDLERS[key];
  if (!handler) throw new NotFoundError('no such route');
  const caller = callerOf(event.requestContext ?? {});
  const parsed = tenantIdSchema.safeParse(params.tenantId);
  if (!parsed.success) throw new NotFoundError('no such tenant', 'tenantId');
  authorizeTenant(caller, parsed.data);
  return handler({ event, context, tenantId: parsed.data, admin: caller.admin, params, deps });
}

/**
 * The config API as a Lambda handler over injected adapters (docs/design.md §15 Config API). Every failure is
 * answered as `{ error: { code, message, field? } }`; anything not an exposed HttpError is a logged,
 * generic 500. Request bodies are never logged (they may hold a password).
 */
export function createConfigApi(deps: ConfigApiDeps): ConfigApiHandler {
  return async (event, context) => {
    const started = deps.clock.now();
    let route = 'unknown';
    let result: APIGatewayProxyStructuredResultV2;
    try {
      const { key, params } = resolveRoute(event);
      route = key;
      result = await dispatch(event, context, deps, key, params);
    } catch (err) {
      const { statusCode, body } = errorResponseOf(err);
      if (statusCode >= 500) {
        deps.logger.error('config API request failed', { route, error: describeError(err) });
      }
      const headers: Record<string, string> =
        err instanceof RateLimitedError ? { 'retry-after': String(err.retryAfterSeconds) } : {};
      result = json(statusCode, body, headers);
    }
    deps.logger.info('config API request', {
      route,
      statusCode: result.statusCode,
      tenantId: event.pathParameters?.tenantId,
      durationMs: Math.max(0, deps.clock.now() - started),
    });
    return result;
  };
}

/** What is logged of an unexpected error: name, message, code and stack, and the same of its causes. */
function describeError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { value: typeof err };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: err.stack,
    ...(err.cause !== undefined && depth < 3 ? { cause: describeError(err.cause, depth + 1) } : {}),
  };
}
