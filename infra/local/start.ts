/**
 * `npm start`: the whole pipeline on this machine, no AWS account. `npm start -- --no-demo` skips the demo.
 * Ports: LOCAL_*_PORT (see ports.ts); `TENANT_SMTP_ALLOW_PRIVATE=0` keeps the production network guard.
 */
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  configureDemoTenants,
  DEMO_TENANTS,
  demoTable,
  describeBatch,
  enqueueDemoMessages,
  waitForDemo,
} from './demo';
import { PortError } from './ports';
import { type LocalStack, localDir, startLocalStack } from './stack';

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'no-demo': { type: 'boolean', default: false } }, strict: true });
  const started = Date.now();
  say('tenant-mailer local stack: starting on 127.0.0.1');
  let stack: LocalStack;
  try {
    stack = await startLocalStack({ dir: localDir(), log: say });
  } catch (error) {
    say();
    say(`could not start the local stack: ${explain(error)}`);
    process.exitCode = 1;
    return;
  }
  const { info } = stack;
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; stack details in .local/stack.json`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the local stack…`);
    await stack.close();
    say('stopped; every port is free again.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (!values['no-demo']) {
    say();
    say(`demo: configuring tenants ${DEMO_TENANTS.join(', ')} through the config API…`);
    await configureDemoTenants(info);
    const sqs = new SQSClient({
      endpoint: info.endpoints.sqs,
      region: info.region,
      useQueueUrlAsEndpoint: false,
    });
    const count = await enqueueDemoMessages(info, sqs);
    sqs.destroy();
    say(`demo: ${count} messages enqueued; waiting for the dispatcher…`);
    const deliveries = await waitForDemo(info, count / DEMO_TENANTS.length, 45_000);
    say();
    say(demoTable(info, deliveries));
    say();
    say('acme: its own SMTP server (the tenant mailbox). globex: its server refuses the login, so the');
    say(
      'mail went out through SES from the platform, with the reason recorded. initech: no config → platform.',
    );
  }

  say();
  say(`config API   ${info.apiUrl}   (admin token in .local/stack.json; npm run token -- <tenantId>)`);
  say(`SES mailbox  ${info.sesUrl}   (/store lists what SES sent)`);
  say(`tenant inbox ${info.mailboxUrl}`);
  say(`send mail    npm run send -- --tenant acme --to someone@example.com --subject Hi --text Hello`);
  say();
  say('watching deliveries (Ctrl-C to stop):');
  stack.onBatch(async (records, failed) => {
    for (const line of await describeBatch(info, records, failed)) say(`  ${line}`);
  });
}

function explain(error: unknown): string {
  if (error instanceof PortError) return error.message;
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') return `a port is taken (${e.message}); set LOCAL_*_PORT to free ones`;
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') {
    return `a dependency is missing (${e.message}); run npm install first`;
  }
  return error instanceof Error ? error.message : String(error);
}

void main();
