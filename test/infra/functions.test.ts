import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/config-api/routes';
import { MAX_TEST_BUDGET_MS } from '../../functions/config-api/smtp-test';
import { SES_SEND_TENANT_CONDITIONS } from '../../infra/ses';
import { CONFIG_API_TIMEOUT, DISPATCHER_TIMEOUT } from '../../infra/stack';
import {
  actionsOf,
  allowing,
  environmentOf,
  resourcesOf,
  type StatementJson,
  statementsOfRole,
  synthForFile,
} from './synth';

// The functions, the API and SES. One synthesis (cdk.json's context, no bundling) shared by every test.
const { s, r } = synthForFile();

describe('dispatcher', () => {
  it('is a nodejs22.x arm64 function with the ESM bundle', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 360,
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
  });

  it('outlasts the wait for the reply after DATA, what comes before DATA, and the SES fallback', () => {
    // Connect+greeting 10 s, replies before DATA 10 s each, the reply after "." (its own setting, given to
    // the function with its timeout), then the 5 s SES reserve.
    const fn = resourcesOf(s.json, 'AWS::Lambda::Function')[r.id(s.stack.dispatcher)];
    const dataReply = Number(environmentOf(s.json, r.id(s.stack.dispatcher)).DATA_REPLY_TIMEOUT_SECONDS);
    expect(dataReply).toBe(300);
    expect(fn?.Properties?.Timeout as number).toBeGreaterThanOrEqual(dataReply + 10 + 4 * 10 + 5);
    expect(DISPATCHER_TIMEOUT.toSeconds()).toBe(fn?.Properties?.Timeout);
  });

  it('carries the contract settings and Powertools settings, nothing else', () => {
    const vars = environmentOf(s.json, r.id(s.stack.dispatcher));
    expect(vars).toEqual({
      TABLE_NAME: r.ref(s.stack.data.table),
      KMS_KEY_ID: r.arnOf(s.stack.data.passwordKey),
      QUEUE_URL: r.ref(s.stack.mailQueue.queue),
      DLQ_URL: r.ref(s.stack.mailQueue.deadLetterQueue),
      ALERTS_QUEUE_URL: r.ref(s.stack.alerts.queue),
      PLATFORM_FROM_ADDRESS: 'notifications@platform.example',
      PLATFORM_NAME: 'Example Platform',
      SES_CONFIGURATION_SET: r.ref(s.stack.mail.configurationSet),
      MAX_ATTEMPTS: '5',
      HOLD_MAX_AGE_SECONDS: '86400',
      // The SES account of the tenants' SES tenants (docs/design.md §20).
      SES_ARN_PREFIX: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':ses:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
          ],
        ],
      },
      SES_PLATFORM_IDENTITY: expect.any(String),
      SES_REPUTATION_POLICY: 'standard',
      DATA_REPLY_TIMEOUT_SECONDS: '300',
      POWERTOOLS_SERVICE_NAME: 'tenant-mailer-dispatcher',
      POWERTOOLS_METRICS_NAMESPACE: 'TenantMailer',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('consumes the queue in batches of 10 with partial batch responses, a window and a concurrency cap', () => {
    // The dispatcher's, the notifier's (its own alerts queue) and the events function's (SES events).
    s.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: r.arnOf(s.stack.mailQueue.queue),
      FunctionName: r.ref(s.stack.dispatcher),
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const esm = Object.values(resourcesOf(s.json, 'AWS::Lambda::EventSourceMapping')).find(
      (m) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify(r.ref(s.stack.dispatcher)),
    );
    expect(esm?.Properties?.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
  });

  it('may change visibility on its queue and send to the DLQ and the alerts queue, but not publish to its own queue', () => {
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.dispatcher));
    expect(allowing(statements, 'sqs:ChangeMessageVisibility').map((st) => st.Resource)).toContainEqual(
      r.arnOf(s.stack.mailQueue.queue),
    );
    const sendsTo = allowing(statements, 'sqs:SendMessage').flatMap((st) => [st.Resource].flat());
    expect(sendsTo).toHaveLength(2);
    expect(sendsTo).toEqual(
      expect.arrayContaining([r.arnOf(s.stack.mailQueue.deadLetterQueue), r.arnOf(s.stack.alerts.queue)]),
    );
  });

  it('may send through SES for any verified identity of the account and the configuration set, SendEmail only within an SES tenant tm-*', () => {
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.dispatcher));
    const ses = [...allowing(statements, 'ses:SendEmail'), ...allowing(statements, 'ses:SendRawEmail')];
    expect(ses).toHaveLength(2);
    expect(ses.map((st) => actionsOf(st as StatementJson))).toEqual([
      ['ses:SendEmail'],
      ['ses:SendRawEmail'],
    ]);
    expect(ses[0]?.Condition).toEqual(SES_SEND_TENANT_CONDITIONS);
    for (const st of ses) {
      const resources = JSON.stringify(st.Resource);
      expect(resources).toContain(':identity/*');
      expect(resources).toContain(':configuration-set/');
      expect(resources).toContain(`{"Ref":"${r.id(s.stack.mail.configurationSet)}"}`);
    }
  });
});

describe('config API', () => {
  it('has one route per contract route, JWT-authorized except the OpenAPI document', () => {
    const routes = Object.values(resourcesOf(s.json, 'AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties?.RouteKey).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path}`).sort(),
    );
    const authorizerId = r.id(s.stack.api.httpApi.node.findChild('JwtAuthorizer'));
    for (const route of ROUTES) {
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        ...(route.public
          ? { AuthorizationType: 'NONE', AuthorizerId: Match.absent() }
          : { AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } }),
      });
    }
    expect(ROUTES.filter((r) => r.public).map((r) => r.path)).toEqual(['/openapi.json']);
  });

  it('checks JWTs from the Authorization header against the issuer and audience in context', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://auth.platform.example/', Audience: ['tenant-mailer'] },
    });
  });

  it('integrates the config function with payload format 2.0', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: r.arnOf(s.stack.configFunction),
    });
  });

  it('logs access as JSON without headers and throttles the $default stage', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    const [stage] = Object.values(resourcesOf(s.json, 'AWS::ApiGatewayV2::Stage'));
    const format = (stage?.Properties?.AccessLogSettings as { Format?: string } | undefined)?.Format ?? '';
    expect(JSON.parse(format)).toMatchObject({ routeKey: '$context.routeKey', status: '$context.status' });
    expect(format.toLowerCase()).not.toContain('authorization');
  });

  it('gives the config function the test endpoint’s 15 s budget plus room to answer, under the 30 s API limit', () => {
    const fn = resourcesOf(s.json, 'AWS::Lambda::Function')[r.id(s.stack.configFunction)];
    const timeout = fn?.Properties?.Timeout as number;
    expect(timeout).toBe(CONFIG_API_TIMEOUT.toSeconds());
    expect(timeout * 1000).toBeGreaterThan(MAX_TEST_BUDGET_MS + 1_000);
    expect(timeout).toBeLessThan(30);
  });

  it('grants the config function only the alerts queue (domain events) and, of SES, the test alert, the domain routes’ and the SES tenants’ management', () => {
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.configFunction));
    const actions = statements.flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual(['sqs:SendMessage']);
    expect(allowing(statements, 'sqs:SendMessage').map((st) => st.Resource)).toEqual([
      r.arnOf(s.stack.alerts.queue),
    ]);
    expect(actions.filter((a) => a.startsWith('ses:')).sort()).toEqual([
      'ses:CreateEmailIdentity',
      'ses:CreateTenant',
      'ses:CreateTenantResourceAssociation',
      'ses:DeleteEmailIdentity',
      'ses:GetEmailIdentity',
      'ses:GetReputationEntity',
      'ses:GetTenant',
      'ses:PutEmailIdentityMailFromAttributes',
      'ses:SendEmail',
      'ses:SendRawEmail',
      'ses:UpdateReputationEntityPolicy',
    ]);
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'tenant-mailer-config-api' }) },
    });
  });
});

describe('SES', () => {
  it('publishes sends, bounces, complaints and rejects of the configuration set to CloudWatch', () => {
    s.template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: r.ref(s.stack.mail.configurationSet),
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['send', 'bounce', 'complaint', 'reject']),
        CloudWatchDestination: {
          DimensionConfigurations: [
            {
              DimensionName: 'ses:configuration-set',
              DimensionValueSource: 'messageTag',
              DefaultDimensionValue: r.ref(s.stack.mail.configurationSet),
            },
          ],
        },
      },
    });
  });

  it("turns off SES's account-level suppression for the configuration set's sends (tenants keep their own lists)", () => {
    s.template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: [] },
    });
  });

  it('creates the platform identity from context with the configuration set and exports its DKIM records', () => {
    s.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'platform.example',
      ConfigurationSetAttributes: { ConfigurationSetName: r.ref(s.stack.mail.configurationSet) },
    });
    for (const n of [1, 2, 3]) s.template.hasOutput(`DkimRecord${n}`, {});
  });
});

describe('static egress off (default)', () => {
  it('has no VPC, no NAT gateway, no egress output, and functions outside any VPC', () => {
    s.template.resourceCountIs('AWS::EC2::VPC', 0);
    s.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    s.template.resourceCountIs('AWS::EC2::EIP', 0);
    expect(Object.keys(s.template.findOutputs('EgressIp'))).toEqual([]);
    for (const fn of Object.values(resourcesOf(s.json, 'AWS::Lambda::Function'))) {
      expect(fn.Properties?.VpcConfig).toBeUndefined();
    }
  });
});
