import { startOAuthServer } from './oauth-server';
import { startSubmissionServer } from './oauth-submission';
import type { LocalService, Mailbox } from './services';

/** The demo tenant umbrella's OAuth2 app (local only, never a real secret). */
export const LOCAL_OAUTH_CLIENT = {
  clientId: 'umbrella-local-app',
  clientSecret: 'local-oauth-client-secret-not-for-production',
  refreshToken: 'local-umbrella-refresh-token-not-for-production',
};
/** The mailbox umbrella sends as (the XOAUTH2 user). */
export const LOCAL_OAUTH_MAILBOX = 'notify@umbrella.example';
const AUDIENCE = 'tenant-mailer-local-submission';

/** `.local/stack.json`'s `oauth` entry: what the demo tenant umbrella logs in with. */
export interface LocalOAuthInfo {
  tokenUrl: string;
  smtp: { host: string; port: number };
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/**
 * The local OAuth2 world (docs/design.md §21): a token server (oauth2-mock-server; no rotation, so the
 * refresh token in stack.json keeps working) and an XOAUTH2-only submission server relaying into the
 * tenant mailbox. Both are LocalServices for the stack's start-up and shutdown.
 */
export async function startLocalOAuth(
  ports: { token: number; smtp: number },
  mailbox: Mailbox,
): Promise<{ services: LocalService[]; info: LocalOAuthInfo }> {
  const tokens = await startOAuthServer({
    clients: [LOCAL_OAUTH_CLIENT],
    audience: AUDIENCE,
    rotate: false,
    port: ports.token,
  });
  try {
    const submission = await startSubmissionServer({
      jwksUrl: tokens.jwksUrl,
      issuer: tokens.url,
      audience: AUDIENCE,
      users: [LOCAL_OAUTH_MAILBOX],
      relay: mailbox.smtp,
      port: ports.smtp,
    });
    return {
      services: [
        { url: tokens.tokenUrl, port: tokens.port, close: () => tokens.close() },
        {
          url: `smtp://${submission.host}:${submission.port}`,
          port: submission.port,
          close: () => submission.close(),
        },
      ],
      info: {
        tokenUrl: tokens.tokenUrl,
        smtp: { host: submission.host, port: submission.port },
        ...LOCAL_OAUTH_CLIENT,
      },
    };
  } catch (error) {
    await tokens.close();
    throw error;
  }
}
