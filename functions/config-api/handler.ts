import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { systemClock } from '../core/types';
import { loadSettings } from '../settings';
import {
  alertAdaptersFrom,
  alertEmitterFrom,
  cipherFrom,
  domainAdaptersFrom,
  guardFrom,
  mime,
  oauthTokensFrom,
  storeFrom,
  suppressionsFrom,
  tenantSmtpFrom,
} from '../wiring';
import { type ConfigApiHandler, createConfigApi } from './app';

let api: ConfigApiHandler | undefined;

/** Wires the real adapters from the settings (functions/wiring.ts), once per container. */
function buildApi(): ConfigApiHandler {
  const settings = loadSettings();
  const clock = systemClock;
  // Powertools reads its own POWERTOOLS_SERVICE_NAME (set by the stack).
  const logger = new Logger();
  const guard = guardFrom(settings);
  const cipher = cipherFrom(settings, clock);
  const alerts = alertAdaptersFrom(settings, clock);
  const domains = domainAdaptersFrom(settings);
  // domain.verified / domain.failed leave through the alerts queue, like the dispatcher's events.
  const emitter = alertEmitterFrom(settings, { clock, logger });
  return createConfigApi({
    // Tenant alert routes (docs/design.md §18); deployed together with the alerts queue.
    ...(alerts && { alerts }),
    // Domain routes (docs/design.md §20); on when the stack names its SES account (SES_ARN_PREFIX).
    ...(domains && { domains: { ...domains, ...(emitter && { alerts: emitter }) } }),
    store: storeFrom(settings, clock),
    suppressions: suppressionsFrom(settings, clock),
    cipher,
    guard,
    tokens: oauthTokensFrom(settings, clock),
    // A stored config's password is decrypted (its OAuth2 token fetched) when the test connects; a
    // typed one comes per call.
    smtp: tenantSmtpFrom(settings, {
      guard,
      cipher,
      clock,
      logger,
      // The test's own 15 s budget bounds it all; the reply to a test message is awaited 5 s.
      timeouts: { connectMs: 10_000, commandMs: 10_000, dataReplyMs: 5_000 },
    }),
    mime,
    logger,
    clock,
    allowPrivateSmtp: settings.allowPrivateSmtp,
  });
}

/** The config API Lambda (HTTP API, payload format 2.0, JWT authorizer in front). */
export const handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => {
  api ??= buildApi();
  return api(event, context);
};
