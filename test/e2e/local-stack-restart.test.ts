import { rm } from 'node:fs/promises';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryDetail } from '../../functions/config-api/schemas';
import { createProducer } from '../../functions/producer';
import {
  callApi,
  eventually,
  type LocalStackProcess,
  mintToken,
  type StackInfo,
  spawnLocalStack,
} from '../support/local-stack';

// State survives a restart of `npm start` (the table, the queues, the KMS key under LOCAL_STACK_DIR), and
// `npm start -- --fresh` wipes it.

const TENANT = 'restart-own-smtp';

describe('npm start, stopped and started again on the same folder', () => {
  const stacks: LocalStackProcess[] = [];
  let dir = '';

  afterAll(async () => {
    for (const stack of stacks) await stack.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const start = async (options: { dir?: string; ports?: Record<string, string>; fresh?: boolean }) => {
    const stack = await spawnLocalStack({
      demo: false,
      args: ['--dispatchers', '1', ...(options.fresh ? ['--fresh'] : [])],
      ...(options.dir && { dir: options.dir }),
      ...(options.ports && { ports: options.ports }),
    });
    stacks.push(stack);
    const info = await stack.ready(60_000);
    const sqs = new SQSClient({
      endpoint: info.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      useQueueUrlAsEndpoint: false,
    });
    return { stack, info, sqs, token: await mintToken(stack.dir, 'restart-platform', true) };
  };
  // Looks at the DLQ without taking the messages (visibility 0: they stay for the next look).
  const deadLetters = async (sqs: SQSClient, info: StackInfo) => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: info.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    return Messages.map((m) => m.Body);
  };

  it('keeps the table, the queues and the KMS key; --fresh starts from nothing', async () => {
    // Prepare: a first run configures a tenant and leaves a message on the DLQ
    const first = await start({});
    dir = first.stack.dir;
    const { host, port, username, password } = first.info.mailboxSmtp;
    const put = await callApi(first.info, first.token, 'PUT', `/tenants/${TENANT}/sender`, {
      mode: 'smtp',
      fallback: 'platform',
      smtp: { host, port, security: 'none', username, password, fromAddress: 'n@restart.example' },
    });
    const invalid = JSON.stringify({ v: 1, tenantId: TENANT, kind: 'notification', subject: 'no one' });
    await first.sqs.send(new SendMessageCommand({ QueueUrl: first.info.queueUrl, MessageBody: invalid }));
    await eventually('the invalid message on the DLQ', 20_000, async () =>
      (await deadLetters(first.sqs, first.info)).includes(invalid) ? true : undefined,
    );
    first.sqs.destroy();
    const firstExit = await first.stack.stop('SIGINT', 20_000);

    // Act: the same folder and ports, then again with --fresh
    const second = await start({ dir, ports: first.stack.ports });
    const kept = await callApi<{ mode: string; version: number }>(
      second.info,
      second.token,
      'GET',
      `/tenants/${TENANT}/sender`,
    );
    await createProducer({ sqs: second.sqs, queueUrl: second.info.queueUrl }).enqueue({
      v: 1,
      tenantId: TENANT,
      kind: 'notification',
      to: 'lead@customer.example',
      subject: 'after a restart',
      text: 'The stored password still decrypts.',
      idempotencyKey: 'restart-1',
    });
    const delivery = await eventually('the delivery after the restart', 30_000, async () => {
      const found = await callApi<DeliveryDetail>(
        second.info,
        second.token,
        'GET',
        `/tenants/${TENANT}/deliveries/restart-1`,
      );
      return found.status === 200 && found.body.status !== 'retrying' ? found.body : undefined;
    });
    const keptDead = await deadLetters(second.sqs, second.info);
    second.sqs.destroy();
    await second.stack.stop('SIGINT', 20_000);

    const third = await start({ dir, ports: first.stack.ports, fresh: true });
    const wiped = await callApi(third.info, third.token, 'GET', `/tenants/${TENANT}/sender`);
    const wipedDead = await deadLetters(third.sqs, third.info);
    third.sqs.destroy();

    // Assess
    expect(put.status).toBe(200);
    expect(firstExit).toEqual({ code: 0, signal: null });
    expect(kept.status).toBe(200);
    expect(kept.body.mode).toBe('smtp');
    expect(delivery).toMatchObject({ route: 'smtp', status: 'sent', fallbackReason: null });
    expect(keptDead).toContain(invalid);
    expect(wiped).toEqual({ status: 200, body: { mode: 'platform', version: 0 } });
    expect(wipedDead).toEqual([]);
  }, 200_000);
});
