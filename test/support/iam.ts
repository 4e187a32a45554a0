/**
 * What IAM asks of a recorded SDK call, and whether a policy statement allows it: action names,
 * the resource the call acts on, and the condition keys IAM sees (KMS encryption context, SES sender).
 */
import type { AwsCall } from './aws-calls';

/** The stack's resources a function's calls act on. */
export type ResourceKind =
  | 'table'
  | 'passwordKey'
  | 'queue'
  | 'deadLetterQueue'
  | 'alertsQueue'
  | 'sesIdentity'
  | 'sesConfigurationSet'
  | 'sesTenant'
  | 'platformWebhookSecret'
  | 'eventsQueue'
  | 'eventsDeadLetterQueue';

/** One permission a call needs: an action on a resource, with the condition keys IAM evaluates. */
export interface Permission {
  action: string;
  resource: ResourceKind;
  conditionKeys: Record<string, string | string[]>;
}

/** Which resource a request's TableName, QueueUrl, KeyId or SecretId names, in the run that recorded it. */
export type TargetOf = (target: string | undefined) => ResourceKind | undefined;

// SDK operations that IAM authorizes under another action name (batch forms use the single action).
const IAM_ACTION_OF: Record<string, string> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};
// Transactions are authorized per contained item action: map them when a function starts using them.
const UNMAPPED = new Set([
  'dynamodb:TransactWriteItems',
  'dynamodb:TransactGetItems',
  'dynamodb:ExecuteStatement',
]);

/** The permissions one recorded call needs. Throws for a call this mapping does not know yet. */
export function permissionsOf(call: AwsCall, targetOf: TargetOf): Permission[] {
  const sdkName = `${call.service}:${call.operation}`;
  if (UNMAPPED.has(sdkName)) throw new Error(`${sdkName}: map it to its IAM actions in test/support/iam.ts`);
  if (call.service === 'sesv2') return sesPermissions(call);
  const prefix = { dynamodb: 'dynamodb', kms: 'kms', sqs: 'sqs', secretsmanager: 'secretsmanager' }[
    call.service
  ];
  const resource = targetOf(call.target);
  if (prefix === undefined || resource === undefined) {
    throw new Error(`${sdkName} on ${call.target ?? 'no target'}: no IAM mapping for this call`);
  }
  const action = IAM_ACTION_OF[sdkName] ?? `${prefix}:${call.operation}`;
  return [{ action, resource, conditionKeys: kmsConditionKeys(call) }];
}

/**
 * SES v2 SendEmail is authorized as ses:SendEmail, and with Raw content also as ses:SendRawEmail, on
 * the sending identity and on the configuration set named in the request.
 */
function sesPermissions(call: AwsCall): Permission[] {
  const managed = SES_MANAGEMENT[call.operation];
  if (managed !== undefined) {
    const resources = [...managed];
    if (call.resourceArn !== undefined) resources.push(sesKindOf(call.resourceArn));
    return resources.map((resource) => ({ action: `ses:${call.operation}`, resource, conditionKeys: {} }));
  }
  if (call.operation !== 'SendEmail') throw new Error(`sesv2:${call.operation}: no IAM mapping yet`);
  const actions = call.sesContent === 'Raw' ? ['ses:SendEmail', 'ses:SendRawEmail'] : ['ses:SendEmail'];
  const conditionKeys: Record<string, string> = { 'ses:ApiVersion': '2' };
  if (call.fromAddress !== undefined) conditionKeys['ses:FromAddress'] = addressOf(call.fromAddress);
  // ses:TenantName is a condition key of ses:SendEmail only (not of the v1 action ses:SendRawEmail).
  const sendKeys = {
    ...conditionKeys,
    ...(call.tenantName !== undefined && { 'ses:TenantName': call.tenantName }),
  };
  const resources: ResourceKind[] = ['sesIdentity'];
  if (call.configurationSet !== undefined) resources.push('sesConfigurationSet');
  return actions.flatMap((action) =>
    resources.map((resource) => ({
      action,
      resource,
      conditionKeys: action === 'ses:SendEmail' ? sendKeys : conditionKeys,
    })),
  );
}

// SES v2 identity and tenant management: the IAM action is the operation's name, on these resources
// (CreateTenantResourceAssociation also on the associated resource, from its ResourceArn).
const SES_MANAGEMENT: Record<string, ResourceKind[]> = {
  CreateEmailIdentity: ['sesIdentity'],
  GetEmailIdentity: ['sesIdentity'],
  DeleteEmailIdentity: ['sesIdentity'],
  PutEmailIdentityMailFromAttributes: ['sesIdentity'],
  CreateTenant: ['sesTenant'],
  CreateTenantResourceAssociation: ['sesTenant'],
  GetTenant: ['sesTenant'],
  GetReputationEntity: ['sesTenant'],
  UpdateReputationEntityPolicy: ['sesTenant'],
};

function sesKindOf(arn: string): ResourceKind {
  if (arn.includes(':identity/')) return 'sesIdentity';
  if (arn.includes(':configuration-set/')) return 'sesConfigurationSet';
  throw new Error(`${arn}: no resource kind for this SES ARN`);
}

function kmsConditionKeys(call: AwsCall): Record<string, string | string[]> {
  if (call.encryptionContext === undefined) return {};
  const keys: Record<string, string | string[]> = {
    'kms:EncryptionContextKeys': Object.keys(call.encryptionContext),
  };
  for (const [key, value] of Object.entries(call.encryptionContext)) {
    keys[`kms:EncryptionContext:${key}`] = value;
  }
  return keys;
}

function addressOf(from: string): string {
  return /<([^>]+)>\s*$/.exec(from)?.[1] ?? from;
}

/**
 * Evaluates an IAM Condition block against a call's condition keys (the operators this project's
 * policies use). Throws on any other operator, so a new condition cannot pass unchecked.
 */
export function conditionHolds(
  condition: Record<string, Record<string, unknown>> | undefined,
  keys: Record<string, string | string[]>,
): boolean {
  if (condition === undefined) return true;
  return Object.entries(condition).every(([operator, tests]) =>
    Object.entries(tests).every(([key, expected]) => {
      const wanted = (Array.isArray(expected) ? expected : [expected]).map(String);
      const present = keys[key];
      const values = present === undefined ? [] : Array.isArray(present) ? present : [present];
      switch (operator) {
        case 'StringEquals':
          return values.length > 0 && values.every((v) => wanted.includes(v));
        case 'StringLike':
          return values.length > 0 && values.every((v) => wanted.some((w) => globMatches(w, v)));
        case 'ForAllValues:StringEquals':
          return values.every((v) => wanted.includes(v));
        case 'ForAnyValue:StringEquals':
          return values.some((v) => wanted.includes(v));
        case 'Null':
          return wanted.every((w) => (w === 'true') === (present === undefined));
        default:
          throw new Error(`condition operator ${operator}: teach test/support/iam.ts to evaluate it`);
      }
    }),
  );
}

function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(value);
}
