import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll } from 'vitest';
import { REPO_ROOT } from '../../infra/lambda';
import { buildMailerApp } from '../../infra/mailer-app';
import type { TenantMailerStack } from '../../infra/stack';

// Cloud assemblies of this test file; removed when it ends (CDK's own temp dirs would stay behind).
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory for a cloud assembly, removed after the test file. */
export function tempOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-mailer-cdk-'));
  outdirs.push(dir);
  return dir;
}

/** cdk.json's context: feature flags and the example values, as `cdk synth` sees them. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface Synthesized {
  app: App;
  stack: TenantMailerStack;
  assembly: CloudAssembly;
  template: Template;
  /** The raw template, for whole-document checks. */
  json: Record<string, unknown>;
}

export interface SynthOptions {
  /** Overrides on top of cdk.json's context. */
  context?: Record<string, unknown>;
  /** Run esbuild (slow); default false: template tests do not need the bundles. */
  bundle?: boolean;
  /** Where the cloud assembly goes; default a temp directory removed after the test file. */
  outdir?: string;
}

/**
 * Builds and synthesizes the app as infra/app.ts does (cdk-nag plugin included, so an unacknowledged
 * finding throws here). Without `bundle`, CDK's own `aws:cdk:bundling-stacks` skips esbuild.
 */
export function synthMailer(options: SynthOptions = {}): Synthesized {
  const context = {
    ...cdkJsonContext(),
    ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    ...options.context,
  };
  const app = new App({ context, outdir: options.outdir ?? tempOutdir() });
  const stack = buildMailerApp(app);
  const assembly = app.synth();
  const json = assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
  return { app, stack, assembly, template: Template.fromJSON(json), json };
}

/** A stand-in for a value made in beforeAll: reads go to the value, and fail before it exists. */
function madeLater<T extends object>(what: string, get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const value = get();
      if (value === undefined) throw new Error(`${what} is made in beforeAll; read it inside a test`);
      return Reflect.get(value, key, value);
    },
  });
}

/**
 * One synthesis shared by every test of the file, made in its beforeAll: `s` the synthesized stack,
 * `r` its reference helpers. Declare at the top of the file; read them inside tests.
 */
export function synthForFile(options: SynthOptions = {}): { s: Synthesized; r: Refs } {
  let synthesized: Synthesized | undefined;
  let refs: Refs | undefined;
  beforeAll(() => {
    synthesized = synthMailer(options);
    refs = refsOf(synthesized);
  });
  return { s: madeLater('the synthesis', () => synthesized), r: madeLater('the refs', () => refs) };
}

/** Resources of one type in a raw template, by logical id. */
export function resourcesOf(json: Record<string, unknown>, type: string): Record<string, CfnResourceJson> {
  const resources = json.Resources as Record<string, CfnResourceJson>;
  return Object.fromEntries(Object.entries(resources).filter(([, r]) => r.Type === type));
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface StatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** Every IAM statement of the inline policies attached to `roleLogicalId`. */
export function statementsOfRole(json: Record<string, unknown>, roleLogicalId: string): StatementJson[] {
  return Object.values(resourcesOf(json, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties?.Roles).includes(`"${roleLogicalId}"`))
    .flatMap(statementsOf);
}

/** The statements of a policy resource (AWS::IAM::Policy or AWS::IAM::ManagedPolicy). */
export function statementsOf(policy: CfnResourceJson): StatementJson[] {
  const document = policy.Properties?.PolicyDocument as { Statement: StatementJson[] } | undefined;
  return document?.Statement ?? [];
}

/** The properties of one resource; throws when it is missing. */
export function propsOf(
  json: Record<string, unknown>,
  type: string,
  logicalId: string,
): Record<string, unknown> {
  const props = resourcesOf(json, type)[logicalId]?.Properties;
  if (!props) throw new Error(`no ${type} ${logicalId}`);
  return props;
}

/** A Lambda function's environment variables as written in the template. */
export function environmentOf(json: Record<string, unknown>, logicalId: string): Record<string, unknown> {
  const env = propsOf(json, 'AWS::Lambda::Function', logicalId).Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  return env?.Variables ?? {};
}

/** A statement's actions as an array. */
export function actionsOf(statement: StatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** How a synthesized template refers to the stack's constructs. */
export interface Refs {
  /** The logical id of a construct's CloudFormation resource. */
  id(construct: IConstruct): string;
  ref(construct: IConstruct): { Ref: string };
  arnOf(construct: IConstruct): { 'Fn::GetAtt': [string, 'Arn'] };
  /** The logical id of a function's role. */
  roleOf(fn: { role?: IRole | undefined }): string;
}

/** Reference helpers for one synthesized stack. */
export function refsOf(s: Synthesized): Refs {
  const id = (construct: IConstruct) => s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return {
    id,
    ref: (construct) => ({ Ref: id(construct) }),
    arnOf: (construct) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] }),
    roleOf: (fn) => {
      if (!fn.role) throw new Error('function without a role');
      return id(fn.role);
    },
  };
}

/** The Allow statements among `statements` that grant `action`. */
export function allowing(statements: StatementJson[], action: string): StatementJson[] {
  return statements.filter((st) => st.Effect === 'Allow' && actionsOf(st).includes(action));
}
