import { describe, expect, it } from 'vitest';
import { classifySmtpFailure, isBasicAuthRefused } from '../../functions/core/classify';
import {
  classifyTokenFailure,
  isTokenGrant,
  limitsOf,
  type OAuth2Settings,
  oauth2Issues,
  PROVIDER_PROFILES,
  parseTokenResponse,
  scopeOf,
  type TokenFailureInfo,
  tokenRequestForm,
  tokenUrlOf,
  tokenUrlProblem,
  tokenUsableUntil,
} from '../../functions/core/oauth2';
import type { FailureRecord } from '../../functions/core/types';

const microsoft: OAuth2Settings = {
  provider: 'microsoft',
  flow: 'refresh-token',
  clientId: 'app-1',
  directoryId: 'contoso.onmicrosoft.com',
};
const google: OAuth2Settings = { provider: 'google', flow: 'refresh-token', clientId: 'g-1' };
const custom: OAuth2Settings = {
  provider: 'custom',
  flow: 'client-credentials',
  clientId: 'c-1',
  tokenUrl: 'https://idp.example.com/oauth/token',
};
const withRefresh = { hasRefreshToken: true, allowInsecure: false };
const noRefresh = { hasRefreshToken: false, allowInsecure: false };

describe('provider profiles', () => {
  it('builds each provider token URL', () => {
    expect(tokenUrlOf(microsoft)).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
    expect(tokenUrlOf(google)).toBe('https://oauth2.googleapis.com/token');
    expect(tokenUrlOf(custom)).toBe('https://idp.example.com/oauth/token');
  });

  it('takes the default scope of the flow unless the config names one', () => {
    expect(scopeOf(microsoft)).toBe('https://outlook.office.com/SMTP.Send offline_access');
    expect(scopeOf({ ...microsoft, flow: 'client-credentials' })).toBe(
      'https://outlook.office365.com/.default',
    );
    expect(scopeOf(google)).toBe('https://mail.google.com/');
    expect(scopeOf(custom)).toBeUndefined();
    expect(scopeOf({ ...custom, scope: 'smtp' })).toBe('smtp');
  });

  it('gives provider servers and limits, each configured limit winning', () => {
    expect(PROVIDER_PROFILES.microsoft.smtp).toEqual({
      host: 'smtp.office365.com',
      port: 587,
      security: 'starttls',
    });
    expect(PROVIDER_PROFILES.google.smtp).toEqual({ host: 'smtp.gmail.com', port: 465, security: 'tls' });
    expect(limitsOf('microsoft')).toEqual({ perMinute: 30, perDay: 10_000 });
    expect(limitsOf('microsoft', { perMinute: 10 })).toEqual({ perMinute: 10, perDay: 10_000 });
    expect(limitsOf('google')).toEqual({ perDay: 2_000 });
    expect(limitsOf('custom')).toEqual({});
    expect(limitsOf(undefined, { perDay: 50 })).toEqual({ perDay: 50 });
  });
});

describe('oauth2Issues', () => {
  it('accepts complete configs', () => {
    expect(oauth2Issues(microsoft, withRefresh)).toEqual([]);
    expect(oauth2Issues({ ...microsoft, flow: 'client-credentials' }, noRefresh)).toEqual([]);
    expect(oauth2Issues(google, withRefresh)).toEqual([]);
    expect(oauth2Issues(custom, noRefresh)).toEqual([]);
  });

  it('refuses the client-credentials flow for google on smtp.oauth2.flow', () => {
    const issues = oauth2Issues({ ...google, flow: 'client-credentials' }, noRefresh);
    expect(issues.map((issue) => issue.field)).toEqual(['smtp.oauth2.flow']);
  });

  it('requires the refresh token for the refresh-token flow and refuses it otherwise', () => {
    expect(oauth2Issues(google, noRefresh).map((i) => i.field)).toEqual(['smtp.oauth2.refreshToken']);
    expect(oauth2Issues(custom, withRefresh).map((i) => i.field)).toEqual(['smtp.oauth2.refreshToken']);
  });

  it('wants directoryId for microsoft only, and nothing that could reshape the URL', () => {
    const { directoryId: _, ...bare } = microsoft;
    expect(oauth2Issues(bare, withRefresh).map((i) => i.field)).toEqual(['smtp.oauth2.directoryId']);
    for (const bad of ['a/b', 'x?y', '../common', '-x', 'a b', '']) {
      expect(oauth2Issues({ ...microsoft, directoryId: bad }, withRefresh).map((i) => i.field)).toEqual([
        'smtp.oauth2.directoryId',
      ]);
    }
    expect(
      oauth2Issues({ ...microsoft, directoryId: '72f988bf-86f1-41af-91ab-2d7cd011db47' }, withRefresh),
    ).toEqual([]);
    expect(oauth2Issues({ ...google, directoryId: 'x' }, withRefresh).map((i) => i.field)).toEqual([
      'smtp.oauth2.directoryId',
    ]);
  });

  it('wants tokenUrl for custom only, https unless insecure is allowed', () => {
    const { tokenUrl: _, ...bare } = custom;
    expect(oauth2Issues(bare, noRefresh).map((i) => i.field)).toEqual(['smtp.oauth2.tokenUrl']);
    expect(oauth2Issues({ ...google, tokenUrl: 'https://x.example' }, withRefresh)[0]?.field).toBe(
      'smtp.oauth2.tokenUrl',
    );
    const http = { ...custom, tokenUrl: 'http://127.0.0.1:9000/token' };
    expect(oauth2Issues(http, noRefresh)[0]?.message).toBe('tokenUrl: URL must use https');
    expect(oauth2Issues(http, { hasRefreshToken: false, allowInsecure: true })).toEqual([]);
  });

  it('tokenUrlProblem refuses what is not a plain https URL', () => {
    expect(tokenUrlProblem('https://idp.example.com/token?tenant=1', false)).toBeNull();
    expect(tokenUrlProblem('not a url', false)).toBe('tokenUrl: not a valid URL');
    expect(tokenUrlProblem('ftp://idp.example.com/token', true)).toBe('tokenUrl: URL must use https');
    expect(tokenUrlProblem('https://user:pw@idp.example.com/token', false)).toMatch(/credentials/);
    expect(tokenUrlProblem('https://idp.example.com/token#x', false)).toMatch(/fragment/);
  });
});

describe('tokenRequestForm', () => {
  it('sends the refresh-token grant with client authentication in the body', () => {
    const form = tokenRequestForm(microsoft, { clientSecret: 'cs', refreshToken: 'rt' });
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt',
      client_id: 'app-1',
      client_secret: 'cs',
      scope: 'https://outlook.office.com/SMTP.Send offline_access',
    });
  });

  it('sends the client-credentials grant, without scope when there is none', () => {
    const form = tokenRequestForm(custom, { clientSecret: 'cs' });
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'c-1',
      client_secret: 'cs',
    });
  });
});

describe('parseTokenResponse', () => {
  it('reads a grant, with a rotated refresh token when there is one', () => {
    const body = { access_token: 'at', token_type: 'Bearer', expires_in: 3599, refresh_token: 'rt2' };
    expect(parseTokenResponse(200, JSON.stringify(body))).toEqual({
      accessToken: 'at',
      expiresInSeconds: 3599,
      refreshToken: 'rt2',
    });
    const plain = parseTokenResponse(200, '{"access_token":"at","token_type":"bearer"}');
    expect(plain).toEqual({ accessToken: 'at', expiresInSeconds: 300 });
    expect(isTokenGrant(plain)).toBe(true);
  });

  it('names what is wrong with an answer that is not a grant', () => {
    expect(parseTokenResponse(200, '<html>')).toMatchObject({ kind: 'bad-response', message: /not JSON/ });
    expect(parseTokenResponse(200, '{"token_type":"Bearer"}')).toMatchObject({ kind: 'bad-response' });
    expect(parseTokenResponse(200, '{"access_token":"a","token_type":"mac"}')).toMatchObject({
      kind: 'bad-response',
    });
    expect(parseTokenResponse(400, '{"error":"invalid_grant","error_description":"AADSTS70008"}')).toEqual({
      kind: 'oauth-error',
      status: 400,
      error: 'invalid_grant',
      description: 'AADSTS70008',
    });
    expect(parseTokenResponse(502, 'Bad Gateway')).toEqual({ kind: 'http-status', status: 502 });
  });

  it('keeps a token until 60 s before it expires', () => {
    expect(tokenUsableUntil(1_000, 3600)).toBe(1_000 + 3_540_000);
    expect(tokenUsableUntil(1_000, 30)).toBe(1_000);
  });
});

describe('classifyTokenFailure', () => {
  const cases: Array<[TokenFailureInfo, Partial<FailureRecord>]> = [
    [
      { kind: 'oauth-error', status: 400, error: 'invalid_grant', description: 'token revoked' },
      {
        class: 'auth',
        code: 'invalid_grant',
        hint: 'reconsent',
        message: '400 invalid_grant: token revoked',
      },
    ],
    [
      { kind: 'oauth-error', status: 401, error: 'invalid_client' },
      { class: 'auth', code: 'invalid_client' },
    ],
    [{ kind: 'oauth-error', status: 400, error: 'unauthorized_client' }, { class: 'auth' }],
    [{ kind: 'oauth-error', status: 400, error: 'invalid_scope' }, { class: 'auth' }],
    [{ kind: 'oauth-error', status: 400, error: 'invalid_request' }, { class: 'config-invalid' }],
    [{ kind: 'oauth-error', status: 503, error: 'temporarily_unavailable' }, { class: 'server-temporary' }],
    [{ kind: 'oauth-error', status: 500, error: 'invalid_grant' }, { class: 'server-temporary' }],
    [
      { kind: 'http-status', status: 500 },
      { class: 'server-temporary', code: 'HTTP_500' },
    ],
    [
      { kind: 'http-status', status: 429 },
      { class: 'server-temporary', code: 'HTTP_429' },
    ],
    [{ kind: 'http-status', status: 401 }, { class: 'auth' }],
    [{ kind: 'http-status', status: 404 }, { class: 'config-invalid' }],
    [{ kind: 'http-status', status: 302 }, { class: 'config-invalid' }],
    [{ kind: 'bad-response', status: 200, message: 'not JSON' }, { class: 'server-temporary' }],
    [
      { kind: 'timeout', message: 'no answer in 5000 ms' },
      { class: 'server-temporary', code: 'ETIMEDOUT' },
    ],
    [
      { kind: 'refused', message: 'private address' },
      { class: 'config-invalid', code: 'ECONFIG' },
    ],
    [{ kind: 'network', code: 'ECONNREFUSED', message: 'refused' }, { class: 'connection' }],
    [{ kind: 'tls', code: 'CERT_HAS_EXPIRED', message: 'expired' }, { class: 'tls' }],
  ];

  it.each(cases)('%j', (info, expected) => {
    const record = classifyTokenFailure(info);
    expect(record).toMatchObject({ phase: 'TOKEN', ...expected });
    if (expected.hint === undefined) expect(record.hint).toBeUndefined();
  });
});

describe('basic auth refused by the provider', () => {
  it.each([
    ['550 5.7.30 Basic authentication is not supported for Client Submission', 550],
    ['535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant', 535],
    ['535 5.7.139 Authentication unsuccessful, basic authentication is disabled', 535],
    ['554 Basic authentication is not supported', 554],
  ] as [string, number][])('%s → auth, use-oauth2', (response, responseCode) => {
    const record = classifySmtpFailure({
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode,
      response,
      message: 'x',
    });
    expect(record).toMatchObject({ class: 'auth', phase: 'AUTH', hint: 'use-oauth2', responseCode });
  });

  it('also when the refusal comes at MAIL FROM with a code that would mean rejected', () => {
    const response = '550 5.7.30 Basic authentication is not supported for Client Submission';
    const record = classifySmtpFailure({
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 550,
      response,
      message: 'x',
    });
    expect(record).toMatchObject({ class: 'auth', hint: 'use-oauth2' });
  });

  it('leaves a wrong password without a hint', () => {
    const response = '535 5.7.3 Authentication unsuccessful';
    const record = classifySmtpFailure({
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode: 535,
      response,
      message: 'x',
    });
    expect(record.class).toBe('auth');
    expect(record.hint).toBeUndefined();
    expect(isBasicAuthRefused(550, '550 5.7.1 Relay denied')).toBe(false);
    expect(isBasicAuthRefused(550, '550 5.7.300 x')).toBe(false);
  });
});
