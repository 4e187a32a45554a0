import { randomUUID } from 'node:crypto';

/**
 * SES event publishing records in SES's own JSON shape (as a configuration set's SNS destination
 * publishes them; raw delivery puts exactly this in the SQS body). The local SES stand-in's mailbox
 * simulator publishes these; tests build them too.
 */

export interface RecordMail {
  /** SES's message id of the send. */
  messageId: string;
  source: string;
  destination: string[];
  /** The send's message tags as SES publishes them: name → [value]. */
  tags: Record<string, string[]>;
  /** ISO time of the send. */
  timestamp?: string;
}

export type RecordSpec =
  | { type: 'Send' }
  | { type: 'Delivery'; recipients: string[] }
  | {
      type: 'Bounce';
      bounceType: 'Permanent' | 'Transient' | 'Undetermined';
      bounceSubType: string;
      recipients: { address: string; status?: string; diagnosticCode?: string }[];
      feedbackId?: string;
    }
  | { type: 'Complaint'; recipients: string[]; feedbackType?: string; feedbackId?: string }
  | { type: 'Reject'; reason?: string }
  | { type: 'DeliveryDelay'; recipients: string[]; delayType?: string };

/** The record SES publishes for `spec` about the send `mail`, at `at` (ISO). */
export function sesEventRecord(mail: RecordMail, spec: RecordSpec, at = new Date().toISOString()) {
  const mailObject = {
    timestamp: mail.timestamp ?? at,
    source: mail.source,
    sendingAccountId: '000000000000',
    messageId: mail.messageId,
    destination: mail.destination,
    headersTruncated: false,
    tags: { 'ses:operation': ['SendEmail'], ...mail.tags },
  };
  const feedbackId = () => `${mail.messageId}-${randomUUID()}-000000`;
  switch (spec.type) {
    case 'Send':
      return { eventType: 'Send', mail: mailObject, send: {} };
    case 'Delivery':
      return {
        eventType: 'Delivery',
        mail: mailObject,
        delivery: {
          timestamp: at,
          processingTimeMillis: 500,
          recipients: spec.recipients,
          smtpResponse: '250 2.6.0 Message received',
          reportingMTA: 'a8-70.smtp-out.amazonses.com',
        },
      };
    case 'Bounce':
      return {
        eventType: 'Bounce',
        mail: mailObject,
        bounce: {
          bounceType: spec.bounceType,
          bounceSubType: spec.bounceSubType,
          bouncedRecipients: spec.recipients.map((r) => ({
            emailAddress: r.address,
            action: 'failed',
            status: r.status ?? '5.1.1',
            diagnosticCode: r.diagnosticCode ?? 'smtp; 550 5.1.1 user unknown',
          })),
          timestamp: at,
          feedbackId: spec.feedbackId ?? feedbackId(),
          reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
        },
      };
    case 'Complaint':
      return {
        eventType: 'Complaint',
        mail: mailObject,
        complaint: {
          feedbackId: spec.feedbackId ?? feedbackId(),
          complaintSubType: null,
          complainedRecipients: spec.recipients.map((address) => ({ emailAddress: address })),
          timestamp: at,
          userAgent: 'Amazon SES Mailbox Simulator',
          complaintFeedbackType: spec.feedbackType ?? 'abuse',
          arrivalDate: at,
        },
      };
    case 'Reject':
      return { eventType: 'Reject', mail: mailObject, reject: { reason: spec.reason ?? 'Bad content' } };
    case 'DeliveryDelay':
      return {
        eventType: 'DeliveryDelay',
        mail: mailObject,
        deliveryDelay: {
          timestamp: at,
          delayType: spec.delayType ?? 'TransientCommunicationFailure',
          expirationTime: new Date(Date.parse(at) + 24 * 3600_000).toISOString(),
          delayedRecipients: spec.recipients.map((address) => ({
            emailAddress: address,
            status: '4.4.1',
            diagnosticCode: 'smtp; 421 4.4.1 Unable to connect to remote host',
          })),
        },
      };
  }
}
