/** A function role's grants in a synthesized template, named by the stack resources they apply to. */
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ResourceKind } from '../support/iam';
import {
  actionsOf,
  refsOf,
  resourcesOf,
  type StatementJson,
  type Synthesized,
  statementsOfRole,
} from './synth';

export interface StackResources {
  /** The resource kinds a statement names (an unknown resource comes back as its JSON). */
  kindsOf(statement: StatementJson): string[];
}

/** The stack's resources by the JSON its template uses for their ARNs. */
export function stackResources(s: Synthesized): StackResources {
  const { stack } = s;
  const arn = (token: string) => JSON.stringify(stack.resolve(token));
  const kinds = new Map<string, ResourceKind>([
    [arn(stack.data.table.tableArn), 'table'],
    [arn(stack.data.passwordKey.keyArn), 'passwordKey'],
    [arn(stack.mailQueue.queue.queueArn), 'queue'],
    [arn(stack.mailQueue.deadLetterQueue.queueArn), 'deadLetterQueue'],
    [arn(stack.alerts.queue.queueArn), 'alertsQueue'],
    [arn(stack.events.queue.queueArn), 'eventsQueue'],
    [arn(stack.events.deadLetterQueue.queueArn), 'eventsDeadLetterQueue'],
    [arn(stack.mail.configurationSetArn), 'sesConfigurationSet'],
    [arn(stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })), 'sesIdentity'],
    [arn(stack.formatArn({ service: 'ses', resource: 'tenant', resourceName: 'tm-*' })), 'sesTenant'],
  ]);
  // The platform webhook's secret is the operator's, named by ARN in the context (stack props).
  const secretArn = s.app.node.tryGetContext('platformWebhookSecretArn') as string | undefined;
  if (secretArn !== undefined) kinds.set(JSON.stringify(secretArn), 'platformWebhookSecret');
  // Each function's log group, as `logGroup:<construct id>`.
  const named = new Map<string, string>(kinds);
  for (const fn of stack.node.findAll()) {
    if (fn instanceof NodejsFunction) named.set(arn(fn.logGroup.logGroupArn), `logGroup:${fn.node.id}`);
  }
  return {
    kindsOf(statement) {
      const list = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      return list.map((r) => named.get(JSON.stringify(r)) ?? `resource ${JSON.stringify(r)}`);
    },
  };
}

function functionNamed(s: Synthesized, fnId: string): NodejsFunction {
  const fn = s.stack.node.tryFindChild(fnId);
  if (!fn) throw new Error(`the stack has no function ${fnId}`);
  return fn as NodejsFunction;
}

/** The statements of the inline policies on a function's role (the function by its construct id). */
export function roleStatements(s: Synthesized, fnId: string): StatementJson[] {
  return statementsOfRole(s.json, refsOf(s).roleOf(functionNamed(s, fnId)));
}

/**
 * Everything a function's role grants: `<action> on <resource kind>` per Allow statement, and
 * `managed:<name>` per attached managed policy.
 */
export function grantsOf(s: Synthesized, fnId: string, resources: StackResources): string[] {
  const grants = roleStatements(s, fnId)
    .filter((st) => st.Effect === 'Allow')
    .flatMap((st) =>
      actionsOf(st).flatMap((action) => resources.kindsOf(st).map((kind) => `${action} on ${kind}`)),
    );
  const roleId = refsOf(s).roleOf(functionNamed(s, fnId));
  const role = resourcesOf(s.json, 'AWS::IAM::Role')[roleId];
  const managed = JSON.stringify(role?.Properties?.ManagedPolicyArns ?? []);
  for (const [, name] of managed.matchAll(/:policy\/(?:service-role\/)?([\w+=,.@-]+)/g)) {
    grants.push(`managed:${name}`);
  }
  return grants;
}
