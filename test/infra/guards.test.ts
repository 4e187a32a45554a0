import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/config';
import { buildMailerApp } from '../../infra/mailer-app';
import { nagAcknowledgments } from '../../infra/nag';
import { TenantMailerStack } from '../../infra/stack';
import { cdkJsonContext, type Synthesized, synthMailer, tempOutdir } from './synth';

const VARIANTS = { default: {}, nat: { egress: 'nat' } } as const;
type Variant = keyof typeof VARIANTS;

/** The stack as the app builds it, but with no acknowledgments recorded and no synthesis. */
function unacknowledgedStack(overrides: Record<string, unknown>): TenantMailerStack {
  const context = { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...overrides };
  const app = new App({ context, outdir: tempOutdir() });
  const config = readConfig((key) => app.node.tryGetContext(key));
  return new TenantMailerStack(app, config.stackName, { config });
}

// Each variant synthesized once through the app's cdk-nag plugin (an unacknowledged finding throws).
const synthesized = {} as Record<Variant, Synthesized>;
beforeAll(() => {
  for (const [name, context] of Object.entries(VARIANTS))
    synthesized[name as Variant] = synthMailer({ context });
});

describe.each(Object.keys(VARIANTS) as Variant[])('cdk-nag AwsSolutions (%s)', (variant) => {
  it('leaves no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized[variant].stack);

    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges exactly the findings the stack has, each where it occurs', () => {
    const stack = unacknowledgedStack(VARIANTS[variant]);
    const acknowledgments = nagAcknowledgments(stack);

    const report = new AwsSolutionsChecks().validateScope(stack);

    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })),
    );
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      const covered = acknowledgments.some(
        (a) => a.id === finding.rule && finding.path.startsWith(`${a.scope.node.path}/`),
      );
      expect(covered, `${finding.rule} at ${finding.path}`).toBe(true);
    }
    for (const a of acknowledgments) {
      const used = findings.some((f) => f.rule === a.id && f.path.startsWith(`${a.scope.node.path}/`));
      expect(used, `stale acknowledgment ${a.id} on ${a.scope.node.path}`).toBe(true);
    }
  });

  it('gives every acknowledgment a specific reason', () => {
    const acknowledgments = nagAcknowledgments(synthesized[variant].stack);
    for (const a of acknowledgments) {
      expect(a.reason.length).toBeGreaterThanOrEqual(60);
      expect(a.reason).not.toMatch(/^(ok|fine|n\/a|not needed|suppressed)\.?$/i);
    }
    expect(acknowledgments.length).toBeGreaterThan(0);
  });

  it('never sets TENANT_SMTP_ALLOW_PRIVATE anywhere in the template', () => {
    const { assembly } = synthesized[variant];
    expect(assembly.stacks.length).toBeGreaterThan(0);
    for (const stack of assembly.stacks) {
      expect(JSON.stringify(stack.template)).not.toContain('TENANT_SMTP_ALLOW_PRIVATE');
    }
  });
});

describe('the app', () => {
  it('fails synthesis on a finding nobody acknowledged', () => {
    const app = new App({
      context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
      outdir: tempOutdir(),
    });
    const stack = buildMailerApp(app);
    stack.configFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );

    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });
});
