import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  Events,
  type MutableResponse,
  type MutableToken,
  OAuth2Issuer,
  OAuth2Service,
  type TokenRequestIncomingMessage,
} from 'oauth2-mock-server';
import { closeServer, listen } from './http-server';

/** A client the token server knows: its secret and the refresh tokens it has given out (if any). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** The refresh token the admin's consent produced (the refresh-token flow). */
  refreshToken?: string;
}

/** How to answer the n-th token request (1-based): a status with a raw body, or `hang`. */
export type TokenFault = { status: number; body: string } | 'hang';

export interface OAuthServerOptions {
  clients: OAuthClient[];
  /** `aud` of every access token (the submission server checks it). */
  audience: string;
  /** Lifetime of access tokens; default 3600. */
  tokenTtlSeconds?: number;
  /** Each refresh consumes the refresh token sent and hands out a new one (default true). */
  rotate?: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** A fault instead of the real answer (tests: 500, 429, not JSON, a hang). */
  fault?: (n: number) => TokenFault | undefined;
  host?: string;
  port?: number;
}

export interface OAuthServer {
  /** The issuer (`iss` of the tokens). */
  url: string;
  tokenUrl: string;
  jwksUrl: string;
  port: number;
  /** Token requests received so far, faults included. */
  tokenRequests(): number;
  /** The form fields of every token request (tests only: they hold secrets). */
  forms: Record<string, string>[];
  /** Revokes every refresh token of the client (the admin withdrew consent). */
  revoke(clientId: string): void;
  /** Adds a refresh token the client may use (the admin consented again). */
  consent(clientId: string, refreshToken: string): void;
  /** Whether the refresh token is one the server would take now. */
  accepts(clientId: string, refreshToken: string): boolean;
  close(): Promise<void>;
}

function oauthError(response: MutableResponse, statusCode: number, error: string, description: string): void {
  response.statusCode = statusCode;
  response.body = { error, error_description: description };
}

/**
 * A local OAuth2 authorization server's token endpoint (oauth2-mock-server: real signed JWTs, a JWKS at
 * `/jwks`) that, unlike the bare mock, checks the client secret and the refresh token and rotates refresh
 * tokens the way strict providers do. Access tokens carry `aud` and `client_id`.
 */
export async function startOAuthServer(options: OAuthServerOptions): Promise<OAuthServer> {
  const ttl = options.tokenTtlSeconds ?? 3600;
  const rotate = options.rotate ?? true;
  const clients = new Map(options.clients.map((client) => [client.clientId, client]));
  const valid = new Map<string, Set<string>>(
    options.clients.map((client) => [
      client.clientId,
      new Set(client.refreshToken ? [client.refreshToken] : []),
    ]),
  );
  const issuer = new OAuth2Issuer();
  await issuer.keys.generate('RS256');
  const service = new OAuth2Service(issuer);
  const forms: Record<string, string>[] = [];
  let requests = 0;

  service.on(Events.BeforeTokenSigning, (token: MutableToken, req: TokenRequestIncomingMessage) => {
    token.payload.aud = options.audience;
    token.payload.exp = token.payload.iat + ttl;
    token.payload.client_id = req.body.client_id;
    token.payload.jti = randomUUID();
  });
  service.on(Events.BeforeResponse, (response: MutableResponse, req: TokenRequestIncomingMessage) => {
    const form = req.body as unknown as Record<string, string>;
    forms.push({ ...form });
    const client = clients.get(form.client_id ?? '');
    if (!client || form.client_secret !== client.clientSecret) {
      oauthError(response, 401, 'invalid_client', 'unknown client or wrong client secret');
      return;
    }
    if (response.body === '') return;
    response.body.expires_in = ttl;
    delete response.body.id_token;
    if (form.grant_type !== 'refresh_token') return;
    const tokens = valid.get(client.clientId) ?? new Set<string>();
    if (!tokens.has(form.refresh_token ?? '')) {
      oauthError(response, 400, 'invalid_grant', 'the refresh token is revoked, expired or already used');
      return;
    }
    if (!rotate) {
      delete response.body.refresh_token;
      return;
    }
    tokens.delete(form.refresh_token ?? '');
    tokens.add(String(response.body.refresh_token));
  });

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/token') {
      requests += 1;
      const fault = options.fault?.(requests);
      if (fault === 'hang') return;
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json' }).end(fault.body);
        return;
      }
    }
    service.requestHandler(req, res);
  };
  const server: Server = options.tls
    ? (createHttpsServer(options.tls, handler) as unknown as Server)
    : createHttpServer(handler);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const url = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
  issuer.url = url;
  return {
    url,
    tokenUrl: `${url}/token`,
    jwksUrl: `${url}/jwks`,
    port,
    tokenRequests: () => requests,
    forms,
    revoke: (clientId) => valid.get(clientId)?.clear(),
    consent: (clientId, refreshToken) => valid.get(clientId)?.add(refreshToken),
    accepts: (clientId, refreshToken) => valid.get(clientId)?.has(refreshToken) === true,
    close: () => closeServer(server),
  };
}
