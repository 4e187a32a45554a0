import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_SECRET_CONTEXT_CONDITIONS } from '../../infra/alerts';
import { tableDefinition } from '../../infra/local/table';
import { MAX_RECEIVE_COUNT, MailQueue } from '../../infra/mail-queue';
import { QUEUE_VISIBILITY_TIMEOUT } from '../../infra/stack';
import { SMTP_OAUTH_CONTEXT_CONDITIONS, SMTP_PASSWORD_CONTEXT_CONDITIONS } from '../../infra/storage';
import {
  actionsOf,
  allowing,
  resourcesOf,
  type StatementJson,
  statementsOf,
  statementsOfRole,
  synthForFile,
  tempOutdir,
} from './synth';

// Storage and queueing resources. One synthesis (cdk.json's context, no bundling) shared by every test.
const { s, r } = synthForFile();

describe('DynamoDB table', () => {
  it('has pk/sk strings, on-demand billing, TTL on expiresAt, PITR, encryption and deletion protection', () => {
    // The local stack creates its table from the same definition (infra/local/table.ts).
    const { KeySchema, AttributeDefinitions, BillingMode } = tableDefinition('any');
    expect(KeySchema?.map((k) => k.AttributeName)).toEqual(['pk', 'sk']);
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema,
        AttributeDefinitions,
        BillingMode,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: Match.absent(),
      },
    });
  });

  it('gives both functions item-level actions only, never Scan or batch writes', () => {
    // Only the config API deletes (a released domain's OWNER item); the dispatcher never does. Only the
    // dispatcher batch-reads (its one suppression lookup per batch); nobody batch-writes.
    const expected = new Map([
      [
        s.stack.dispatcher,
        [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
      ],
      [
        s.stack.configFunction,
        [
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
      ],
    ]);
    for (const [fn, actions] of expected) {
      const statements = statementsOfRole(s.json, r.roleOf(fn));
      const dynamo = statements.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
      expect(dynamo.sort()).toEqual(actions);
      expect(allowing(statements, 'dynamodb:GetItem')[0]?.Resource).toEqual(r.arnOf(s.stack.data.table));
    }
  });
});

describe('KMS key for SMTP passwords', () => {
  it('rotates', () => {
    s.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  /** A role's KMS statements by the purpose their condition names. */
  function kmsByPurpose(role: ReturnType<typeof r.roleOf>) {
    const statements = statementsOfRole(s.json, role);
    const kms = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    const purpose = (st: StatementJson) =>
      (st.Condition as { StringEquals?: Record<string, string> } | undefined)?.StringEquals?.[
        'kms:EncryptionContext:purpose'
      ];
    return { kms, of: (p: string) => kms.filter((st) => purpose(st) === p) };
  }

  it('lets the dispatcher Decrypt only passwords, and Decrypt and Encrypt OAuth2 secrets (rotated refresh tokens)', () => {
    const { kms, of } = kmsByPurpose(r.roleOf(s.stack.dispatcher));
    expect(kms).toHaveLength(2);
    const [password] = of('smtp-password');
    expect(actionsOf(password as StatementJson)).toEqual(['kms:Decrypt']);
    expect(password?.Resource).toEqual(r.arnOf(s.stack.data.passwordKey));
    expect(password?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:purpose': 'smtp-password' },
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'purpose'] },
      Null: { 'kms:EncryptionContext:tenantId': 'false' },
    });
    const [oauth] = of('smtp-oauth');
    expect(actionsOf(oauth as StatementJson).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
    expect(oauth?.Condition).toEqual(SMTP_OAUTH_CONTEXT_CONDITIONS);
  });

  it('lets the config API Encrypt and Decrypt under the same conditions', () => {
    const { kms, of } = kmsByPurpose(r.roleOf(s.stack.configFunction));
    expect(kms).toHaveLength(3);
    for (const [purpose, conditions] of [
      ['smtp-password', SMTP_PASSWORD_CONTEXT_CONDITIONS],
      ['smtp-oauth', SMTP_OAUTH_CONTEXT_CONDITIONS],
      ['webhook-secret', WEBHOOK_SECRET_CONTEXT_CONDITIONS],
    ] as const) {
      const [st] = of(purpose);
      expect(actionsOf(st as StatementJson).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
      expect(st?.Condition).toEqual(conditions);
    }
  });

  it('grants no KMS action anywhere without the encryption-context conditions', () => {
    const all = Object.values(resourcesOf(s.json, 'AWS::IAM::Policy')).flatMap(statementsOf);
    const kms = all.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    expect(kms.length).toBeGreaterThan(0);
    for (const st of kms) {
      expect([
        SMTP_PASSWORD_CONTEXT_CONDITIONS,
        SMTP_OAUTH_CONTEXT_CONDITIONS,
        WEBHOOK_SECRET_CONTEXT_CONDITIONS,
      ]).toContainEqual(st.Condition);
    }
  });

  it('lets the notifier only Decrypt, and only webhook secrets', () => {
    const statements = statementsOfRole(s.json, r.roleOf(s.stack.alerts.notifier));
    const kms = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    expect(kms.map((st) => [actionsOf(st), st.Condition])).toEqual([
      [['kms:Decrypt'], WEBHOOK_SECRET_CONTEXT_CONDITIONS],
    ]);
  });
});

describe('SQS queue and DLQ', () => {
  it('encrypts every queue; the mail queue redrives after 50 receives, the alerts queue after 20, the events queue after 10', () => {
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: r.arnOf(s.stack.mailQueue.deadLetterQueue), maxReceiveCount: 50 },
    });
    expect(MAX_RECEIVE_COUNT).toBe(50);
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: r.arnOf(s.stack.alerts.deadLetterQueue), maxReceiveCount: 20 },
    });
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: r.arnOf(s.stack.events.deadLetterQueue), maxReceiveCount: 10 },
    });
    // Mail, alerts and SES events, each with its DLQ.
    const queues = Object.values(resourcesOf(s.json, 'AWS::SQS::Queue'));
    expect(queues).toHaveLength(6);
    for (const q of queues) expect(q.Properties?.SqsManagedSseEnabled).toBe(true);
  });

  it('sets the visibility timeout to at least six times the dispatcher timeout', () => {
    const queue = resourcesOf(s.json, 'AWS::SQS::Queue')[r.id(s.stack.mailQueue.queue)];
    const fn = resourcesOf(s.json, 'AWS::Lambda::Function')[r.id(s.stack.dispatcher)];
    const visibility = queue?.Properties?.VisibilityTimeout as number;
    expect(visibility).toBe(QUEUE_VISIBILITY_TIMEOUT.toSeconds());
    expect(visibility).toBeGreaterThanOrEqual(6 * (fn?.Properties?.Timeout as number));
  });

  it('refuses non-TLS access on both queues', () => {
    for (const queue of [s.stack.mailQueue.queue, s.stack.mailQueue.deadLetterQueue]) {
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [r.ref(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('exports a producer policy that only publishes to the mail queue', () => {
    const policies = Object.values(resourcesOf(s.json, 'AWS::IAM::ManagedPolicy'));
    expect(policies).toHaveLength(1);
    const statements = policies.flatMap(statementsOf);
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0] as StatementJson).sort()).toEqual([
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    expect(statements[0]?.Resource).toEqual(r.arnOf(s.stack.mailQueue.queue));
    s.template.hasOutput('ProducerPolicyArn', { Value: r.ref(s.stack.mailQueue.producerPolicy) });
    s.template.hasOutput('QueueUrl', { Value: r.ref(s.stack.mailQueue.queue) });
  });

  it('grantEnqueue gives a producer SendMessage on the queue and nothing to consume', () => {
    const stack = new Stack(new App({ outdir: tempOutdir() }));
    const mq = new MailQueue(stack, 'Mail', { visibilityTimeout: QUEUE_VISIBILITY_TIMEOUT });
    const role = new iam.Role(stack, 'Producer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    mq.grantEnqueue(role);

    const json = Template.fromStack(stack).toJSON();
    const actions = statementsOfRole(json, stack.getLogicalId(role.node.defaultChild as CfnElement)).flatMap(
      actionsOf,
    );
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).not.toContain('sqs:ReceiveMessage');
    expect(actions).not.toContain('sqs:DeleteMessage');
  });
});
