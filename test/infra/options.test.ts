import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformMail } from '../../infra/ses';
import { environmentOf, type Refs, refsOf, type Synthesized, synthMailer, tempOutdir } from './synth';

// One synthesis with every optional context value changed, as `-c key=value` passes them (strings).
let s: Synthesized;
let r: Refs;
const ALLOCATION = 'eipalloc-0123456789abcdef0';

beforeAll(() => {
  s = synthMailer({
    context: {
      stackName: 'MailerStaging',
      deletionProtection: 'false',
      createPlatformIdentity: 'false',
      alarmEmail: '',
      maxConcurrency: '20',
      maxAttempts: '7',
      holdMaxAgeSeconds: '3600',
      logLevel: 'DEBUG',
      jwtAudience: 'tenant-mailer, tenant-mailer-admin',
      apiRateLimit: '10',
      apiBurstLimit: '20',
      egress: 'nat',
      egressAllocationId: ALLOCATION,
    },
  });
  r = refsOf(s);
});

describe('context options', () => {
  it('names the stack from context', () => {
    expect(s.stack.stackName).toBe('MailerStaging');
  });

  it('turns table deletion protection off and lets table and key go with the stack', () => {
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: { DeletionProtectionEnabled: false },
    });
    s.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });

  it('creates no SES identity when it already exists, and exports no DKIM records', () => {
    s.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    s.template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    expect(Object.keys(s.template.findOutputs('DkimRecord1'))).toEqual([]);
  });

  it('subscribes nobody when no alarm email is given', () => {
    // The SES delivery events topic has its queue subscribed, nothing else.
    s.template.resourceCountIs('AWS::SNS::Subscription', 1);
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
  });

  it('applies the concurrency cap, throttling, audiences and settings from context', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Audience: ['tenant-mailer', 'tenant-mailer-admin'] },
    });
    const vars = environmentOf(s.json, r.id(s.stack.dispatcher));
    expect(vars).toMatchObject({
      MAX_ATTEMPTS: '7',
      HOLD_MAX_AGE_SECONDS: '3600',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
  });

  it('sends from an existing Elastic IP allocation instead of a new one', () => {
    s.template.resourceCountIs('AWS::EC2::EIP', 0);
    s.template.hasResourceProperties('AWS::EC2::NatGateway', { AllocationId: ALLOCATION });
    s.template.hasOutput('EgressAllocationId', { Value: ALLOCATION });
    expect(Object.keys(s.template.findOutputs('EgressIp'))).toEqual([]);
  });
});

describe('PlatformMail', () => {
  it('verifies an address identity when the platform identity is an address', () => {
    const stack = new Stack(new App({ outdir: tempOutdir() }));

    const mail = new PlatformMail(stack, 'Ses', {
      identity: 'notifications@platform.example',
      createIdentity: true,
    });

    expect(mail.identityIsDomain).toBe(false);
    Template.fromStack(stack).hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'notifications@platform.example',
    });
  });
});
