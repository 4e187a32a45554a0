import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const VPC_ACCESS =
  'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';

/** One acknowledged cdk-nag finding: the construct it applies to (and its children), the rule, why. */
export interface NagAcknowledgment {
  scope: IConstruct;
  id: string;
  reason: string;
}

/** A function and its role (IAM findings sit on the role, which is not a child of the function). */
export interface FunctionLike extends IConstruct {
  role?: IConstruct | undefined;
}

/**
 * The parts of the stack the acknowledgments name. The app passes the stack (infra/mailer-app.ts);
 * nag.ts and stack.ts do not import each other.
 */
export interface NagSubject {
  dispatcher: FunctionLike;
  configFunction: FunctionLike;
  /** The tenant alerts' notifier (docs/design.md §18). */
  alerts: { notifier: FunctionLike };
  /** The SES delivery events function (docs/design.md §19). */
  events: { handler: FunctionLike };
  /** Set when the functions run in a VPC (static egress). */
  egress: unknown;
  api: { publicRoutes: readonly IConstruct[] };
}

/**
 * The cdk-nag AwsSolutions findings this stack accepts, each narrowed to one construct and, for granular
 * rules, to one finding (`Rule[finding]`), so a new wildcard or managed policy still fails synthesis.
 */
export function nagAcknowledgments(stack: NagSubject): NagAcknowledgment[] {
  const list: NagAcknowledgment[] = [];
  for (const fn of [stack.dispatcher, stack.configFunction, stack.alerts.notifier, stack.events.handler]) {
    list.push({
      scope: fn,
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the project targets (contract and esbuild target node22); moving to a newer ' +
        'runtime is a deliberate, tested change, not a side effect of a CDK upgrade.',
    });
  }
  // The events function talks to DynamoDB and SQS only and stays out of the VPC.
  for (const fn of [stack.dispatcher, stack.configFunction, stack.alerts.notifier]) {
    if (stack.egress) {
      list.push({
        scope: fn.role ?? fn,
        id: `AwsSolutions-IAM4[${VPC_ACCESS}]`,
        reason:
          'Static egress puts the function in a VPC; Lambda needs AWSLambdaVPCAccessExecutionRole to manage ' +
          'its network interfaces (ec2:*NetworkInterface*, which has no resource-level scoping).',
      });
    }
  }
  list.push({
    scope: stack.dispatcher.role ?? stack.dispatcher,
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
    reason:
      'Domain tier: the dispatcher sends as each tenant domain verified in SES after deploy, and reads the ' +
      "verification of one SES refuses (to record it on the tenant's claim), so the identities cannot be " +
      'listed here. Scoped to this account and region; SES refuses unverified identities.',
  });
  list.push(
    {
      scope: stack.configFunction.role ?? stack.configFunction,
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
      reason:
        'Domain routes: the config API creates, reads and deletes the SES identity of each domain a tenant ' +
        'claims at run time, so the names cannot be listed here. Scoped to this account and region.',
    },
    {
      scope: stack.configFunction.role ?? stack.configFunction,
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:tenant/tm-*]',
      reason:
        'SES tenants are created per tenant-mailer tenant at run time (tm-<tenantId>, ARN tenant/<name>/<id>); ' +
        'the grant is limited to that prefix in this account and region.',
    },
    {
      scope: stack.alerts.notifier.role ?? stack.alerts.notifier,
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:tenant/tm-*]',
      reason:
        "An alert email may be a tenant's first SES send (a hold-policy tenant never falls back), so the " +
        'notifier makes its SES tenant (tm-<tenantId>) on first need like the dispatcher; limited to that prefix.',
    },
    {
      scope: stack.dispatcher.role ?? stack.dispatcher,
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:tenant/tm-*]',
      reason:
        'SES tenants are created per tenant-mailer tenant at run time (tm-<tenantId>, ARN tenant/<name>/<id>); ' +
        'the grant is limited to that prefix in this account and region.',
    },
  );
  // Tenant alerts: the notifier mails alert emails from the platform sender (the config API's test alert
  // is covered by its acknowledgment above).
  list.push({
    scope: stack.alerts.notifier.role ?? stack.alerts.notifier,
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
    reason:
      'Tenant alerts go out through SES from the platform sender, whose identity (an address or its domain) ' +
      'SES authorizes on the identity ARN; scoped to this account and region like the dispatcher.',
  });
  for (const route of stack.api.publicRoutes) {
    list.push({
      scope: route,
      id: 'AwsSolutions-APIG4',
      reason:
        'GET /openapi.json is public by contract: the API description holds no tenant data; every other ' +
        'route has the JWT authorizer.',
    });
  }
  return list;
}

/** Records the acknowledgments on their constructs (read by cdk-nag's AwsSolutions pack at synthesis). */
export function acknowledgeNagFindings(stack: NagSubject): void {
  for (const { scope, id, reason } of nagAcknowledgments(stack)) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}
