import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createQueues, startFauxqs } from '../../infra/local/services';
import { localClientConfig } from './aws-client';

export interface InflightEntry {
  receiptHandle: string;
  /** epoch ms at which the message becomes visible again */
  visibilityDeadline: number;
}

export interface LocalSqs {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Built with `useQueueUrlAsEndpoint: false`: the queue URLs' `sqs.<region>.localhost` host does not resolve. */
  client: SQSClient;
  /** Main queue (visibility 30 s, redrive to the DLQ after 50 receives, as the stacks have it). */
  queueUrl: string;
  dlqUrl: string;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** Receives until the queue answers empty; messages stay inflight for `visibilityTimeout` (default 30 s). */
  receiveAll(queueUrl: string, options?: { visibilityTimeout?: number }): Promise<Message[]>;
  /** Non-destructive look at a queue's inflight messages (fauxqs's inspection endpoint). */
  inflight(queueName: string): Promise<InflightEntry[]>;
  close(): Promise<void>;
}

/**
 * Starts fauxqs in this process on 127.0.0.1 and a free port, with a main queue and its DLQ.
 * `buildApp` + our own listen, because `startFauxqs` always binds 0.0.0.0.
 */
export async function startLocalSqs(names: { queue?: string; dlq?: string } = {}): Promise<LocalSqs> {
  const app = await startFauxqs();
  const endpoint = app.url;
  const client = new SQSClient({ ...localClientConfig(endpoint), useQueueUrlAsEndpoint: false });

  const createQueue = async (name: string, attributes?: Record<string, string>): Promise<string> => {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, ...(attributes && { Attributes: attributes }) }),
    );
    if (QueueUrl === undefined) throw new Error(`fauxqs returned no URL for queue ${name}`);
    return QueueUrl;
  };

  const { queueUrl, dlqUrl } = await createQueues(
    client,
    { queue: names.queue ?? 'mail', dlq: names.dlq ?? 'mail-dlq' },
    30,
  );

  return {
    endpoint,
    client,
    queueUrl,
    dlqUrl,
    createQueue,
    async receiveAll(url, options = {}) {
      const all: Message[] = [];
      for (;;) {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: options.visibilityTimeout ?? 30,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) return all;
        all.push(...Messages);
      }
    },
    async inflight(queueName) {
      const response = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(queueName)}`);
      if (!response.ok) throw new Error(`fauxqs inspection answered ${response.status}`);
      const body = (await response.json()) as { messages: { inflight: InflightEntry[] } };
      return body.messages.inflight;
    },
    async close() {
      client.destroy();
      await app.close();
    },
  };
}
