/**
 * The dispatcher's CloudWatch metrics (Powertools EMF): one table that the dispatcher emits from and the
 * CDK stack imports to alarm and graph (infra imports functions, never the reverse), so a renamed
 * metric cannot silently orphan an alarm.
 *
 * Pure constants: no aws-cdk-lib import, so the Lambda bundle stays small.
 *
 * Every metric also carries Powertools' own `service` dimension (POWERTOOLS_SERVICE_NAME). A CloudWatch
 * alarm matches one exact dimension set, so each metric is emitted with exactly the dimensions listed
 * here (extra dimensions go through `metrics.singleMetric()`), never with a varying set.
 */

/** Dimension names. `route` takes the contract's route values, `reason` a fallback or DLQ reason. */
export const DIMENSIONS = {
  service: 'service',
  route: 'route',
  reason: 'reason',
} as const;

export type MetricDimension = (typeof DIMENSIONS)['route' | 'reason'];

export interface MetricSpec {
  name: string;
  unit: 'Count' | 'Milliseconds';
  /** Dimensions besides `service`, in this order. */
  dimensions: readonly MetricDimension[];
  /** When the dispatcher emits it. */
  description: string;
}

/** Every metric the dispatcher emits. */
export const METRICS = {
  sent: {
    name: 'Sent',
    unit: 'Count',
    dimensions: ['route'],
    description:
      'A message delivered (status sent or partial), once per message; route is smtp|domain|platform|split.',
  },
  fallback: {
    name: 'Fallback',
    unit: 'Count',
    dimensions: ['reason'],
    description:
      'A message sent through the platform with a fallbackReason (no-config included), once per message.',
  },
  tenantRouteWanted: {
    name: 'TenantRouteWanted',
    unit: 'Count',
    dimensions: [],
    description:
      'A settled message whose tenant asks for its own route (mode smtp or domain): the fallback ratio denominator.',
  },
  tenantRouteFallback: {
    name: 'TenantRouteFallback',
    unit: 'Count',
    dimensions: [],
    description:
      'Of those, one that went out through the platform instead (any reason): the fallback ratio numerator.',
  },
  deadLettered: {
    name: 'DeadLettered',
    unit: 'Count',
    dimensions: ['reason'],
    description:
      'A message the dispatcher sent to the DLQ; reason is validation|undeliverable|held-expired|idempotency-conflict.',
  },
  held: {
    name: 'Held',
    unit: 'Count',
    dimensions: [],
    description: 'A receive of a hold-policy message left queued because its tenant path failed.',
  },
  delayed: {
    name: 'Delayed',
    unit: 'Count',
    dimensions: [],
    description:
      'A receive left queued for the next minute: the tenant was over its perMinute sending limit.',
  },
  breakerOpened: {
    name: 'BreakerOpened',
    unit: 'Count',
    dimensions: [],
    description: 'A tenant went from healthy to unhealthy (not emitted again for failed probes).',
  },
  breakerClosed: {
    name: 'BreakerClosed',
    unit: 'Count',
    dimensions: [],
    description: 'A probe succeeded and an unhealthy tenant became healthy again.',
  },
  suppressed: {
    name: 'Suppressed',
    unit: 'Count',
    dimensions: [],
    description:
      'Recipients left out of a send because their tenant suppresses them (bounce, complaint, manual).',
  },
  sendLatency: {
    name: 'SendLatency',
    unit: 'Milliseconds',
    dimensions: ['route'],
    description: 'Milliseconds from the start of a message to its final send reply, per route taken.',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
