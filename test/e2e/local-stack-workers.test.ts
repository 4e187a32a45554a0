import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryDetail } from '../../functions/config-api/schemas';
import { createProducer, type QueueMessageInput } from '../../functions/producer';
import {
  callApi,
  eventually,
  isAlive,
  type LocalStackProcess,
  mintToken,
  type StackInfo,
  spawnLocalStack,
  workerProcesses,
} from '../support/local-stack';

// `npm start -- --dispatchers 3`: the dispatcher runs in worker processes, like Lambda containers. One is
// killed with SIGKILL while the queue is being worked off: it comes back, and no message is lost.

const OWN_SMTP = 'workers-own-smtp';
const NO_CONFIG = 'workers-no-config';
const MESSAGES = 60;

describe('npm start -- --dispatchers 3', () => {
  let stack: LocalStackProcess | undefined;
  let info: StackInfo;
  let sqs: SQSClient;
  let adminToken: string;

  beforeAll(async () => {
    stack = await spawnLocalStack({ demo: false, args: ['--dispatchers', '3'] });
    info = await stack.ready(60_000);
    sqs = new SQSClient({
      endpoint: info.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      useQueueUrlAsEndpoint: false,
    });
    adminToken = await mintToken(stack.dir, 'workers-platform', true);
  }, 70_000);

  afterAll(async () => {
    sqs?.destroy();
    await stack?.dispose();
  });

  it('runs three dispatcher workers and the config API, each in a process named in ps', () => {
    // Act
    const workers = workerProcesses(stack?.child.pid ?? -1);

    // Assess
    expect([...workers.keys()].sort()).toEqual([
      '--config-api-worker',
      '--dispatcher-worker=1',
      '--dispatcher-worker=2',
      '--dispatcher-worker=3',
    ]);
  });

  it('restarts a worker killed with SIGKILL mid-run; every message ends delivered or in the DLQ', async () => {
    // Prepare: one tenant on its own SMTP server (the stack's maildev), one without config
    const { host, port, username, password } = info.mailboxSmtp;
    const put = await callApi(info, adminToken, 'PUT', `/tenants/${OWN_SMTP}/sender`, {
      mode: 'smtp',
      fallback: 'platform',
      smtp: { host, port, security: 'none', username, password, fromAddress: 'n@own.example' },
    });
    expect(put.status).toBe(200);
    const rootPid = stack?.child.pid ?? -1;
    const victim = workerProcesses(rootPid).get('--dispatcher-worker=1') ?? -1;
    const messages: QueueMessageInput[] = Array.from({ length: MESSAGES }, (_, i) => ({
      v: 1,
      tenantId: i % 3 === 0 ? NO_CONFIG : OWN_SMTP,
      kind: 'notification',
      to: `lead-${i}@customer.example`,
      subject: `workers ${i}`,
      text: 'Sent while a worker dies.',
      idempotencyKey: `workers-${i}`,
    }));
    // An invalid message (no recipient; sent raw, the producer would refuse it) goes to the DLQ.
    const invalid = JSON.stringify({
      v: 1,
      tenantId: OWN_SMTP,
      kind: 'notification',
      subject: 'workers-invalid',
      text: 'x',
    });

    // Act: the queue fills, the first deliveries come through, then one worker dies
    const producer = createProducer({ sqs, queueUrl: info.queueUrl });
    const { failed } = await producer.enqueueBatch(messages);
    await sqs.send(new SendMessageCommand({ QueueUrl: info.queueUrl, MessageBody: invalid }));
    await stack?.waitForOutput(/route=/, 30_000);
    process.kill(victim, 'SIGKILL');
    const restarted = await eventually('worker 1 started again', 15_000, async () => {
      const pid = workerProcesses(rootPid).get('--dispatcher-worker=1');
      return pid !== undefined && pid !== victim ? pid : undefined;
    });
    // Messages the dead worker held come back after their visibility timeout (30 s).
    const outcomes = await eventually('every message finished', 100_000, async () => {
      const found = await Promise.all(
        messages.map(async (m) => {
          const path = `/tenants/${m.tenantId}/deliveries/${m.idempotencyKey}`;
          const answer = await callApi<DeliveryDetail>(info, adminToken, 'GET', path);
          return answer.status === 200 && answer.body.status !== 'retrying' ? answer.body : undefined;
        }),
      );
      return found.every((d) => d !== undefined) ? found : undefined;
    });

    // Assess
    expect(failed).toEqual([]);
    expect(stack?.output()).toMatch(/--dispatcher-worker=1 exited \(code null, signal SIGKILL\)/);
    expect(isAlive(victim)).toBe(false);
    expect(isAlive(restarted)).toBe(true);
    expect(outcomes.map((d) => d?.status)).toEqual(messages.map(() => 'sent'));
    expect(outcomes.filter((d) => d?.route === 'smtp')).toHaveLength(MESSAGES - MESSAGES / 3);
    expect(outcomes.filter((d) => d?.fallbackReason === 'no-config')).toHaveLength(MESSAGES / 3);
    const dead = await eventually('the invalid message in the DLQ', 10_000, async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: info.dlqUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      return Messages.find((m) => m.Body === invalid);
    });
    expect(dead.MessageAttributes?.reason?.StringValue).toBe('validation');
  }, 160_000);
});
