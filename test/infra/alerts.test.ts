import { describe, expect, it } from 'vitest';
import { ALERTS_MAX_RECEIVE_COUNT, NOTIFIER_TIMEOUT } from '../../infra/alerts';
import {
  actionsOf,
  allowing,
  environmentOf,
  refsOf,
  resourcesOf,
  statementsOfRole,
  synthForFile,
  synthMailer,
} from './synth';

// Tenant alerts (docs/design.md §18): their queue, the notifier, its grants and its alarms.
const { s, r } = synthForFile();

describe('tenant alerts', () => {
  it('queue alerts on their own encrypted queue, redriven to their own DLQ, kept past every retry', () => {
    // Assess
    const queue = resourcesOf(s.json, 'AWS::SQS::Queue')[r.id(s.stack.alerts.queue)];
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * NOTIFIER_TIMEOUT.toSeconds(),
      RedrivePolicy: {
        deadLetterTargetArn: r.arnOf(s.stack.alerts.deadLetterQueue),
        maxReceiveCount: ALERTS_MAX_RECEIVE_COUNT,
      },
    });
    // 1 min + 5 min + 30 min + 2 h + 6 h of retries fit well inside the retention.
    expect(queue?.Properties?.MessageRetentionPeriod as number).toBeGreaterThan(9 * 3600);
  });

  it('run the notifier from that queue with partial batch responses and the alerts settings', () => {
    // Assess
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: r.arnOf(s.stack.alerts.queue),
      FunctionName: r.ref(s.stack.alerts.notifier),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const vars = environmentOf(s.json, r.id(s.stack.alerts.notifier));
    expect(vars).toMatchObject({
      ALERTS_QUEUE_URL: r.ref(s.stack.alerts.queue),
      POWERTOOLS_SERVICE_NAME: 'tenant-mailer-notifier',
    });
    expect(vars.TENANT_SMTP_ALLOW_PRIVATE).toBeUndefined();
    expect(vars.PLATFORM_WEBHOOK_URL).toBeUndefined();
    expect(environmentOf(s.json, r.id(s.stack.configFunction)).ALERTS_QUEUE_URL).toEqual(
      r.ref(s.stack.alerts.queue),
    );
  });

  it("let the notifier read and log in the table, mail through SES (making the tenant's SES tenant) and back off on its own queue only", () => {
    // Assess
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.alerts.notifier));
    const actions = statements.flatMap(actionsOf).filter((a) => !a.startsWith('logs:'));
    expect(new Set(actions)).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'kms:Decrypt',
        'ses:SendEmail',
        'ses:SendRawEmail',
        'ses:CreateTenant',
        'ses:CreateTenantResourceAssociation',
        'ses:UpdateReputationEntityPolicy',
        'sqs:ChangeMessageVisibility',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ]),
    );
    expect(allowing(statements, 'sqs:ChangeMessageVisibility').map((st) => st.Resource)).toEqual([
      r.arnOf(s.stack.alerts.queue),
    ]);
    expect(JSON.stringify(allowing(statements, 'ses:CreateTenant').map((st) => st.Resource))).toContain(
      'tenant/tm-*',
    );
    expect(environmentOf(s.json, r.id(s.stack.alerts.notifier)).SES_ARN_PREFIX).toBeDefined();
  });

  it('alarm on a failed delivery and on anything in the alerts DLQ', () => {
    // Assess
    const alarms = Object.values(resourcesOf(s.json, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'notificationFailed',
        Namespace: 'TenantMailer',
        Dimensions: [{ Name: 'service', Value: 'tenant-mailer-notifier' }],
        Threshold: 1,
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [r.id(s.stack.alerts.deadLetterQueue), 'QueueName'] } },
        ],
      }),
    );
  });

  it('pass the platform channel to the notifier when both props are set, and refuse one alone', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ops-webhook-AbCdEf';
    const context = {
      platformWebhookUrl: 'https://ops.platform.example/alerts',
      platformWebhookSecretArn: arn,
    };

    // Act
    const withChannel = synthMailer({ context });
    const vars = environmentOf(withChannel.json, refsOf(withChannel).id(withChannel.stack.alerts.notifier));

    // Assess
    expect(vars).toMatchObject({
      PLATFORM_WEBHOOK_URL: context.platformWebhookUrl,
      PLATFORM_WEBHOOK_SECRET_ARN: arn,
    });
    expect(() => synthMailer({ context: { platformWebhookUrl: context.platformWebhookUrl } })).toThrow(
      /go together/,
    );
  });
});
