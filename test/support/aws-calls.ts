/**
 * Records the AWS SDK commands each function sends, for the least-privilege test.
 *
 * A recording middleware goes onto every SDK client of this process the first time the client sends
 * (through the SDK's shared base class, so clients the functions build themselves are covered without
 * any hook in production code). A call is attributed to the function whose invocation it belongs to:
 * `within(name, run)` runs an invocation in an AsyncLocalStorage scope, which follows every await,
 * timer and socket callback the invocation starts. Calls outside any scope (test setup, the local
 * stack's own clients, the poller standing in for Lambda's event source mapping) are not recorded.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One SDK command sent by a function, with the request fields IAM decides on. */
export interface AwsCall {
  /** The function whose invocation sent it. */
  fn: string;
  /** The client's service in lower case: `dynamodb`, `kms`, `secretsmanager`, `sesv2`, `sqs`. */
  service: string;
  /** The command name without `Command`, e.g. `GetItem` (lib-dynamodb's `Get` arrives as `GetItem`). */
  operation: string;
  /** The resource named in the request: TableName, QueueUrl, KeyId. */
  target?: string;
  /** KMS: the request's encryption context. */
  encryptionContext?: Record<string, string>;
  /** SES v2 SendEmail: which content (Raw needs ses:SendRawEmail too). */
  sesContent?: 'Raw' | 'Simple' | 'Template';
  /** SES v2: the sender address and the configuration set of the request. */
  fromAddress?: string;
  configurationSet?: string;
  /** SES v2 SendEmail: the SES tenant it goes through (`TenantName`). */
  tenantName?: string;
  /** SES v2 CreateTenantResourceAssociation: the resource it associates. */
  resourceArn?: string;
}

export interface AwsCallRecorder {
  calls: AwsCall[];
  /** Runs `run` (a function's invocation) so that the SDK calls it makes are recorded as `fn`'s. */
  within<T>(fn: string, run: () => T): T;
}

interface MiddlewareContext {
  clientName?: string;
  commandName?: string;
}
type Middleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: MiddlewareContext,
) => (args: { input: unknown }) => Promise<unknown>;
interface SmithyClient {
  middlewareStack: { add(middleware: Middleware, options: { step: string; name: string }): void };
}
interface ClientPrototype {
  send(this: SmithyClient, ...args: unknown[]): unknown;
}

const scope = new AsyncLocalStorage<string>();
const calls: AwsCall[] = [];
let installed = false;

/**
 * Installs the recorder once per process and returns it. Throws when the SDK's clients do not share
 * one base class: a client the patch would miss would make the comparison silently incomplete.
 */
export function recordAwsCalls(): AwsCallRecorder {
  if (!installed) install();
  return { calls, within: (fn, run) => scope.run(fn, run) };
}

function install(): void {
  const clientClasses = [DynamoDBClient, DynamoDBDocumentClient, KMSClient, SESv2Client, SQSClient];
  const bases = new Set(clientClasses.map((c) => Object.getPrototypeOf(c.prototype) as ClientPrototype));
  const [base] = bases;
  if (bases.size !== 1 || base === undefined) {
    throw new Error('the AWS SDK clients have more than one base class: the recorder would miss calls');
  }
  const instrumented = new WeakSet<object>();
  const send = base.send;
  base.send = function recordingSend(this: SmithyClient, ...args: unknown[]) {
    // DynamoDBDocumentClient shares its inner client's stack: one middleware per stack.
    if (!instrumented.has(this.middlewareStack)) {
      instrumented.add(this.middlewareStack);
      this.middlewareStack.add(recorder, { step: 'initialize', name: 'leastPrivilegeRecorder' });
    }
    return send.apply(this, args);
  };
  installed = true;
}

const recorder: Middleware = (next, context) => async (args) => {
  const fn = scope.getStore();
  if (fn !== undefined) calls.push(describeCall(fn, context, args.input as Record<string, unknown>));
  return next(args);
};

function describeCall(fn: string, context: MiddlewareContext, input: Record<string, unknown>): AwsCall {
  const service = (context.clientName ?? 'unknown').replace(/Client$/, '').toLowerCase();
  const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
  const call: AwsCall = { fn, service, operation };
  // BatchGetItem names its table as the key of RequestItems (ours reads one table).
  const batchTable = Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {})[0];
  const target = input.TableName ?? input.QueueUrl ?? input.KeyId ?? input.SecretId ?? batchTable;
  if (typeof target === 'string') call.target = target;
  if (input.EncryptionContext !== undefined) {
    call.encryptionContext = input.EncryptionContext as Record<string, string>;
  }
  const content = input.Content as Record<string, unknown> | undefined;
  if (content !== undefined) {
    call.sesContent = content.Raw ? 'Raw' : content.Template ? 'Template' : 'Simple';
  }
  if (typeof input.FromEmailAddress === 'string') call.fromAddress = input.FromEmailAddress;
  if (typeof input.ConfigurationSetName === 'string') call.configurationSet = input.ConfigurationSetName;
  if (typeof input.ResourceArn === 'string') call.resourceArn = input.ResourceArn;
  if (call.operation === 'SendEmail' && typeof input.TenantName === 'string')
    call.tenantName = input.TenantName;
  return call;
}
