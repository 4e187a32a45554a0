import { App } from 'aws-cdk-lib';
import { buildMailerApp } from './mailer-app';

// `cdk synth` / `cdk deploy` entry (cdk.json: `npx tsx infra/app.ts`). Context values: README.md, "Deploy to AWS".
buildMailerApp(new App());
