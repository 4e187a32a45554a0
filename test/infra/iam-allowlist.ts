/**
 * Grants a function's code never calls, and why each must stay. The least-privilege test
 * (least-privilege.test.ts) refuses any other grant that no recorded call uses, and any entry here that
 * is no longer granted or that the code does call.
 *
 * `grant` is `<action> on <resource kind>` for a policy statement, or `managed:<policy name>`.
 */
export interface AllowedGrant {
  /** The function's construct id in the stack. */
  fn: 'Dispatcher' | 'ConfigApiFunction' | 'Notifier' | 'Events';
  grant: string;
  reason: string;
}

const EVENT_SOURCE =
  "Lambda's SQS event source mapping polls under the function's role (SqsEventSource's grantConsumeMessages)";

export const IAM_ALLOWLIST: AllowedGrant[] = [
  {
    fn: 'Dispatcher',
    grant: 'sqs:ReceiveMessage on queue',
    reason: `${EVENT_SOURCE}: it receives the batches.`,
  },
  {
    fn: 'Dispatcher',
    grant: 'sqs:DeleteMessage on queue',
    reason: `${EVENT_SOURCE}: it deletes the records the handler does not report as failed.`,
  },
  {
    fn: 'Dispatcher',
    grant: 'sqs:GetQueueAttributes on queue',
    reason: `${EVENT_SOURCE}: it reads the queue's attributes when the mapping is created and scales.`,
  },
  {
    fn: 'Dispatcher',
    grant: 'sqs:GetQueueUrl on queue',
    reason:
      `${EVENT_SOURCE}: CDK grants it with the others. Read-only on the same queue; dropping it would ` +
      'mean hand-building the event source mapping and its grants instead of using SqsEventSource.',
  },
  {
    fn: 'Dispatcher',
    grant: 'kms:Encrypt on passwordKey',
    reason:
      'OAuth2 logins (docs/design.md §21): a refresh token the provider rotates is encrypted (purpose ' +
      'smtp-oauth only) and stored back. The run sends for password tenants, so it never rotates one.',
  },
  // The notifier's event source mapping on the alerts queue, as the dispatcher's on the mail queue.
  ...(
    [
      ['sqs:ReceiveMessage', 'it receives the batches.'],
      ['sqs:DeleteMessage', 'it deletes the records the handler does not report as failed.'],
      ['sqs:GetQueueAttributes', "it reads the queue's attributes when the mapping is created and scales."],
      ['sqs:GetQueueUrl', 'CDK grants it with the others; read-only on the same queue.'],
    ] as const
  ).map(([action, why]) => ({
    fn: 'Notifier' as const,
    grant: `${action} on alertsQueue`,
    reason: `${EVENT_SOURCE}: ${why}`,
  })),
  // The events function's mapping on the SES events queue; it never changes a visibility itself (a
  // failed record is reported, and the function dead-letters with a reason at EVENT_MAX_RECEIVES).
  ...(
    [
      ['sqs:ReceiveMessage', 'it receives the batches.'],
      ['sqs:DeleteMessage', 'it deletes the records the handler does not report as failed.'],
      ['sqs:GetQueueAttributes', "it reads the queue's attributes when the mapping is created and scales."],
      ['sqs:GetQueueUrl', 'CDK grants it with the others; read-only on the same queue.'],
      [
        'sqs:ChangeMessageVisibility',
        'CDK grants it with the others; Lambda returns failed records with it.',
      ],
    ] as const
  ).map(([action, why]) => ({
    fn: 'Events' as const,
    grant: `${action} on eventsQueue`,
    reason: `${EVENT_SOURCE}: ${why}`,
  })),
  {
    fn: 'Events',
    grant: 'sqs:SendMessage on alertsQueue',
    reason:
      'reputation.warning (docs/design.md §19): queued only when a tenant is over an SES rate with at least ' +
      '100 recipients in 24 hours, which the least-privilege run does not send.',
  },
  {
    fn: 'Events',
    grant: 'logs:CreateLogStream on logGroup:Events',
    reason: "Lambda writes the function's output (logs, Powertools' EMF metrics) to its own log group.",
  },
  {
    fn: 'Events',
    grant: 'logs:PutLogEvents on logGroup:Events',
    reason: "Lambda writes the function's output (logs, Powertools' EMF metrics) to its own log group.",
  },
  ...(['Dispatcher', 'ConfigApiFunction', 'Notifier'] as const).flatMap((fn) => [
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
      fn,
      grant: `${action} on logGroup:${fn}`,
      reason: "Lambda writes the function's output (logs, Powertools' EMF metrics) to its own log group.",
    })),
    {
      fn,
      grant: 'managed:AWSLambdaVPCAccessExecutionRole',
      reason:
        "Static egress (egress=nat) only: Lambda creates and removes the function's network interfaces " +
        'in the private subnets.',
    },
  ]),
];
