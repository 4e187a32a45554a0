import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUE_RETENTION_SECONDS } from './config';

/**
 * Receives before SQS itself moves a message to the DLQ. The dispatcher dead-letters at MAX_ATTEMPTS on
 * its own (with a reason); this is only the safety net for a message that crashes the function every time.
 */
export const MAX_RECEIVE_COUNT = 50;

export interface MailQueueProps {
  /** At least six times the dispatcher's timeout plus its batching window (Lambda's SQS guidance). */
  visibilityTimeout: Duration;
}

/** The mail queue producers publish to, its dead-letter queue, and a policy for producers. */
export class MailQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Attach to a producer's role: SendMessage on the mail queue, nothing else. */
  readonly producerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: MailQueueProps) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueWithDeadLetters(this, {
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.seconds(QUEUE_RETENTION_SECONDS),
      maxReceiveCount: MAX_RECEIVE_COUNT,
    }));
    this.producerPolicy = new iam.ManagedPolicy(this, 'ProducerPolicy', {
      description: 'tenant-mailer producers: publish messages to the mail queue',
      statements: [
        new iam.PolicyStatement({
          actions: ['sqs:SendMessage', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes'],
          resources: [this.queue.queueArn],
        }),
      ],
    });
  }

  /** Lets a producer (a function, a role) publish to the mail queue: SendMessage (batch included). */
  grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }
}

export interface QueueWithDeadLettersProps {
  visibilityTimeout: Duration;
  retentionPeriod: Duration;
  /** Receives before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
}

/**
 * A work queue (`Queue`) and its dead-letter queue (`DeadLetterQueue`, kept 14 days) in `scope`: both
 * SQS-encrypted and TLS only.
 */
export function queueWithDeadLetters(
  scope: Construct,
  props: QueueWithDeadLettersProps,
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: props.visibilityTimeout,
    retentionPeriod: props.retentionPeriod,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}
