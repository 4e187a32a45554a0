import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../functions/producer';
import { DEFAULT_PORTS } from '../../infra/local/ports';
import { publishToTopic } from '../../infra/local/ses-events-path';
import { type LocalStack, startLocalStack } from '../../infra/local/stack';
import { callApi, eventually } from '../support/local-stack';

/**
 * The delivery events path end to end on the local stack (docs/design.md §19): the dispatcher sends
 * through the SES stand-in, whose mailbox simulator publishes SES-shaped records to the SNS topic in
 * fauxqs, delivered raw to the events queue the events function reads.
 */

const dir = mkdtempSync(join(tmpdir(), 'tenant-mailer-bounces-'));
let stack: LocalStack;
let sqs: SQSClient;

beforeAll(async () => {
  const ports = Object.values(DEFAULT_PORTS).map((spec) => [spec.env, '0']);
  stack = await startLocalStack({ dir, dispatchers: 1, env: Object.fromEntries([...ports]) });
  sqs = new SQSClient({
    endpoint: stack.info.endpoints.sqs,
    region: stack.info.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    useQueueUrlAsEndpoint: false,
  });
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = <T>(method: string, path: string, body?: unknown) =>
  callApi<T>(stack.info, stack.info.adminToken, method, path, body);

type Delivery = {
  status: string;
  suppressed: string[];
  events: { type: string; recipient: string | null }[];
};

async function send(tenantId: string, key: string, to: string): Promise<void> {
  const producer = createProducer({ sqs, queueUrl: stack.info.queueUrl });
  await producer.enqueue({ v: 1, tenantId, to, subject: `bounces ${key}`, text: 'e2e', idempotencyKey: key });
}

const delivery = (tenantId: string, key: string) =>
  eventually(`delivery ${key}`, 30_000, async () => {
    const found = await api<Delivery>('GET', `/tenants/${tenantId}/deliveries/${key}`);
    return found.status === 200 && found.body.status !== 'retrying' ? found.body : undefined;
  });

describe('bounces and complaints on the local stack', () => {
  it('a bounce suppresses the address for its tenant only: the next message is suppressed, another tenant still sends', async () => {
    // Prepare
    await send('bx-a', 'bx-a-1', 'bounce@simulator.amazonses.com');
    await eventually('the suppression', 30_000, async () => {
      const found = await api('GET', '/tenants/bx-a/suppressions/bounce%40simulator.amazonses.com');
      return found.status === 200 ? found.body : undefined;
    });

    // Act
    await send('bx-a', 'bx-a-2', 'bounce@simulator.amazonses.com');
    await send('bx-b', 'bx-b-1', 'bounce@simulator.amazonses.com');

    // Assess
    expect(await delivery('bx-a', 'bx-a-2')).toMatchObject({
      status: 'suppressed',
      suppressed: ['bounce@simulator.amazonses.com'],
    });
    expect((await delivery('bx-b', 'bx-b-1')).status).toBe('sent');
    const first = await eventually('the bounce on the timeline', 30_000, async () => {
      const d = await delivery('bx-a', 'bx-a-1');
      return d.events.some((e) => e.type === 'bounced') ? d : undefined;
    });
    expect(first.events).toEqual([
      expect.objectContaining({ type: 'bounced', recipient: 'bounce@simulator.amazonses.com' }),
    ]);
  });

  it('a complaint suppresses with reason complaint; success@ is delivered and suppresses nothing', async () => {
    await send('bx-c', 'bx-c-1', 'complaint@simulator.amazonses.com');
    await send('bx-c', 'bx-c-2', 'success@simulator.amazonses.com');

    const complaint = await eventually('the complaint', 30_000, async () => {
      const found = await api<{ reason: string }>(
        'GET',
        '/tenants/bx-c/suppressions/complaint%40simulator.amazonses.com',
      );
      return found.status === 200 ? found.body : undefined;
    });
    const delivered = await eventually('the delivery event', 30_000, async () => {
      const d = await delivery('bx-c', 'bx-c-2');
      return d.events.length > 0 ? d : undefined;
    });

    expect(complaint.reason).toBe('complaint');
    expect(delivered.events.map((e) => e.type)).toEqual(['delivered']);
    const list = await api<{ items: { address: string }[] }>('GET', '/tenants/bx-c/suppressions');
    expect(list.body.items.map((i) => i.address)).toEqual(['complaint@simulator.amazonses.com']);
  });

  it('sends a record it cannot use to the events DLQ with a reason', async () => {
    await publishToTopic(stack.info.endpoints.sqs, stack.info.eventsTopicArn, {
      eventType: 'Open',
      mail: {},
    });

    const dead = await eventually('the dead-lettered event', 30_000, async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.info.eventsDlqUrl, MessageAttributeNames: ['All'] }),
      );
      return Messages[0];
    });

    expect(dead.MessageAttributes?.reason?.StringValue).toBe('unknown-event');
    expect(JSON.parse(dead.Body ?? '{}')).toEqual({ eventType: 'Open', mail: {} });
  });
});
