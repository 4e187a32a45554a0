import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryView } from '../../functions/config-api/schemas';
import { callApi, type StackInfo } from '../support/local-stack';
import type { SesStoredEmail } from '../support/ses';
import type { Peer } from './peers';
import type { Outcome } from './report';

/** What the soak reads back: delivery records, the DLQ (drained), copies at the peers and in SES. */

export async function listDeliveries(info: StackInfo, tenant: string): Promise<DeliveryView[]> {
  const all: DeliveryView[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await callApi<{ items: DeliveryView[]; cursor: string | null }>(
      info,
      info.adminToken,
      'GET',
      `/tenants/${tenant}/deliveries?${query}`,
    );
    if (page.status !== 200) return all;
    all.push(...page.body.items);
    cursor = page.body.cursor;
  } while (cursor);
  return all;
}

export async function drainDlq(info: StackInfo, sqs: SQSClient): Promise<Outcome[]> {
  const found: Outcome[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: info.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return found;
    for (const m of Messages) {
      let key = m.MessageId ?? '?';
      try {
        key = (JSON.parse(m.Body ?? '') as { idempotencyKey?: string }).idempotencyKey ?? key;
      } catch {
        // not JSON: counted under its SQS id
      }
      found.push({ key, dlqReason: m.MessageAttributes?.reason?.StringValue ?? 'none' });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: info.dlqUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

/** Copies that reached someone, per message and recipient: at the tenant peers and in the SES mailbox. */
export async function countCopies(info: StackInfo, peers: Peer[]): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  const add = (subject: string | undefined, to: string[]) => {
    const key = /soak (\d+)/.exec(subject ?? '')?.[1];
    if (key === undefined) return;
    for (const address of to)
      copies.set(`soak-${key} ${address}`, (copies.get(`soak-${key} ${address}`) ?? 0) + 1);
  };
  for (const peer of peers) {
    for (const mail of peer.server?.received ?? []) {
      add(/^Subject: (.*)$/im.exec(mail.raw.toString('utf8'))?.[1], mail.to);
    }
  }
  const store = (await (await fetch(`${info.sesUrl}/store`)).json()) as { emails: SesStoredEmail[] };
  for (const mail of store.emails) add(mail.subject, mail.destination.to ?? []);
  return copies;
}
