import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { systemClock } from '../core/types';
import { loadSettings } from '../settings';
import {
  alertEmitterFrom,
  cipherFrom,
  domainAdaptersFrom,
  guardFrom,
  mime,
  queueFrom,
  sesFrom,
  storeFrom,
  suppressionsFrom,
  tenantSmtpFrom,
} from '../wiring';
import { createDispatcher, type DispatchHandler } from './dispatcher';
import { DOMAIN_UNVERIFIED_MEMORY_MS, ExpiringSet, MIN_TENANT_WINDOW_MS } from './ports';

/** Time kept back from the deadline so the SES fallback still fits after a slow tenant server. */
const SES_RESERVE_MS = 5_000;

let dispatch: DispatchHandler | undefined;

/** Builds the dispatcher once per container from the environment (endpoints from AWS_ENDPOINT_URL_*). */
function build(): DispatchHandler {
  const settings = loadSettings();
  const clock = systemClock;
  // Powertools reads its own POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by the stack).
  const logger = new Logger();
  const metrics = new Metrics();
  const cipher = cipherFrom(settings, clock);
  const alerts = alertEmitterFrom(settings, { clock, logger });
  const domains = domainAdaptersFrom(settings);
  return createDispatcher({
    store: storeFrom(settings, clock),
    suppressions: suppressionsFrom(settings, clock),
    smtp: tenantSmtpFrom(settings, {
      guard: guardFrom(settings),
      cipher,
      clock,
      logger,
      timeouts: { dataReplyMs: settings.dataReplyTimeoutMs },
    }),
    ses: sesFrom(settings, clock),
    queue: queueFrom(settings),
    mime,
    logger,
    metrics,
    clock,
    platform: { address: settings.platformFromAddress, name: settings.platformName },
    maxAttempts: settings.maxAttempts,
    holdMaxAgeSeconds: settings.holdMaxAgeSeconds,
    sesReserveMs: SES_RESERVE_MS,
    // A tenant attempt starts only when the wait for DATA's reply still fits (it starts DATA only then).
    minTenantWindowMs: Math.max(MIN_TENANT_WINDOW_MS, settings.dataReplyTimeoutMs),
    unverifiedDomains: new ExpiringSet(DOMAIN_UNVERIFIED_MEMORY_MS, clock),
    // Tenant alerts (docs/design.md §18): on with ALERTS_QUEUE_URL.
    ...(alerts && { alerts }),
    // A domain SES refuses is recorded on its claim (§20); domain.failed goes out with the alerts.
    ...(domains && { domains: { store: domains.store, ses: domains.ses, alerts } }),
  });
}

/** Lambda entry: SQS event source with ReportBatchItemFailures. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  dispatch ??= build();
  return dispatch(event, context);
};
