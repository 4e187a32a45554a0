/**
 * Deployment names of the functions' metrics: the namespace (POWERTOOLS_METRICS_NAMESPACE) and the
 * `service` dimension's value per function (POWERTOOLS_SERVICE_NAME). The metric table itself belongs to
 * the dispatcher (functions/dispatcher/metrics.ts).
 */

/** The metrics namespace (POWERTOOLS_METRICS_NAMESPACE): the dispatcher emits to it, the alarms read it. */
export const DEFAULT_METRICS_NAMESPACE = 'TenantMailer';

/** POWERTOOLS_SERVICE_NAME of each function; the value of the `service` dimension. */
export const SERVICE_NAMES = {
  dispatcher: 'tenant-mailer-dispatcher',
  configApi: 'tenant-mailer-config-api',
  notifier: 'tenant-mailer-notifier',
  events: 'tenant-mailer-events',
} as const;
