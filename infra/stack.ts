import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { DEFAULT_DATA_REPLY_TIMEOUT_SECONDS } from '../functions/settings';
import { TenantAlerts } from './alerts';
import type { MailerConfig } from './config';
import { ConfigApi } from './config-api';
import { StaticEgress } from './egress';
import { DeliveryEvents } from './events';
import { bundledFunction, settingsEnvironment } from './lambda';
import { MailQueue } from './mail-queue';
import { DEFAULT_METRICS_NAMESPACE, SERVICE_NAMES } from './metrics';
import { MailerObservability } from './observability';
import { PlatformMail } from './ses';
import { MailerData } from './storage';

/** The wait for a tenant server's reply after DATA's final "." (DATA_REPLY_TIMEOUT_SECONDS). */
export const DATA_REPLY_TIMEOUT = Duration.seconds(DEFAULT_DATA_REPLY_TIMEOUT_SECONDS);
/**
 * Time before DATA (connect + greeting 10 s, then replies of up to 10 s each) plus the 5 s SES reserve:
 * the first message of a batch always has its whole reply wait (docs/design.md §11 Timeouts).
 */
export const BEFORE_DATA_AND_SES_RESERVE = Duration.seconds(60);
/** Dispatcher timeout: the reply wait after DATA plus what comes before it and the SES reserve. */
export const DISPATCHER_TIMEOUT = Duration.seconds(
  DATA_REPLY_TIMEOUT.toSeconds() + BEFORE_DATA_AND_SES_RESERVE.toSeconds(),
);
/** Waits up to this long to fill a batch: fuller batches share tenant pools, at a small latency cost. */
export const BATCHING_WINDOW = Duration.seconds(2);
export const BATCH_SIZE = 10;
/** Lambda's SQS guidance: at least six times the function timeout, plus the batching window. */
export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(
  6 * DISPATCHER_TIMEOUT.toSeconds() + BATCHING_WINDOW.toSeconds(),
);
/** The test endpoint's own budget is 15 s (docs/design.md §11 Timeouts); HTTP API integrations stop at 30 s. */
export const CONFIG_API_TIMEOUT = Duration.seconds(20);

/** The item-level DynamoDB actions both functions use (their adapters issue Get, Put, Update, Query). */
const TABLE_ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

/** The dispatcher's: plus BatchGetItem, its one suppression lookup per batch (docs/design.md §19). */
export const DISPATCHER_TABLE_ACTIONS = [...TABLE_ITEM_ACTIONS, 'dynamodb:BatchGetItem'];

/** The config API's: plus DeleteItem (releasing a sender domain, deleting a suppression). */
export const CONFIG_API_TABLE_ACTIONS = [...TABLE_ITEM_ACTIONS, 'dynamodb:DeleteItem'];

export interface TenantMailerStackProps extends StackProps {
  config: MailerConfig;
}

/** Everything tenant-mailer runs on in one account and region. */
export class TenantMailerStack extends Stack {
  readonly data: MailerData;
  readonly mailQueue: MailQueue;
  readonly mail: PlatformMail;
  readonly egress: StaticEgress | undefined;
  readonly dispatcher: NodejsFunction;
  readonly configFunction: NodejsFunction;
  readonly api: ConfigApi;
  readonly observability: MailerObservability;
  readonly alerts: TenantAlerts;
  readonly events: DeliveryEvents;

  constructor(scope: Construct, id: string, props: TenantMailerStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.data = new MailerData(this, 'Data', { deletionProtection: config.deletionProtection });
    this.mailQueue = new MailQueue(this, 'Mail', { visibilityTimeout: QUEUE_VISIBILITY_TIMEOUT });
    this.mail = new PlatformMail(this, 'Ses', {
      identity: config.platformIdentity,
      createIdentity: config.createPlatformIdentity,
    });
    this.egress =
      config.egress === 'nat'
        ? new StaticEgress(this, 'Egress', { allocationId: config.egressAllocationId })
        : undefined;

    const settings = {
      tableName: this.data.table.tableName,
      kmsKeyId: this.data.passwordKey.keyArn,
      queueUrl: this.mailQueue.queue.queueUrl,
      dlqUrl: this.mailQueue.deadLetterQueue.queueUrl,
      sesConfigurationSet: this.mail.configurationSet.configurationSetName,
    };

    // SES tenants and domain identities live in this account (docs/design.md §20): the config API
    // manages them, the dispatcher sends through each tenant's SES tenant.
    const sesAccount = {
      SES_ARN_PREFIX: `arn:${this.partition}:ses:${this.region}:${this.account}:`,
      SES_PLATFORM_IDENTITY: config.platformIdentity,
    };
    this.dispatcher = bundledFunction(this, 'Dispatcher', {
      entry: 'functions/dispatcher/handler.ts',
      description: 'tenant-mailer dispatcher: SQS batches to tenant SMTP or SES',
      timeout: DISPATCHER_TIMEOUT,
      memorySize: 512,
      environment: {
        ...settingsEnvironment(config, settings, SERVICE_NAMES.dispatcher),
        ...sesAccount,
        // The timeout above was computed from it: the two are set together.
        DATA_REPLY_TIMEOUT_SECONDS: String(DATA_REPLY_TIMEOUT.toSeconds()),
      },
      network: this.egress?.network,
    });
    this.dispatcher.addEventSource(
      new SqsEventSource(this.mailQueue.queue, {
        batchSize: BATCH_SIZE,
        maxBatchingWindow: BATCHING_WINDOW,
        reportBatchItemFailures: true,
        maxConcurrency: config.maxConcurrency,
      }),
    );
    this.data.table.grant(this.dispatcher, ...DISPATCHER_TABLE_ACTIONS);
    this.data.grantPasswordKey(this.dispatcher, ['kms:Decrypt']);
    // OAuth2 logins: decrypt the client secret and refresh token; encrypt a rotated refresh token.
    this.data.grantPasswordKey(this.dispatcher, ['kms:Decrypt', 'kms:Encrypt'], 'smtp-oauth');
    // Retry backoff: the handler shortens a failed message's visibility itself.
    this.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ChangeMessageVisibility'],
        resources: [this.mailQueue.queue.queueArn],
      }),
    );
    // The handler dead-letters with a reason (validation, undeliverable, held-expired, idempotency-conflict): SendMessage only
    // (grantSendMessages would add GetQueueAttributes and GetQueueUrl, which the handler never calls).
    this.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [this.mailQueue.deadLetterQueue.queueArn],
      }),
    );
    this.mail.grantSend(this.dispatcher);
    this.mail.grantSesTenants(this.dispatcher);
    this.mail.grantReadIdentities(this.dispatcher);

    this.configFunction = bundledFunction(this, 'ConfigApiFunction', {
      entry: 'functions/config-api/handler.ts',
      description: 'tenant-mailer config API',
      timeout: CONFIG_API_TIMEOUT,
      memorySize: 512,
      environment: { ...settingsEnvironment(config, settings, SERVICE_NAMES.configApi), ...sesAccount },
      network: this.egress?.network,
    });
    this.data.table.grant(this.configFunction, ...CONFIG_API_TABLE_ACTIONS);
    // Encrypt on PUT; Decrypt only for the test endpoint's stored password.
    this.data.grantPasswordKey(this.configFunction, ['kms:Encrypt', 'kms:Decrypt']);
    // The same for OAuth2 client secrets and refresh tokens (a test may store a rotated one back).
    this.data.grantPasswordKey(this.configFunction, ['kms:Encrypt', 'kms:Decrypt'], 'smtp-oauth');
    this.mail.grantManageDomains(this.configFunction);

    this.api = new ConfigApi(this, 'ConfigApi', {
      handler: this.configFunction,
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
    });

    this.observability = new MailerObservability(this, 'Observability', {
      namespace: DEFAULT_METRICS_NAMESPACE,
      alarmEmail: config.alarmEmail,
      fallbackRatioThreshold: config.fallbackRatioThreshold,
      unhealthyTenantsThreshold: config.unhealthyTenantsThreshold,
      dispatcher: this.dispatcher,
      queue: this.mailQueue.queue,
      deadLetterQueue: this.mailQueue.deadLetterQueue,
      mail: this.mail,
    });
    this.alerts = new TenantAlerts(this, 'Alerts', {
      config,
      settings,
      data: this.data,
      mail: this.mail,
      dispatcher: this.dispatcher,
      configFunction: this.configFunction,
      namespace: DEFAULT_METRICS_NAMESPACE,
      alarmTopic: this.observability.topic,
      network: this.egress?.network,
    });
    // Alert emails about a tenant go through its SES tenant, made on first need (docs/design.md §20).
    for (const [name, value] of Object.entries(sesAccount)) this.alerts.notifier.addEnvironment(name, value);
    this.mail.grantSesTenants(this.alerts.notifier);

    this.events = new DeliveryEvents(this, 'DeliveryEvents', {
      config,
      alertsQueue: this.alerts.queue,
      data: this.data,
      mail: this.mail,
      alarmTopic: this.observability.topic,
    });

    this.addOutputs();
  }

  private addOutputs(): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out('ApiUrl', this.api.url, 'Config API base URL');
    out('QueueUrl', this.mailQueue.queue.queueUrl, 'Producers send messages here');
    out('QueueArn', this.mailQueue.queue.queueArn, 'Mail queue ARN');
    out('DeadLetterQueueUrl', this.mailQueue.deadLetterQueue.queueUrl, 'Dead-letter queue');
    out('ProducerPolicyArn', this.mailQueue.producerPolicy.managedPolicyArn, 'Attach to producer roles');
    out('TableName', this.data.table.tableName, 'DynamoDB table');
    out('SesConfigurationSet', this.mail.configurationSet.configurationSetName, 'SES configuration set');
    out('AlarmTopicArn', this.observability.topic.topicArn, 'Alarm notifications');
    out(
      'EventsDeadLetterQueueUrl',
      this.events.deadLetterQueue.queueUrl,
      'SES delivery events not used, with their reason',
    );
    out(
      'AlertsDeadLetterQueueUrl',
      this.alerts.deadLetterQueue.queueUrl,
      'Tenant alerts the notifier gave up on',
    );
    if (this.egress) {
      out('EgressAllocationId', this.egress.allocationId, 'Elastic IP allocation of the static egress');
      if (this.egress.elasticIp) {
        out('EgressIp', this.egress.elasticIp.attrPublicIp, 'Tenants allowlist this address for SMTP');
      }
    }
    if (this.mail.identity && this.mail.identityIsDomain) {
      this.mail.identity.dkimRecords.forEach((record, i) => {
        out(
          `DkimRecord${i + 1}`,
          `${record.name} CNAME ${record.value}`,
          'Publish in DNS to verify the domain',
        );
      });
    }
  }
}
