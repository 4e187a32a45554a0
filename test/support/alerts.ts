import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { createAlertDelivery } from '../../functions/adapters/alert-delivery';
import { createNotifyStore } from '../../functions/adapters/dynamo-notify';
import { createSecretCipher } from '../../functions/adapters/kms-secrets';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { createWebhookPoster, WEBHOOK_PORTS } from '../../functions/adapters/webhook';
import type { AlertsApiDeps } from '../../functions/config-api/deps';
import type { AlertDelivery, NotifyStore, SecretCipher, WebhookPoster } from '../../functions/core/ports';
import type { Clock } from '../../functions/core/types';
import { createNotifier, type NotifierDeps, type NotifierHandler } from '../../functions/notifier/notifier';
import { tableResolver } from './config-api';
import type { DispatcherFixture } from './dispatcher';
import type { DynamoFixture } from './dynamo';
import type { LocalKms } from './kms';
import { type LocalSes, startLocalSes } from './ses';
import { TEST_CA, TEST_HOST } from './smtp';
import type { LocalSqs } from './sqs';

export const PLATFORM = { address: 'alerts@platform.example', name: 'Mailer' };

export interface AlertsFixture {
  ses: LocalSes;
  store: NotifyStore;
  secrets: SecretCipher;
  webhook: WebhookPoster;
  delivery: AlertDelivery;
  /** What the config API's alert routes are built from. */
  deps: AlertsApiDeps;
  /** A notifier over the same adapters and the given queue (a real SQS adapter). */
  notifier(queue: NotifierDeps['queue'], over?: Partial<NotifierDeps>): NotifierHandler;
  close(): Promise<void>;
}

/**
 * The alert adapters over a test's dynalite and KMS stand-in, with a local SES for the emails and a
 * webhook poster that trusts the test CA and resolves names from `hosts` only.
 */
export async function startAlertsDeps(input: {
  dynamo: DynamoFixture;
  kms: LocalKms;
  clock: Clock;
  allowPrivate: boolean;
  hosts: Record<string, string[]>;
  webhookTimeoutMs?: number;
  /** A local SES the caller already runs (its store is process-wide); else one is started and closed. */
  ses?: LocalSes;
}): Promise<AlertsFixture> {
  const ses = input.ses ?? (await startLocalSes());
  const { clock } = input;
  const store = createNotifyStore({ doc: input.dynamo.doc, tableName: input.dynamo.tableName, clock });
  const secrets = createSecretCipher({
    kms: input.kms.client,
    keyId: input.kms.keyId,
    purpose: 'webhook-secret',
  });
  const guard = createNetworkGuard({
    allowPrivate: input.allowPrivate,
    ports: WEBHOOK_PORTS,
    resolve: tableResolver(input.hosts),
  });
  const webhook = createWebhookPoster({
    guard,
    clock,
    allowInsecure: input.allowPrivate,
    ca: [TEST_CA.toString()],
    ...(input.webhookTimeoutMs !== undefined && { timeoutMs: input.webhookTimeoutMs }),
  });
  const delivery = createAlertDelivery({
    ses: createSesSender({ ses: ses.client }),
    webhook,
    secrets,
    platform: PLATFORM,
  });
  return {
    ses,
    store,
    secrets,
    webhook,
    delivery,
    deps: { store, secrets, webhook, delivery },
    notifier(queue, over = {}) {
      return createNotifier({
        store,
        delivery,
        queue,
        logger: new Logger({ serviceName: 'notifier-test' }),
        metrics: new Metrics({ namespace: 'test', serviceName: 'notifier-test' }),
        clock,
        ...over,
      });
    },
    close: async () => {
      if (!input.ses) await ses.close();
    },
  };
}

/** Puts bodies on a queue and receives them back as Lambda's event source would hand them over. */
export async function receiveRecords(
  sqs: LocalSqs,
  queueUrl: string,
  bodies: object[],
): Promise<SQSRecord[]> {
  const sent = new Set<string>();
  for (const body of bodies) {
    const out = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }),
    );
    if (out.MessageId !== undefined) sent.add(out.MessageId);
  }
  // Only these messages come back; a leftover of an earlier test is deleted.
  const messages = [];
  for (const m of await sqs.receiveAll(queueUrl)) {
    if (sent.has(m.MessageId ?? '')) messages.push(m);
    else
      await sqs.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  return messages.map((m) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:alerts',
    awsRegion: 'us-east-1',
  }));
}

/**
 * The alert adapters over a dispatcher fixture's dynalite, KMS stand-in, clock and SES (the test host
 * resolving to 127.0.0.1, webhooks given up after 300 ms), and a new alerts queue named `queueName`.
 */
export async function startDispatcherAlerts(
  f: DispatcherFixture,
  queueName: string,
): Promise<{ alerts: AlertsFixture; queueUrl: string }> {
  const alerts = await startAlertsDeps({
    dynamo: f.dynamo,
    kms: f.kms,
    clock: f.clock,
    allowPrivate: true,
    hosts: { [TEST_HOST]: ['127.0.0.1'] },
    ses: f.ses,
    webhookTimeoutMs: 300,
  });
  return { alerts, queueUrl: await f.sqs.createQueue(queueName) };
}
