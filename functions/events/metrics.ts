/**
 * The events function's CloudWatch metrics (Powertools EMF), imported by the CDK stack for the rate
 * alarms (docs/design.md §19 Delivery events and suppression). Pure constants.
 */

/** Recipients counted per SES route tag (`platform`, `domain`, `split`); bounce and complaint rates divide by it. */
export const EVENT_METRICS = {
  sends: { name: 'SesRecipients', dimensions: ['route'] },
  bounces: { name: 'SesHardBounces', dimensions: ['route'] },
  complaints: { name: 'SesComplaints', dimensions: ['route'] },
  deadLettered: { name: 'EventDeadLettered', dimensions: ['reason'] },
} as const;

export type EventMetricKey = keyof typeof EVENT_METRICS;

/** The routes SES sends for: the dimension values the per-route rate alarms read. */
export const SES_ROUTES = ['platform', 'domain', 'split'] as const;
