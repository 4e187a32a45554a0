import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type AlarmSpec, deadLettersSpec, stackAlarm } from './alarms';
import type { MailerConfig } from './config';
import {
  type BundledFunctionProps,
  bundledFunction,
  type SettingsValues,
  settingsEnvironment,
} from './lambda';
import { queueWithDeadLetters } from './mail-queue';
import { SERVICE_NAMES } from './metrics';
import type { PlatformMail } from './ses';
import type { MailerData } from './storage';

/** The notifier's budget: a webhook POST is 5 s per channel, SES and the store a few more. */
export const NOTIFIER_TIMEOUT = Duration.seconds(30);
/** Alert retries wait up to 6 h (docs/design.md §18); the queue keeps a message well past all of them. */
export const ALERTS_RETENTION = Duration.days(4);
/** Receives before SQS moves an alert to its DLQ: 6 attempts, a dead-letter digest's early looks, crashes. */
export const ALERTS_MAX_RECEIVE_COUNT = 20;

/** The KMS encryption context of webhook secrets: purpose `webhook-secret`, a tenantId, nothing else. */
export const WEBHOOK_SECRET_CONTEXT_CONDITIONS = {
  StringEquals: { 'kms:EncryptionContext:purpose': 'webhook-secret' },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'purpose'] },
  Null: { 'kms:EncryptionContext:tenantId': 'false' },
};

export interface TenantAlertsProps {
  config: MailerConfig;
  settings: SettingsValues;
  data: MailerData;
  mail: PlatformMail;
  dispatcher: NodejsFunction;
  configFunction: NodejsFunction;
  namespace: string;
  alarmTopic: sns.ITopic;
  network: BundledFunctionProps['network'];
}

/**
 * Tenant alerts (docs/design.md §18): their own queue and DLQ, the notifier Lambda, the grants the
 * dispatcher (queue events) and config API (settings, test) need, and alarms on failed deliveries.
 */
export class TenantAlerts extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly notifier: NodejsFunction;
  readonly alarms: { failedDeliveries: cloudwatch.Alarm; deadLetters: cloudwatch.Alarm };
  private readonly keyArn: string;

  constructor(scope: Construct, id: string, props: TenantAlertsProps) {
    super(scope, id);
    const { config, data } = props;
    this.keyArn = data.passwordKey.keyArn;
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueWithDeadLetters(this, {
      visibilityTimeout: Duration.seconds(6 * NOTIFIER_TIMEOUT.toSeconds()),
      retentionPeriod: ALERTS_RETENTION,
      maxReceiveCount: ALERTS_MAX_RECEIVE_COUNT,
    }));
    const platformWebhook = {
      ...(config.platformWebhookUrl !== undefined && { PLATFORM_WEBHOOK_URL: config.platformWebhookUrl }),
      ...(config.platformWebhookSecretArn !== undefined && {
        PLATFORM_WEBHOOK_SECRET_ARN: config.platformWebhookSecretArn,
      }),
    };

    this.notifier = bundledFunction(scope, 'Notifier', {
      entry: 'functions/notifier/handler.ts',
      description: 'tenant-mailer notifier: tenant alerts by email and signed webhook',
      timeout: NOTIFIER_TIMEOUT,
      memorySize: 256,
      environment: {
        ...settingsEnvironment(config, props.settings, SERVICE_NAMES.notifier),
        ALERTS_QUEUE_URL: this.queue.queueUrl,
        ...platformWebhook,
      },
      network: props.network,
    });
    this.notifier.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    // Reads settings and the delivery items of an outage, writes its log.
    data.table.grant(this.notifier, 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem');
    this.grantWebhookSecret(this.notifier, ['kms:Decrypt']);
    props.mail.grantSend(this.notifier);
    if (config.platformWebhookSecretArn !== undefined) {
      this.notifier.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [config.platformWebhookSecretArn],
        }),
      );
    }
    // Retry backoff: a failed channel leaves the alert queued with its visibility set to the next delay.
    this.notifier.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:ChangeMessageVisibility'], resources: [this.queue.queueArn] }),
    );

    props.dispatcher.addEnvironment('ALERTS_QUEUE_URL', this.queue.queueUrl);
    props.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    // The alert routes: the webhook secret encrypted on PUT, decrypted for the test route, which also mails.
    props.configFunction.addEnvironment('ALERTS_QUEUE_URL', this.queue.queueUrl);
    // A domain refresh that records verified / failed queues domain.verified / domain.failed.
    props.configFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    this.grantWebhookSecret(props.configFunction, ['kms:Encrypt', 'kms:Decrypt']);
    props.mail.grantSend(props.configFunction);

    const alarm = (alarmId: string, spec: AlarmSpec) => stackAlarm(this, alarmId, spec, props.alarmTopic);
    this.alarms = {
      failedDeliveries: alarm('NotificationFailures', {
        alarmDescription:
          'A tenant alert could not be delivered after all its retries (see the notifier log: channel and reason).',
        metric: new cloudwatch.Metric({
          namespace: props.namespace,
          metricName: 'notificationFailed',
          dimensionsMap: { service: SERVICE_NAMES.notifier },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      deadLetters: alarm(
        'AlertsDeadLetterQueueNotEmpty',
        deadLettersSpec(
          this.deadLetterQueue,
          'Alert messages are in the alerts DLQ (the notifier crashed on them repeatedly).',
        ),
      ),
    };
  }

  /** The project key under the webhook-secret context only (never the SMTP password context). */
  private grantWebhookSecret(grantee: iam.IGrantable, actionsList: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: actionsList,
      resourceArns: [this.keyArn],
      conditions: WEBHOOK_SECRET_CONTEXT_CONDITIONS,
    });
  }
}
