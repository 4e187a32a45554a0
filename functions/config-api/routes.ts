/**
 * The config API's routes (docs/design.md §15 Config API), shared by the handler, the CDK stack and the local
 * HTTP API gateway so all three agree on route keys and which route is public.
 */
export interface RouteDef {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  /** true: no JWT authorizer in front (only the OpenAPI document). */
  public?: boolean;
}

export const ROUTES: readonly RouteDef[] = [
  { method: 'PUT', path: '/tenants/{tenantId}/sender' },
  { method: 'GET', path: '/tenants/{tenantId}/sender' },
  { method: 'DELETE', path: '/tenants/{tenantId}/sender' },
  { method: 'POST', path: '/tenants/{tenantId}/sender/test' },
  { method: 'GET', path: '/tenants/{tenantId}/health' },
  { method: 'GET', path: '/tenants/{tenantId}/deliveries' },
  { method: 'GET', path: '/tenants/{tenantId}/deliveries/{messageId}' },
  { method: 'PUT', path: '/tenants/{tenantId}/notifications' },
  { method: 'GET', path: '/tenants/{tenantId}/notifications' },
  { method: 'DELETE', path: '/tenants/{tenantId}/notifications' },
  { method: 'POST', path: '/tenants/{tenantId}/notifications/test' },
  { method: 'GET', path: '/tenants/{tenantId}/notifications/log' },
  { method: 'PUT', path: '/tenants/{tenantId}/domains/{domain}' },
  { method: 'GET', path: '/tenants/{tenantId}/domains/{domain}' },
  { method: 'DELETE', path: '/tenants/{tenantId}/domains/{domain}' },
  { method: 'GET', path: '/tenants/{tenantId}/domains' },
  { method: 'GET', path: '/tenants/{tenantId}/suppressions' },
  { method: 'GET', path: '/tenants/{tenantId}/suppressions/{address}' },
  { method: 'PUT', path: '/tenants/{tenantId}/suppressions/{address}' },
  { method: 'DELETE', path: '/tenants/{tenantId}/suppressions/{address}' },
  { method: 'GET', path: '/tenants/{tenantId}/ses' },
  { method: 'PUT', path: '/tenants/{tenantId}/ses' },
  { method: 'GET', path: '/openapi.json', public: true },
];

/** The admin scope: acts on any tenant. */
export const ADMIN_SCOPE = 'mailer/admin';

/** `"METHOD /path/{param}"`, API Gateway's route key. */
export function routeKey(route: RouteDef): string {
  return `${route.method} ${route.path}`;
}

/** Matches a request against the routes as API Gateway does; returns the route and its path parameters. */
export function matchRoute(
  method: string,
  path: string,
): { route: RouteDef; pathParameters: Record<string, string> } | null {
  const parts = path.split('/');
  for (const route of ROUTES) {
    if (route.method !== method.toUpperCase()) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const matched = pattern.every((seg, i) => {
      const actual = parts[i] ?? '';
      if (seg.startsWith('{') && seg.endsWith('}')) {
        if (actual === '') return false;
        params[seg.slice(1, -1)] = safeDecode(actual);
        return true;
      }
      return seg === actual;
    });
    if (matched) return { route, pathParameters: params };
  }
  return null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
