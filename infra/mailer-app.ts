import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config';
import { acknowledgeNagFindings } from './nag';
import { TenantMailerStack } from './stack';

/**
 * Builds the tenant-mailer app on `app`: the stack from the app's context, checked by cdk-nag's
 * AwsSolutions pack (an unacknowledged finding fails synthesis) after the findings the stack accepts
 * (infra/nag.ts) are acknowledged. Shared by infra/app.ts and the tests.
 */
export function buildMailerApp(app: App): TenantMailerStack {
  const config = readConfig((key) => app.node.tryGetContext(key));
  // Environment-agnostic: deploys to the CLI's account and region, and synthesizes with no credentials.
  const stack = new TenantMailerStack(app, config.stackName, {
    config,
    description: 'tenant-mailer: per-tenant SMTP for notification email, with SES fallback',
  });
  acknowledgeNagFindings(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
