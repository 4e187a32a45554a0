/**
 * Least privilege, proven: the AWS actions each Lambda's code calls are exactly the ones its role grants.
 *
 * How the calls are found: this file runs the whole local stack in its own process (`startLocalStack`,
 * what `npm start` runs: dynalite, fauxqs, aws-ses-v2-local, the KMS stand-in, maildev, the config API
 * behind the local HTTP API gateway, the SQS poller feeding the dispatcher) and drives every path of
 * both functions through their real Lambda handlers, which build their own SDK clients as in AWS. A
 * recorder (test/support/aws-calls.ts) puts a middleware on every SDK client and attributes each call to
 * the function whose invocation made it (each handler runs in its own AsyncLocalStorage scope; calls of
 * the stack's own clients stay outside). The run happens here rather than being collected from the other
 * suites: vitest runs files in parallel processes in no fixed order, so recordings merged across files
 * would depend on which files ran, and a file run alone would have none. Here the proof always rests on
 * a full run made in the same `npm test`, and adding a path to a function means adding it below. A new
 * function: wrap its handler like the two below, add its construct id to FUNCTIONS and its paths to
 * exerciseFunctions; a new SDK command anywhere in functions/ must be reached by that run.
 *
 * What is compared with the synthesized template (both egress variants): every call is allowed by a
 * statement of the function's role on the resource it acts on, under the statement's conditions
 * evaluated on the real request (the KMS encryption context: docs/design.md §8 KMS); every grant is used
 * by a call or listed in test/infra/iam-allowlist.ts with the reason it stays (docs/design.md §14
 * Security rules).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProducer } from '../../functions/producer';
import { WEBHOOK_SECRET_CONTEXT_CONDITIONS } from '../../infra/alerts';
import { REPO_ROOT } from '../../infra/lambda';
import { DEFAULT_PORTS, freePort } from '../../infra/local/ports';
import { LOCAL_WEBHOOK_SECRET, type LocalStack, startLocalStack } from '../../infra/local/stack';
import { SES_SEND_TENANT_CONDITIONS } from '../../infra/ses';
import { SMTP_OAUTH_CONTEXT_CONDITIONS, SMTP_PASSWORD_CONTEXT_CONDITIONS } from '../../infra/storage';
import { type AwsCall, recordAwsCalls } from '../support/aws-calls';
import { conditionHolds, permissionsOf, type ResourceKind, type TargetOf } from '../support/iam';
import { callApi, eventually } from '../support/local-stack';
import { sdkCommandsIn } from '../support/sdk-commands';
import { IAM_ALLOWLIST } from './iam-allowlist';
import { grantsOf, roleStatements, type StackResources, stackResources } from './role-grants';
import { actionsOf, type Synthesized, synthMailer } from './synth';

// The real handlers, each invocation in its function's recording scope (named by its construct id).
vi.mock('../../functions/dispatcher/handler', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../functions/dispatcher/handler')>();
  const { recordAwsCalls } = await import('../support/aws-calls');
  const { within } = recordAwsCalls();
  return {
    handler: (...args: Parameters<typeof real.handler>) => within('Dispatcher', () => real.handler(...args)),
  };
});
vi.mock('../../functions/config-api/handler', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../functions/config-api/handler')>();
  const { recordAwsCalls } = await import('../support/aws-calls');
  const { within } = recordAwsCalls();
  return {
    handler: (...args: Parameters<typeof real.handler>) =>
      within('ConfigApiFunction', () => real.handler(...args)),
  };
});

vi.mock('../../functions/notifier/handler', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../functions/notifier/handler')>();
  const { recordAwsCalls } = await import('../support/aws-calls');
  const { within } = recordAwsCalls();
  return {
    handler: (...args: Parameters<typeof real.handler>) => within('Notifier', () => real.handler(...args)),
  };
});

vi.mock('../../functions/events/handler', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../functions/events/handler')>();
  const { recordAwsCalls } = await import('../support/aws-calls');
  const { within } = recordAwsCalls();
  return {
    handler: (...args: Parameters<typeof real.handler>) => within('Events', () => real.handler(...args)),
  };
});

const FUNCTIONS = ['Dispatcher', 'ConfigApiFunction', 'Notifier', 'Events'];
const recorder = recordAwsCalls();
const dir = mkdtempSync(join(tmpdir(), 'tenant-mailer-iam-'));
let stack: LocalStack;
let targetOf: TargetOf;
const variants: Array<{ name: string; s: Synthesized; resources: StackResources }> = [];

const called = (fn: string, action: string) => () =>
  Promise.resolve(
    recorder.calls.some((c) => c.fn === fn && `${c.service}:${c.operation}` === action) || undefined,
  );

beforeAll(async () => {
  // As in AWS, the dispatcher names the configuration set (SES authorizes the send on it too).
  vi.stubEnv('SES_CONFIGURATION_SET', 'tenant-mailer-local');
  const ports = Object.values(DEFAULT_PORTS).map((spec) => [spec.env, '0']);
  stack = await startLocalStack({
    dir,
    // The handlers must run here, where the recorder and the mocks above are.
    inProcess: true,
    env: Object.fromEntries([...ports, ['TENANT_SMTP_ALLOW_PRIVATE', '1']]),
  });
  const { info } = stack;
  const targets = new Map<string | undefined, ResourceKind>([
    [info.tableName, 'table'],
    [process.env.KMS_KEY_ID, 'passwordKey'],
    [info.queueUrl, 'queue'],
    [info.dlqUrl, 'deadLetterQueue'],
    [process.env.ALERTS_QUEUE_URL, 'alertsQueue'],
    [process.env.PLATFORM_WEBHOOK_SECRET_ARN, 'platformWebhookSecret'],
    [info.eventsQueueUrl, 'eventsQueue'],
    [info.eventsDlqUrl, 'eventsDeadLetterQueue'],
  ]);
  targetOf = (target) => targets.get(target);
  await exerciseFunctions(stack);
  // The platform operators' webhook is on, as locally (its secret read from Secrets Manager).
  const platform = {
    platformWebhookUrl: 'https://ops.platform.example/alerts',
    platformWebhookSecretArn:
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:tm/platform-webhook-AbCdEf',
  };
  for (const [name, context] of [
    ['egress none', platform],
    ['egress nat', { ...platform, egress: 'nat' }],
  ] as const) {
    const s = synthMailer({ context });
    variants.push({ name, s, resources: stackResources(s) });
  }
}, 150_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every path of both functions that reaches AWS: configs, test send, domain claim, sends, DLQ, hold. */
async function exerciseFunctions(local: LocalStack): Promise<void> {
  const { info } = local;
  const api = <T>(method: string, path: string, body?: unknown) =>
    callApi<T>(info, info.adminToken, method, path, body);
  const { host, port, username, password } = info.mailboxSmtp;
  const smtp = { host, port, security: 'none', username, password, fromAddress: 'mail@lp-smtp.example' };
  const closed = await freePort();
  const answers = [
    await api('PUT', '/tenants/lp-smtp/sender', { mode: 'smtp', fallback: 'platform', smtp }),
    await api('GET', '/tenants/lp-smtp/sender'),
    await api('POST', '/tenants/lp-smtp/sender/test', {}),
    await api('PUT', '/tenants/lp-hold/sender', {
      mode: 'smtp',
      fallback: 'hold',
      smtp: { ...smtp, port: closed, fromAddress: 'mail@lp-hold.example' },
    }),
    // Domain routes: the SES tenant, its associations, the identity and its MAIL FROM; verified (as DNS
    // would) and refreshed; domain mode on it, then off; the identity deleted.
    await api('PUT', '/tenants/lp-domain/domains/lp-domain.example'),
    await fetch(`${info.endpoints.sesv2}/_local/identities/lp-domain.example/verify`, { method: 'POST' }),
    await api('GET', '/tenants/lp-domain/domains/lp-domain.example'),
    await api('GET', '/tenants/lp-domain/domains'),
    await api('PUT', '/tenants/lp-domain/sender', {
      mode: 'domain',
      domain: { name: 'lp-domain.example', fromAddress: 'mail@lp-domain.example' },
    }),
    await api('DELETE', '/tenants/lp-domain/sender'),
    await api('DELETE', '/tenants/lp-domain/domains/lp-domain.example'),
    // A domain SES stops accepting after the sender took it (lp-lapsed): the dispatcher reads the claim
    // and the identity's verification, records the failure and queues domain.failed.
    await api('PUT', '/tenants/lp-lapsed/domains/lp-lapsed.example'),
    await fetch(`${info.endpoints.sesv2}/_local/identities/lp-lapsed.example/verify`, { method: 'POST' }),
    await api('PUT', '/tenants/lp-lapsed/sender', {
      mode: 'domain',
      domain: { name: 'lp-lapsed.example', fromAddress: 'mail@lp-lapsed.example' },
    }),
    await fetch(`${info.endpoints.sesv2}/_local/identities/lp-lapsed.example/fail`, { method: 'POST' }),
    // The admin SES tenant routes: the tenant's standing and its reputation policy.
    await api('PUT', '/tenants/lp-domain/ses', { reputationPolicy: 'strict' }),
    await api('GET', '/tenants/lp-domain/ses'),
  ];
  expect(answers.map((a) => a.status)).toEqual([
    200, 200, 200, 200, 201, 200, 200, 200, 200, 204, 204, 201, 200, 200, 200, 200, 200,
  ]);
  // Tenant alerts: settings (webhook secret encrypted), a test to both channels, the log; lp-alert's
  // server refuses its login, so its breaker opens and the notifier delivers; lp-alert-down's webhook
  // does not answer, so the notifier backs off.
  const hook = { url: info.webhookUrl, secret: LOCAL_WEBHOOK_SECRET };
  const alertAnswers = [
    await api('PUT', '/tenants/lp-alert/notifications', { emails: ['ops@lp-alert.example'], webhook: hook }),
    await api('POST', '/tenants/lp-alert/notifications/test'),
    await api('GET', '/tenants/lp-alert/notifications/log'),
    await api('PUT', '/tenants/lp-alert/sender', {
      mode: 'smtp',
      smtp: { ...smtp, password: 'an-outdated-password', fromAddress: 'mail@lp-alert.example' },
    }),
    await api('PUT', '/tenants/lp-alert-down/notifications', {
      emails: [],
      webhook: { url: `http://127.0.0.1:${closed}/hooks`, secret: LOCAL_WEBHOOK_SECRET },
    }),
    await api('PUT', '/tenants/lp-alert-down/sender', {
      mode: 'smtp',
      smtp: { ...smtp, password: 'an-outdated-password', fromAddress: 'mail@lp-alert-down.example' },
    }),
    // lp-alert-hold never falls back (hold policy): the alert email is its first SES send, so the
    // notifier makes its SES tenant.
    await api('PUT', '/tenants/lp-alert-hold/notifications', { emails: ['ops@lp-alert-hold.example'] }),
    await api('PUT', '/tenants/lp-alert-hold/sender', {
      mode: 'smtp',
      fallback: 'hold',
      smtp: { ...smtp, password: 'an-outdated-password', fromAddress: 'mail@lp-alert-hold.example' },
    }),
    await api('PUT', '/tenants/lp-gone/notifications', { emails: ['ops@lp-gone.example'] }),
    await api('DELETE', '/tenants/lp-gone/notifications'),
  ];
  expect(alertAnswers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 204]);

  const sqs = new SQSClient({
    endpoint: info.endpoints.sqs,
    region: info.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    useQueueUrlAsEndpoint: false,
  });
  try {
    const producer = createProducer({ sqs, queueUrl: info.queueUrl });
    const mail = (tenantId: string) => ({
      v: 1 as const,
      tenantId,
      to: 'someone@customer.example',
      subject: `least privilege ${tenantId}`,
      text: 'A run of the function for the IAM comparison.',
      idempotencyKey: `lp-${tenantId}`,
    });
    for (const tenantId of [
      'lp-smtp',
      'lp-platform',
      'lp-hold',
      'lp-alert',
      'lp-alert-down',
      'lp-alert-hold',
      'lp-lapsed',
    ]) {
      await producer.enqueue(mail(tenantId));
    }
    // SES delivery events (docs/design.md §19): the mailbox simulator's bounce reaches the events
    // function (timeline, suppression); an event it cannot use leaves for the events DLQ with a reason.
    await producer.enqueue({
      ...mail('lp-platform'),
      to: 'bounce@simulator.amazonses.com',
      idempotencyKey: 'lp-bounce',
    });
    await sqs.send(
      new SendMessageCommand({ QueueUrl: info.eventsQueueUrl, MessageBody: 'not an SES event' }),
    );
    // Refused by validation: dead-lettered with a reason (with a tenant: counted for its alert digest).
    await sqs.send(new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: '{"v":1}' }));
    await sqs.send(
      new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: '{"v":1,"tenantId":"lp-alert"}' }),
    );
    for (const tenantId of ['lp-smtp', 'lp-platform']) {
      await eventually(`delivery of ${tenantId}`, 30_000, async () => {
        const found = await api<{ status: string }>('GET', `/tenants/${tenantId}/deliveries/lp-${tenantId}`);
        return found.status === 200 && found.body.status === 'sent' ? true : undefined;
      });
    }
    // The same message again: its claim is finished, the dispatcher reads it and sends nothing.
    await producer.enqueue(mail('lp-platform'));
    await eventually('the duplicate read', 30_000, called('Dispatcher', 'dynamodb:GetItem'));
    await eventually('the dead-lettered message', 30_000, called('Dispatcher', 'sqs:SendMessage'));
    await eventually('the held message', 30_000, called('Dispatcher', 'sqs:ChangeMessageVisibility'));
    await eventually('an alert delivered', 30_000, called('Notifier', 'dynamodb:PutItem'));
    await eventually('an alert backing off', 30_000, called('Notifier', 'sqs:ChangeMessageVisibility'));
    await eventually('a domain event queued', 30_000, called('ConfigApiFunction', 'sqs:SendMessage'));
    await eventually('a refused domain read', 30_000, called('Dispatcher', 'sesv2:GetEmailIdentity'));
    await eventually('an SES tenant made for an alert', 30_000, called('Notifier', 'sesv2:CreateTenant'));
    await eventually('a bounce suppressed', 30_000, called('Events', 'dynamodb:PutItem'));
    await eventually('a delivery event recorded', 30_000, called('Events', 'dynamodb:UpdateItem'));
    await eventually('an unusable event dead-lettered', 30_000, called('Events', 'sqs:SendMessage'));
    await eventually(
      'the platform webhook secret read',
      30_000,
      called('Notifier', 'secretsmanager:GetSecretValue'),
    );
    const list = await api('GET', '/tenants/lp-smtp/deliveries?limit=5');
    const health = await api('GET', '/tenants/lp-smtp/health');
    expect([list.status, health.status]).toEqual([200, 200]);
  } finally {
    sqs.destroy();
  }
}

const callsOf = (fn: string): AwsCall[] => recorder.calls.filter((c) => c.fn === fn);
const permissionKey = (action: string, resource: string) => `${action} on ${resource}`;

describe('least privilege', () => {
  it('has a recorded run of every function the stack deploys', () => {
    // Assess
    for (const { s } of variants) {
      const deployed = s.stack.node.findAll().filter((c) => c instanceof NodejsFunction);
      expect(deployed.map((c) => c.node.id).sort()).toEqual([...FUNCTIONS].sort());
    }
    for (const fn of FUNCTIONS) expect(callsOf(fn).length, fn).toBeGreaterThan(0);
  });

  it('reaches every AWS SDK command the functions construct (the producer client is not a Lambda)', () => {
    // Prepare
    const inCode = sdkCommandsIn(join(REPO_ROOT, 'functions'), ['producer']);
    const recorded = new Set(recorder.calls.map((c) => `${c.service}:${c.operation}`));

    // Assess
    expect(inCode.size).toBeGreaterThan(0);
    expect([...inCode].filter((command) => !recorded.has(command))).toEqual([]);
  });

  it('grants every call a function makes, on its resource, under the conditions the request meets', () => {
    // Act
    const refused: string[] = [];
    for (const { name, s, resources } of variants) {
      for (const fn of FUNCTIONS) {
        const statements = roleStatements(s, fn);
        for (const call of callsOf(fn)) {
          for (const p of permissionsOf(call, targetOf)) {
            const allowed = statements.some(
              (st) =>
                st.Effect === 'Allow' &&
                actionsOf(st).includes(p.action) &&
                resources.kindsOf(st).includes(p.resource) &&
                conditionHolds(st.Condition as Record<string, Record<string, unknown>>, p.conditionKeys),
            );
            if (!allowed) refused.push(`${name}: ${fn} ${permissionKey(p.action, p.resource)}`);
          }
        }
      }
    }

    // Assess
    expect([...new Set(refused)]).toEqual([]);
  });

  it('uses every grant, or the allowlist says why it stays, and the allowlist holds nothing else', async () => {
    // Prepare
    const used = (fn: string) =>
      new Set(
        callsOf(fn).flatMap((c) =>
          permissionsOf(c, targetOf).map((p) => permissionKey(p.action, p.resource)),
        ),
      );
    const listed = (fn: string) => new Set(IAM_ALLOWLIST.filter((a) => a.fn === fn).map((a) => a.grant));
    const compare = () => {
      const unused: string[] = [];
      const stale: string[] = [];
      for (const fn of FUNCTIONS) {
        const granted = new Set(variants.flatMap(({ s, resources }) => grantsOf(s, fn, resources)));
        for (const grant of granted) {
          if (!used(fn).has(grant) && !listed(fn).has(grant)) unused.push(`${fn}: ${grant}`);
        }
        for (const grant of listed(fn)) {
          if (!granted.has(grant) || used(fn).has(grant)) stale.push(`${fn}: ${grant}`);
        }
      }
      return { unused, stale };
    };

    // Act: the run's last asynchronous paths (a notifier retry, an event after a send) may still be
    // under way; a grant gets a few seconds to be used, never a pass without its call.
    let { unused, stale } = compare();
    for (let waited = 0; unused.length > 0 && waited < 15_000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ({ unused, stale } = compare());
    }

    // Assess
    expect(unused).toEqual([]);
    expect(stale).toEqual([]);
  });

  it("confines every KMS grant to the contract's encryption context, which the real requests carry", () => {
    // Prepare
    const kmsCalls = recorder.calls.filter((c) => c.service === 'kms');
    const wrong = [
      { 'kms:EncryptionContext:purpose': 'other', 'kms:EncryptionContextKeys': ['purpose', 'tenantId'] },
      { 'kms:EncryptionContext:purpose': 'smtp-password', 'kms:EncryptionContextKeys': ['purpose'] },
    ];

    // Assess
    expect(new Set(kmsCalls.map((c) => `${c.fn} ${c.operation}`))).toEqual(
      new Set([
        'ConfigApiFunction Encrypt',
        'ConfigApiFunction Decrypt',
        'Dispatcher Decrypt',
        'Notifier Decrypt',
      ]),
    );
    for (const { s } of variants) {
      for (const fn of FUNCTIONS) {
        const kms = roleStatements(s, fn).filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
        // The events function handles no secret: no KMS grant at all.
        if (fn === 'Events') expect(kms, fn).toEqual([]);
        else expect(kms.length, fn).toBeGreaterThan(0);
        for (const st of kms) {
          expect([
            SMTP_PASSWORD_CONTEXT_CONDITIONS,
            SMTP_OAUTH_CONTEXT_CONDITIONS,
            WEBHOOK_SECRET_CONTEXT_CONDITIONS,
          ]).toContainEqual(st.Condition);
          for (const keys of wrong) expect(conditionHolds(st.Condition as never, keys)).toBe(false);
        }
      }
    }
  });

  it('sends through SES only within an SES tenant tm-*, which every real send names', () => {
    // Prepare
    const sends = recorder.calls.filter((c) => c.service === 'sesv2' && c.operation === 'SendEmail');
    const wrong: Record<string, string>[] = [{}, { 'ses:TenantName': 'someone-else' }];

    // Assess
    expect(new Set(sends.map((c) => c.fn))).toEqual(new Set(['Dispatcher', 'ConfigApiFunction', 'Notifier']));
    for (const call of sends) expect(call.tenantName, `${call.fn} SendEmail`).toMatch(/^tm-/);
    for (const { s } of variants) {
      for (const fn of FUNCTIONS) {
        const send = roleStatements(s, fn).filter((st) => actionsOf(st).includes('ses:SendEmail'));
        if (fn === 'Events') expect(send, fn).toEqual([]);
        else expect(send.length, fn).toBeGreaterThan(0);
        for (const st of send) {
          expect(st.Condition, fn).toEqual(SES_SEND_TENANT_CONDITIONS);
          for (const keys of wrong) expect(conditionHolds(st.Condition as never, keys)).toBe(false);
        }
      }
    }
  });
});
