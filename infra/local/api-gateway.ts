import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import { matchRoute, routeKey } from '../../functions/config-api/routes';
import { closeServer, listen } from './http-server';
import { localLambdaContext } from './lambda-context';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface LocalApiGatewayOptions {
  handler: HttpApiHandler;
  /** Verifies a bearer token (signature, alg, issuer, audience, expiry); throws when it is not valid. */
  verify: (token: string) => Promise<JWTPayload>;
  host?: string;
  port?: number;
  /** Invocation timeout, as the function's configured timeout. */
  timeoutMs?: number;
  /** Body size limit; API Gateway's is 10 MB. */
  maxBodyBytes?: number;
}

export interface LocalApiGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

const UNAUTHORIZED = { message: 'Unauthorized' };

/**
 * What API Gateway's HTTP API does in front of the config function: route matching, the JWT authorizer
 * (a bad token never reaches the handler: 401 with API Gateway's own body), payload format 2.0 events.
 */
export async function startLocalApiGateway(options: LocalApiGatewayOptions): Promise<LocalApiGateway> {
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const server = createServer((req, res) => {
    serve(req, res, options, maxBody).catch(() => send(res, 500, { message: 'Internal Server Error' }));
  });
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalApiGatewayOptions,
  maxBody: number,
) {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(method, url.pathname);
  if (!match) return send(res, 404, { message: 'Not Found' });

  let claims: JWTPayload = {};
  if (!match.route.public) {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) return send(res, 401, UNAUTHORIZED);
    try {
      claims = await options.verify(token);
    } catch {
      return send(res, 401, UNAUTHORIZED);
    }
  }

  const body = await readBody(req, maxBody);
  if (body === null) return send(res, 413, { message: 'Request Entity Too Large' });

  const event = buildEvent(req, url, method, routeKey(match.route), match.pathParameters, claims, body);
  let result: APIGatewayProxyResultV2;
  try {
    result = await options.handler(event, localLambdaContext('config-api', options.timeoutMs ?? 29_000));
  } catch {
    return send(res, 500, { message: 'Internal Server Error' });
  }
  writeResult(res, result);
}

function buildEvent(
  req: IncomingMessage,
  url: URL,
  method: string,
  key: string,
  pathParameters: Record<string, string>,
  claims: JWTPayload,
  body: Buffer,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] ? `${query[name]},${value}` : value;
  const now = new Date();
  const hasQuery = url.search.length > 1;
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(hasQuery ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    ...(body.length ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { jwt: { claims: stringifyClaims(claims), scopes: scopesOf(claims) } },
    },
  };
}

/** API Gateway hands claims to the function as strings; arrays become "[a b]". */
function stringifyClaims(claims: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (Array.isArray(value)) out[name] = `[${value.join(' ')}]`;
    else if (value !== null && typeof value === 'object') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}

function scopesOf(claims: JWTPayload): string[] | null {
  const raw = claims.scope ?? claims.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.map(String);
  return null;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2) {
  if (typeof result === 'string' || result === undefined || result === null) {
    return send(res, 200, result ?? '');
  }
  if (typeof result !== 'object' || !('statusCode' in result || 'body' in result)) {
    return send(res, 200, result);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const body = result.body ?? '';
  const payload = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(payload);
}

function send(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent) return void res.end();
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(payload);
}
