import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_METRICS, SES_ROUTES } from '../functions/events/metrics';
import { type AlarmSpec, deadLettersSpec, stackAlarm } from './alarms';
import type { MailerConfig } from './config';
import { bundledFunction } from './lambda';
import { queueWithDeadLetters } from './mail-queue';
import { DEFAULT_METRICS_NAMESPACE, SERVICE_NAMES } from './metrics';
import type { PlatformMail } from './ses';
import type { MailerData } from './storage';

/** The SES events the configuration set publishes to the events topic (docs/design.md §19). */
export const DELIVERY_EVENT_TYPES = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.DELIVERY_DELAY,
];
/** The events function's budget: a batch of 10 is a few reads and writes each. */
export const EVENTS_TIMEOUT = Duration.seconds(30);
/** Receives before SQS moves an event to the DLQ; the function dead-letters with a reason before that. */
export const EVENTS_MAX_RECEIVE_COUNT = 10;
/** The function's own limit (EVENT_MAX_RECEIVES): it dead-letters a failing event itself, with its reason. */
export const EVENT_MAX_RECEIVES = 5;
/** The rates SES itself reviews an account at, over the last 24 hours (docs/design.md §19). */
export const BOUNCE_RATE_ALARM = 0.05;
export const COMPLAINT_RATE_ALARM = 0.001;
/** Below this many recipients in 24 hours a rate says nothing (one bounce of 10 is not 10 %). */
export const RATE_MIN_RECIPIENTS = 100;

export interface DeliveryEventsProps {
  config: MailerConfig;
  /** Tenant alerts' queue: a tenant over SES's rates gets `reputation.warning`. */
  alertsQueue: sqs.IQueue;
  data: MailerData;
  mail: PlatformMail;
  alarmTopic: sns.ITopic;
}

/**
 * Delivery events in (docs/design.md §19): the configuration set publishes SES's sending events to an
 * encrypted SNS topic, a raw-delivery SQS subscription (own DLQ) feeds the events Lambda, which keeps the
 * delivery timeline and the per-tenant suppression list; alarms on its DLQ, its errors and the bounce
 * and complaint rates of the SES routes over 24 hours.
 */
export class DeliveryEvents extends Construct {
  readonly topicKey: kms.Key;
  readonly topic: sns.Topic;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly handler: NodejsFunction;
  readonly alarms: {
    deadLetters: cloudwatch.Alarm;
    errors: cloudwatch.Alarm;
    bounceRate: cloudwatch.Alarm;
    complaintRate: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: DeliveryEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // SES publishes to an encrypted topic only with a key whose policy lets SES use it, and only for this
    // account's configuration set.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'tenant-mailer: encrypts the SES delivery events topic',
      enableKeyRotation: true,
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': props.mail.configurationSetArn,
          },
        },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'tenant-mailer SES delivery events',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // The construct adds the topic policy: ses.amazonaws.com may publish, for this configuration set only.
    props.mail.configurationSet.addEventDestination('Sns', {
      destination: ses.EventDestination.snsTopic(this.topic),
      events: DELIVERY_EVENT_TYPES,
    });

    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueWithDeadLetters(this, {
      visibilityTimeout: Duration.seconds(6 * EVENTS_TIMEOUT.toSeconds()),
      retentionPeriod: Duration.days(4),
      maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT,
    }));
    // Raw delivery: the queue message body is SES's event JSON itself, as the events function reads it.
    this.topic.addSubscription(new SqsSubscription(this.queue, { rawMessageDelivery: true }));

    // No VPC: the function talks to DynamoDB and SQS only, never to a tenant's server.
    this.handler = bundledFunction(scope, 'Events', {
      entry: 'functions/events/handler.ts',
      description: 'tenant-mailer events: SES delivery events to delivery timelines and suppressions',
      timeout: EVENTS_TIMEOUT,
      memorySize: 256,
      environment: {
        TABLE_NAME: props.data.table.tableName,
        EVENTS_DLQ_URL: this.deadLetterQueue.queueUrl,
        EVENT_MAX_RECEIVES: String(EVENT_MAX_RECEIVES),
        ALERTS_QUEUE_URL: props.alertsQueue.queueUrl,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.events,
        POWERTOOLS_METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.config.logLevel,
      },
    });
    this.handler.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    // The delivery item's timeline (read, then a conditional append), suppression entries, and each
    // tenant's 24-hour SES counts (added per event, summed with a Query after a bounce or complaint).
    props.data.table.grant(
      this.handler,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
    );
    // reputation.warning leaves through the tenant alerts' queue.
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.alertsQueue.queueArn] }),
    );
    // Unusable events leave for the DLQ with their reason (docs/design.md §19).
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );

    const alarm = (alarmId: string, spec: AlarmSpec) => stackAlarm(this, alarmId, spec, props.alarmTopic);
    this.alarms = {
      deadLetters: alarm(
        'EventsDeadLetterQueueNotEmpty',
        deadLettersSpec(
          this.deadLetterQueue,
          'SES delivery events are in the events DLQ (malformed, unknown, untagged, or their delivery was not found): see each message attribute "reason".',
        ),
      ),
      errors: alarm('EventsErrors', {
        alarmDescription: 'The events function failed invocations (see its log).',
        metric: this.handler.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      bounceRate: alarm('SesRouteBounceRate', {
        alarmDescription: `Hard bounces above ${BOUNCE_RATE_ALARM * 100} % of the SES routes' recipients over 24 hours (SES reviews an account there); see the tenants' suppressions and delivery events.`,
        metric: routesRate('bounces', 'hard bounce rate, SES routes, 24 h'),
        threshold: BOUNCE_RATE_ALARM,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      complaintRate: alarm('SesRouteComplaintRate', {
        alarmDescription: `Complaints above ${COMPLAINT_RATE_ALARM * 100} % of the SES routes' recipients over 24 hours (SES reviews an account there).`,
        metric: routesRate('complaints', 'complaint rate, SES routes, 24 h'),
        threshold: COMPLAINT_RATE_ALARM,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
    };
  }
}

/** The events function's metric of one route, summed over a day. */
function routeMetric(key: 'sends' | 'bounces' | 'complaints', route: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: DEFAULT_METRICS_NAMESPACE,
    metricName: EVENT_METRICS[key].name,
    dimensionsMap: { service: SERVICE_NAMES.events, route },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.days(1),
  });
}

/**
 * Bounces (or complaints) over recipients of every SES route in the last 24 hours; 0 below
 * RATE_MIN_RECIPIENTS. A route without data that day counts as 0 (FILL), not as a gap.
 */
function routesRate(key: 'bounces' | 'complaints', label: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const sum = (prefix: string) => SES_ROUTES.map((_, i) => `FILL(${prefix}${i}, 0)`).join(' + ');
  SES_ROUTES.forEach((route, i) => {
    usingMetrics[`r${i}`] = routeMetric('sends', route);
    usingMetrics[`e${i}`] = routeMetric(key, route);
  });
  return new cloudwatch.MathExpression({
    expression: `IF((${sum('r')}) >= ${RATE_MIN_RECIPIENTS}, (${sum('e')}) / (${sum('r')}), 0)`,
    usingMetrics,
    period: Duration.days(1),
    label,
  });
}
