import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { MailerConfig } from './config';
import { DEFAULT_METRICS_NAMESPACE } from './metrics';

/** The repository root: esbuild's working directory and where package-lock.json lives. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * ESM output (`index.mjs`), so the ESM sources keep their semantics (top-level await, import.meta).
 * Bundled CommonJS dependencies still call `require` for Node built-ins; ESM has none, so the banner
 * defines one. The alias keeps it from colliding with an `import { createRequire }` in the bundle.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __tmCreateRequire } from 'node:module'; const require = __tmCreateRequire(import.meta.url);";

/** The settings both handlers read (docs/design.md §3 Settings); never TENANT_SMTP_ALLOW_PRIVATE. */
export interface SettingsValues {
  tableName: string;
  kmsKeyId: string;
  queueUrl: string;
  dlqUrl: string;
  sesConfigurationSet: string;
}

/** The environment of a handler: the settings of docs/design.md §3 plus Powertools' own. */
export function settingsEnvironment(
  config: MailerConfig,
  values: SettingsValues,
  serviceName: string,
): Record<string, string> {
  return {
    TABLE_NAME: values.tableName,
    KMS_KEY_ID: values.kmsKeyId,
    QUEUE_URL: values.queueUrl,
    DLQ_URL: values.dlqUrl,
    PLATFORM_FROM_ADDRESS: config.platformFromAddress,
    PLATFORM_NAME: config.platformName,
    SES_CONFIGURATION_SET: values.sesConfigurationSet,
    MAX_ATTEMPTS: String(config.maxAttempts),
    HOLD_MAX_AGE_SECONDS: String(config.holdMaxAgeSeconds),
    SES_REPUTATION_POLICY: config.sesReputationPolicy,
    POWERTOOLS_SERVICE_NAME: serviceName,
    POWERTOOLS_METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
  };
}

export interface BundledFunctionProps {
  /** Handler source, relative to the repository root (exports `handler`). */
  entry: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  environment: Record<string, string>;
  /** Set for static egress: the function runs in these subnets behind the NAT gateway. */
  network?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] } | undefined;
}

/**
 * A handler bundled locally by esbuild (no Docker): nodejs22.x on arm64, minified ESM with source maps.
 *
 * The AWS SDK v3 is bundled too (`externalModules: []`) rather than taken from the runtime: the version
 * that ran the tests is the version that runs in Lambda (the runtime's copy changes without notice and
 * may lag the clients' features), and a tree-shaken bundle loads faster than resolving the runtime's
 * node_modules.
 */
export function bundledFunction(scope: Construct, id: string, props: BundledFunctionProps): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // The function's own role writes to its own log group only (AWSLambdaBasicExecutionRole would allow
  // every log group of the account). In a VPC, Lambda also manages the function's network interfaces.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    managedPolicies: props.network
      ? [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')]
      : [],
  });
  logGroup.grantWrite(role);
  return new NodejsFunction(scope, id, {
    entry: join(REPO_ROOT, props.entry),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    timeout: props.timeout,
    memorySize: props.memorySize,
    // Stack traces through the source map: a production error names the TypeScript line.
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    logGroup,
    role,
    ...(props.network
      ? {
          vpc: props.network.vpc,
          vpcSubnets: props.network.subnets,
          securityGroups: props.network.securityGroups,
        }
      : {}),
    bundling: {
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      format: OutputFormat.ESM,
      mainFields: ['module', 'main'],
      target: 'node22',
      banner: ESM_REQUIRE_BANNER,
      externalModules: [],
      forceDockerBundling: false,
    },
  });
}
