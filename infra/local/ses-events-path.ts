import { randomUUID } from 'node:crypto';
import { type RecordMail, type RecordSpec, sesEventRecord } from './ses-event-records';

/**
 * The local delivery events path, as in AWS (docs/design.md §19): the SES stand-in publishes SES-shaped
 * records to an SNS topic in fauxqs, which delivers them raw to the events queue the events function
 * reads. fauxqs speaks SNS's Query protocol on the SQS endpoint; these few calls need no SNS client.
 */

async function snsCall(endpoint: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Version: '2010-03-31', ...params }).toString(),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`local SNS ${params.Action} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

/** Creates the topic and its raw-delivery subscription to `queueArn`; returns the topic ARN. */
export async function createEventsTopic(endpoint: string, name: string, queueArn: string): Promise<string> {
  const created = await snsCall(endpoint, { Action: 'CreateTopic', Name: name });
  const topicArn = /<TopicArn>([^<]+)<\/TopicArn>/.exec(created)?.[1];
  if (!topicArn) throw new Error('local SNS returned no topic ARN');
  await snsCall(endpoint, {
    Action: 'Subscribe',
    TopicArn: topicArn,
    Protocol: 'sqs',
    Endpoint: queueArn,
    'Attributes.entry.1.key': 'RawMessageDelivery',
    'Attributes.entry.1.value': 'true',
  });
  return topicArn;
}

/** Publishes one record (its JSON is the message, as SES publishes it). */
export async function publishToTopic(endpoint: string, topicArn: string, record: object): Promise<void> {
  await snsCall(endpoint, { Action: 'Publish', TopicArn: topicArn, Message: JSON.stringify(record) });
}

/** The mailbox simulator's domain (SES's own). */
export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

/**
 * What SES's mailbox simulator reports for one send: `Send` for the message, then per recipient
 * `success@` → Delivery, `bounce@` → Permanent bounce (General), `ooto@` → Delivery (the auto-reply is
 * not an event), `complaint@` → Delivery and Complaint, `suppressionlist@` → Permanent bounce
 * (OnAccountSuppressionList), as SES does for an address on its list. Other recipients: Delivery (the
 * local mailbox takes everything).
 */
export function simulatedRecords(mail: RecordMail, at = () => new Date().toISOString()): object[] {
  const records: object[] = [sesEventRecord(mail, { type: 'Send' }, at())];
  for (const address of mail.destination) {
    const lower = address.toLowerCase();
    const local = lower.endsWith(`@${SIMULATOR_DOMAIN}`) ? lower.split('@')[0]?.split('+')[0] : undefined;
    const specs: RecordSpec[] = [];
    const bounce = (bounceSubType: string, diagnosticCode: string): RecordSpec => ({
      type: 'Bounce',
      bounceType: 'Permanent',
      bounceSubType,
      recipients: [{ address, status: '5.1.1', diagnosticCode }],
      feedbackId: `${mail.messageId}-${randomUUID()}`,
    });
    if (local === 'bounce') specs.push(bounce('General', 'smtp; 550 5.1.1 user unknown'));
    else if (local === 'suppressionlist') {
      specs.push(bounce('OnAccountSuppressionList', 'Amazon SES did not send the message to this address'));
    } else {
      specs.push({ type: 'Delivery', recipients: [address] });
      if (local === 'complaint') specs.push({ type: 'Complaint', recipients: [address] });
    }
    for (const spec of specs) records.push(sesEventRecord(mail, spec, at()));
  }
  return records;
}
