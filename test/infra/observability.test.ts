import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../functions/dispatcher/metrics';
import { EVENT_METRICS } from '../../functions/events/metrics';
import { DEFAULT_METRICS_NAMESPACE, SERVICE_NAMES } from '../../infra/metrics';
import { type CfnResourceJson, type Refs, refsOf, resourcesOf, type Synthesized, synthMailer } from './synth';

// One synthesis shared by every test of this file.
let s: Synthesized;
let r: Refs;
let alarms: Record<string, CfnResourceJson>;
const alarm = (name: keyof Synthesized['stack']['observability']['alarms']) => {
  const found = alarms[r.id(s.stack.observability.alarms[name])];
  if (!found) throw new Error(`no alarm ${name}`);
  return found.Properties ?? {};
};

interface MetricStatJson {
  Id: string;
  Expression?: string;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
  };
}

beforeAll(() => {
  s = synthMailer();
  r = refsOf(s);
  alarms = resourcesOf(s.json, 'AWS::CloudWatch::Alarm');
});

describe('alarm topic', () => {
  it('is an SNS topic with TLS enforced and the email from context subscribed', () => {
    // The alarm topic and the SES delivery events topic.
    s.template.resourceCountIs('AWS::SNS::Topic', 2);
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@platform.example',
      TopicArn: { Ref: r.id(s.stack.observability.topic) },
    });
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('receives ALARM and OK from all thirteen alarms (seven of the mail path, two of tenant alerts, four of delivery events), which treat missing data as fine', () => {
    const topic = { Ref: r.id(s.stack.observability.topic) };
    expect(Object.keys(alarms)).toHaveLength(13);
    for (const a of Object.values(alarms)) {
      expect(a.Properties?.AlarmActions).toEqual([topic]);
      expect(a.Properties?.OKActions).toEqual([topic]);
      expect(a.Properties?.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('alarms', () => {
  it('fires as soon as the DLQ holds a message', () => {
    expect(alarm('deadLetterQueue')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [r.id(s.stack.mailQueue.deadLetterQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('fires when SQS has counted a tenant as noisy for 15 minutes (fair queue)', () => {
    expect(alarm('noisyTenant')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfNoisyGroups',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [r.id(s.stack.mailQueue.queue), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('fires on any dispatcher error', () => {
    expect(alarm('dispatcherErrors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: r.id(s.stack.dispatcher) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('fires when the fallback ratio of tenant-routed messages stays above the threshold', () => {
    const props = alarm('fallbackRatio');
    expect(props).toMatchObject({
      Threshold: 0.2,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
    });
    const metrics = props.Metrics as MetricStatJson[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('IF(wanted >= 10, fallbacks / wanted, 0)');
    expect(metrics.find((m) => m.Id === 'wanted')?.MetricStat?.Metric.MetricName).toBe(
      METRICS.tenantRouteWanted.name,
    );
    expect(metrics.find((m) => m.Id === 'fallbacks')?.MetricStat?.Metric.MetricName).toBe(
      METRICS.tenantRouteFallback.name,
    );
  });

  it('fires when several tenants turn unhealthy within an hour', () => {
    const props = alarm('tenantsUnhealthy');
    expect(props).toMatchObject({ Threshold: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const [metric] = props.Metrics as (MetricStatJson & { MetricStat: { Period: number } })[];
    expect(metric?.MetricStat.Metric.MetricName).toBe(METRICS.breakerOpened.name);
    expect(metric?.MetricStat.Period).toBe(3600);
  });

  it.each([
    ['sesBounceRate', 'Bounce', 0.05],
    ['sesComplaintRate', 'Complaint', 0.001],
  ] as const)('%s divides the configuration set %s events by its sends', (name, event, threshold) => {
    const props = alarm(name);
    expect(props).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanThreshold' });
    const metrics = props.Metrics as MetricStatJson[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('IF(sends >= 100, events / sends, 0)');
    const configSet = { Ref: r.id(s.stack.mail.configurationSet) };
    for (const [metricId, metricName] of [
      ['events', event],
      ['sends', 'Send'],
    ]) {
      expect(metrics.find((m) => m.Id === metricId)?.MetricStat?.Metric).toEqual({
        Namespace: 'AWS/SES',
        MetricName: metricName,
        Dimensions: [{ Name: 'ses:configuration-set', Value: configSet }],
      });
    }
  });

  it("reads only the functions' own metrics, each with its exact dimension set", () => {
    // The dispatcher's metrics and the events function's, each under its own service.
    const names = new Map<string, string[]>(
      Object.values(METRICS).map((m) => [m.name, ['service', ...m.dimensions].sort()]),
    );
    const serviceOf = new Map<string, string>(
      Object.values(METRICS).map((m) => [m.name, SERVICE_NAMES.dispatcher]),
    );
    for (const m of Object.values(EVENT_METRICS)) {
      names.set(m.name, ['service', ...m.dimensions].sort());
      serviceOf.set(m.name, SERVICE_NAMES.events);
    }
    const ours = Object.values(alarms)
      .flatMap((a) => (a.Properties?.Metrics as MetricStatJson[] | undefined) ?? [])
      .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
      .filter((m) => m.Namespace === DEFAULT_METRICS_NAMESPACE);
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const m of ours) {
      expect(names.get(m.MetricName)).toEqual(m.Dimensions.map((d) => d.Name).sort());
      expect(m.Dimensions.find((d) => d.Name === 'service')?.Value).toBe(serviceOf.get(m.MetricName));
    }
  });
});

describe('dashboard', () => {
  const body = () => JSON.stringify(Object.values(resourcesOf(s.json, 'AWS::CloudWatch::Dashboard'))[0]);

  it('graphs sent by route, fallbacks by reason, DLQ depth and send latency', () => {
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    s.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'TenantMailer' });
    const text = body();
    for (const [metric, dimension] of [
      [METRICS.sent.name, 'route'],
      [METRICS.fallback.name, 'reason'],
      [METRICS.sendLatency.name, 'route'],
      [METRICS.deadLettered.name, 'reason'],
    ]) {
      expect(text).toContain(`{TenantMailer,service,${dimension}} MetricName=\\\\\\"${metric}\\\\\\"`);
    }
    expect(text).toContain('ApproximateNumberOfMessagesVisible');
    expect(text).toContain(r.id(s.stack.mailQueue.deadLetterQueue));
    expect(text).toContain('ApproximateNumberOfNoisyGroups');
    expect(text).toContain('ApproximateAgeOfOldestMessageInQuietGroups');
  });
});
