import { describe, expect, it } from 'vitest';
import {
  BOUNCE_RATE_ALARM,
  COMPLAINT_RATE_ALARM,
  EVENTS_MAX_RECEIVE_COUNT,
  EVENTS_TIMEOUT,
  RATE_MIN_RECIPIENTS,
} from '../../infra/events';
import { actionsOf, environmentOf, resourcesOf, statementsOf, statementsOfRole, synthForFile } from './synth';

// Delivery events in (docs/design.md §19): configuration set → encrypted SNS topic → raw SQS
// subscription (own DLQ) → the events function; its grants and alarms.
const { s, r } = synthForFile();

describe('SES delivery events', () => {
  it('publish every sending event of the configuration set to an SNS topic encrypted with their own key', () => {
    // Assess
    s.template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: r.ref(s.stack.mail.configurationSet),
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['send', 'delivery', 'bounce', 'complaint', 'reject', 'deliveryDelay'],
        SnsDestination: { TopicARN: r.ref(s.stack.events.topic) },
      },
    });
    const topic = resourcesOf(s.json, 'AWS::SNS::Topic')[r.id(s.stack.events.topic)];
    expect(topic?.Properties?.KmsMasterKeyId).toEqual(r.arnOf(s.stack.events.topicKey));
    // Account-level suppression stays off: each tenant keeps its own list.
    s.template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: [] },
    });
  });

  it('let SES, for this configuration set only, use the key and publish to the topic', () => {
    // Prepare
    const key = resourcesOf(s.json, 'AWS::KMS::Key')[r.id(s.stack.events.topicKey)];
    const keyStatements =
      (key?.Properties?.KeyPolicy as { Statement: Record<string, unknown>[] } | undefined)?.Statement ?? [];
    const topicPolicies = Object.values(resourcesOf(s.json, 'AWS::SNS::TopicPolicy')).filter((p) =>
      JSON.stringify(p.Properties?.Topics).includes(r.id(s.stack.events.topic)),
    );

    // Assess
    const forSes = keyStatements.filter(
      (st) => JSON.stringify(st.Principal) === JSON.stringify({ Service: 'ses.amazonaws.com' }),
    );
    expect(forSes).toHaveLength(1);
    expect(new Set(forSes[0]?.Action as string[])).toEqual(new Set(['kms:GenerateDataKey*', 'kms:Decrypt']));
    expect(JSON.stringify(forSes[0]?.Condition)).toContain('aws:SourceArn');
    expect(key?.Properties?.EnableKeyRotation).toBe(true);
    const publish = topicPolicies
      .flatMap(statementsOf)
      .filter((st) => st.Effect === 'Allow' && actionsOf(st).includes('sns:Publish'));
    expect(publish.some((st) => JSON.stringify(st).includes('ses.amazonaws.com'))).toBe(true);
    expect(publish.every((st) => JSON.stringify(st.Condition ?? {}).includes('AWS:SourceArn'))).toBe(true);
  });

  it('deliver raw to an encrypted queue with its own DLQ, feeding the events function with partial batch responses', () => {
    // Assess
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      TopicArn: r.ref(s.stack.events.topic),
      Endpoint: r.arnOf(s.stack.events.queue),
    });
    const queue = resourcesOf(s.json, 'AWS::SQS::Queue')[r.id(s.stack.events.queue)];
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * EVENTS_TIMEOUT.toSeconds(),
      RedrivePolicy: {
        deadLetterTargetArn: r.arnOf(s.stack.events.deadLetterQueue),
        maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT,
      },
    });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: r.arnOf(s.stack.events.queue),
      FunctionName: r.ref(s.stack.events.handler),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(environmentOf(s.json, r.id(s.stack.events.handler))).toMatchObject({
      TABLE_NAME: r.ref(s.stack.data.table),
      EVENTS_DLQ_URL: r.ref(s.stack.events.deadLetterQueue),
      POWERTOOLS_SERVICE_NAME: 'tenant-mailer-events',
    });
  });

  it('let the events function read and write the table, dead-letter to its own DLQ and queue reputation warnings, nothing more', () => {
    // Prepare
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.events.handler));

    // Assess
    const granted = statements
      .flatMap((st) => actionsOf(st).map((a) => `${a} ${JSON.stringify(st.Resource)}`))
      .filter((a) => !a.startsWith('logs:'));
    expect(
      granted
        .filter((g) => g.startsWith('dynamodb:'))
        .map((g) => g.split(' ')[0])
        .sort(),
    ).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const sendsTo = statements
      .filter((st) => actionsOf(st).includes('sqs:SendMessage'))
      .flatMap((st) => [st.Resource].flat())
      .map((r) => JSON.stringify(r))
      .sort();
    expect(sendsTo).toEqual(
      [r.arnOf(s.stack.events.deadLetterQueue), r.arnOf(s.stack.alerts.queue)]
        .map((a) => JSON.stringify(a))
        .sort(),
    );
    expect(granted.some((g) => g.startsWith('kms:') || g.startsWith('ses:'))).toBe(false);
  });

  it('alarm on its DLQ, its errors, and SES-route bounce and complaint rates over 24 hours', () => {
    // Prepare
    const alarms = resourcesOf(s.json, 'AWS::CloudWatch::Alarm');
    const byId = (construct: Parameters<typeof r.id>[0]) => alarms[r.id(construct)]?.Properties;
    const rateExpression = (props: Record<string, unknown> | undefined) =>
      ((props?.Metrics as { Expression?: string; MetricStat?: { Period: number } }[]) ?? []).filter(
        (m) => m.Expression !== undefined,
      )[0]?.Expression;
    const periods = (props: Record<string, unknown> | undefined) =>
      new Set(
        ((props?.Metrics as { MetricStat?: { Period: number } }[]) ?? []).flatMap((m) =>
          m.MetricStat ? [m.MetricStat.Period] : [],
        ),
      );

    // Assess
    const bounce = byId(s.stack.events.alarms.bounceRate);
    const complaint = byId(s.stack.events.alarms.complaintRate);
    expect(bounce?.Threshold).toBe(BOUNCE_RATE_ALARM);
    expect(complaint?.Threshold).toBe(COMPLAINT_RATE_ALARM);
    expect([BOUNCE_RATE_ALARM, COMPLAINT_RATE_ALARM]).toEqual([0.05, 0.001]);
    for (const props of [bounce, complaint]) {
      expect(props?.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(rateExpression(props)).toContain(`>= ${RATE_MIN_RECIPIENTS}`);
      expect(periods(props)).toEqual(new Set([86_400]));
      expect(JSON.stringify(props?.AlarmActions)).toContain(r.id(s.stack.observability.topic));
    }
    expect(JSON.stringify(bounce?.Metrics)).toContain('SesHardBounces');
    expect(JSON.stringify(complaint?.Metrics)).toContain('SesComplaints');
    expect(JSON.stringify(bounce?.Metrics)).toContain('SesRecipients');
    expect(byId(s.stack.events.alarms.deadLetters)?.Threshold).toBe(0);
    expect(byId(s.stack.events.alarms.errors)?.MetricName).toBe('Errors');
  });
});
