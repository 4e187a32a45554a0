import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIMENSIONS, METRICS, type MetricKey } from '../functions/dispatcher/metrics';
import { type AlarmSpec, deadLettersSpec, notify, stackAlarm } from './alarms';
import { SERVICE_NAMES } from './metrics';
import type { PlatformMail } from './ses';

/** SES reviews an account at a 5 % bounce rate and a 0.1 % complaint rate; alarm at those. */
export const SES_BOUNCE_RATE_THRESHOLD = 0.05;
export const SES_COMPLAINT_RATE_THRESHOLD = 0.001;
/** Below this many sends in an hour one bounce is noise, not a rate. */
export const SES_MIN_SENDS = 100;
/** Below this many tenant-routed messages in five minutes the fallback ratio says nothing. */
export const FALLBACK_MIN_MESSAGES = 10;

export interface ObservabilityProps {
  namespace: string;
  alarmEmail: string | undefined;
  fallbackRatioThreshold: number;
  unhealthyTenantsThreshold: number;
  dispatcher: lambda.IFunction;
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  mail: PlatformMail;
}

export type AlarmName =
  | 'deadLetterQueue'
  | 'dispatcherErrors'
  | 'fallbackRatio'
  | 'tenantsUnhealthy'
  | 'sesBounceRate'
  | 'sesComplaintRate'
  | 'noisyTenant';

/** Alarms to an SNS topic (email from context) and the operations dashboard. */
export class MailerObservability extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: Record<AlarmName, cloudwatch.Alarm>;
  readonly dashboard: cloudwatch.Dashboard;
  private readonly namespace: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'tenant-mailer alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    const hour = Duration.hours(1);
    const sesRate = (metric: 'Bounce' | 'Complaint', label: string) =>
      new cloudwatch.MathExpression({
        expression: `IF(sends >= ${SES_MIN_SENDS}, events / sends, 0)`,
        usingMetrics: { events: props.mail.metric(metric), sends: props.mail.metric('Send') },
        period: hour,
        label,
      });

    const alarm = (alarmId: string, spec: AlarmSpec) => stackAlarm(this, alarmId, spec);

    this.alarms = {
      deadLetterQueue: alarm(
        'DeadLetterQueueNotEmpty',
        deadLettersSpec(
          props.deadLetterQueue,
          'Messages are in the DLQ (validation, undeliverable, held-expired, idempotency-conflict, or a crash loop). Inspect, fix, redrive.',
        ),
      ),
      dispatcherErrors: alarm('DispatcherErrors', {
        alarmDescription:
          'The dispatcher threw or timed out (it reports per-message failures itself, so any error is a bug or a timeout).',
        metric: props.dispatcher.metricErrors({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      fallbackRatio: alarm('FallbackRatio', {
        alarmDescription: `More than ${props.fallbackRatioThreshold * 100} % of tenant-routed messages fell back to the platform for 15 minutes.`,
        metric: new cloudwatch.MathExpression({
          expression: `IF(wanted >= ${FALLBACK_MIN_MESSAGES}, fallbacks / wanted, 0)`,
          usingMetrics: {
            wanted: this.metric('tenantRouteWanted', {}, fiveMinutes),
            fallbacks: this.metric('tenantRouteFallback', {}, fiveMinutes),
          },
          period: fiveMinutes,
          label: 'fallback ratio',
        }),
        threshold: props.fallbackRatioThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      }),
      tenantsUnhealthy: alarm('TenantsUnhealthy', {
        alarmDescription: `At least ${props.unhealthyTenantsThreshold} tenants turned unhealthy within an hour: check the egress path before the tenants.`,
        metric: this.metric('breakerOpened', {}, hour),
        threshold: props.unhealthyTenantsThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      sesBounceRate: alarm('SesBounceRate', {
        alarmDescription: `SES bounce rate above ${SES_BOUNCE_RATE_THRESHOLD * 100} % over an hour (SES reviews the account there).`,
        metric: sesRate('Bounce', 'bounce rate'),
        threshold: SES_BOUNCE_RATE_THRESHOLD,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      sesComplaintRate: alarm('SesComplaintRate', {
        alarmDescription: `SES complaint rate above ${SES_COMPLAINT_RATE_THRESHOLD * 100} % over an hour (SES reviews the account there).`,
        metric: sesRate('Complaint', 'complaint rate'),
        threshold: SES_COMPLAINT_RATE_THRESHOLD,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      // SQS fair queues (MessageGroupId = tenantId): a tenant holding a disproportionate share in flight.
      noisyTenant: alarm('NoisyTenant', {
        alarmDescription:
          "For 15 minutes SQS has counted a tenant as noisy (a blast, or a slow tenant server): its mail waits while the others go first. Check the dashboard's queue widgets and that tenant.",
        metric: noisyGroups(props.queue, fiveMinutes),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      }),
    };
    notify(this.topic, Object.values(this.alarms));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      this.searchGraph('Sent by route', 'sent', 'route', 'Sum'),
      this.searchGraph('Fallbacks by reason', 'fallback', 'reason', 'Sum'),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue and DLQ depth',
        width: 12,
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'DLQ depth' }),
          props.queue.metricApproximateNumberOfMessagesVisible({ label: 'queue depth' }),
        ],
        right: [props.queue.metricApproximateAgeOfOldestMessage({ label: 'oldest message age (s)' })],
      }),
      this.searchGraph('Send latency p50 (ms)', 'sendLatency', 'route', 'p50', 6),
      this.searchGraph('Send latency p99 (ms)', 'sendLatency', 'route', 'p99', 6),
    );
    this.dashboard.addWidgets(
      this.searchGraph('Dead-lettered by reason', 'deadLettered', 'reason', 'Sum', 8),
      new cloudwatch.GraphWidget({
        title: 'Tenant breakers',
        width: 8,
        left: [this.metric('breakerOpened', {}, fiveMinutes), this.metric('breakerClosed', {}, fiveMinutes)],
      }),
      new cloudwatch.GraphWidget({
        title: 'SES events',
        width: 8,
        left: (['Send', 'Delivery', 'Bounce', 'Complaint', 'Reject'] as const).map((m) =>
          props.mail.metric(m),
        ),
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Fair queue: noisy tenants',
        width: 12,
        left: [noisyGroups(props.queue, fiveMinutes, 'noisy tenants')],
        right: [
          queueMetric(
            props.queue,
            'ApproximateAgeOfOldestMessageInQuietGroups',
            fiveMinutes,
            'quiet tenants: oldest message age (s)',
          ),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: Object.values(this.alarms) }),
    );
  }

  /** One of the dispatcher's metrics with its exact dimension set (service first). */
  metric(
    key: MetricKey,
    dimensions: Record<string, string>,
    period: Duration,
    statistic = 'Sum',
  ): cloudwatch.Metric {
    const spec = METRICS[key];
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: spec.name,
      dimensionsMap: { [DIMENSIONS.service]: SERVICE_NAMES.dispatcher, ...dimensions },
      statistic,
      period,
      label: spec.name,
    });
  }

  /** A graph of every value of `dimension` (routes, reasons) found by a SEARCH, so new values appear unasked. */
  private searchGraph(title: string, key: MetricKey, dimension: string, stat: string, width = 12) {
    const spec = METRICS[key];
    const schema = `{${this.namespace},${DIMENSIONS.service},${dimension}}`;
    const query = `${schema} MetricName="${spec.name}" ${DIMENSIONS.service}="${SERVICE_NAMES.dispatcher}"`;
    return new cloudwatch.GraphWidget({
      title,
      width,
      left: [
        new cloudwatch.MathExpression({
          expression: `SEARCH('${query}', '${stat}', 300)`,
          usingMetrics: {},
          label: '',
          period: Duration.minutes(5),
        }),
      ],
    });
  }
}

/** An AWS/SQS metric of the queue that the CDK has no helper for (the fair-queue ones). */
function queueMetric(
  queue: sqs.IQueue,
  metricName: string,
  period: Duration,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SQS',
    metricName,
    dimensionsMap: { QueueName: queue.queueName },
    statistic: cloudwatch.Stats.MAXIMUM,
    period,
    ...(label !== undefined && { label }),
  });
}

/** SQS fair queues: how many message groups (tenants) SQS counts as noisy right now. */
function noisyGroups(queue: sqs.IQueue, period: Duration, label?: string): cloudwatch.Metric {
  return queueMetric(queue, 'ApproximateNumberOfNoisyGroups', period, label);
}
