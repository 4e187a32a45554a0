/**
 * `npm start`: the whole pipeline on this machine, no AWS account. `npm start -- --no-demo` skips the demo;
 * `--dispatchers N` sets how many dispatcher worker processes poll the queue (default 5); `--fresh` wipes the
 * state kept in `.local/` (the table, the queues, the KMS key…) first, and the demo runs once per fresh state.
 * Ports: LOCAL_*_PORT (see ports.ts); `TENANT_SMTP_ALLOW_PRIVATE=0` keeps the production network guard.
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  configureDemoTenants,
  DEMO_TENANTS,
  deliveryWatch,
  demoSesTenants,
  demoTable,
  enqueueDemoMessages,
  waitForDemo,
} from './demo';
import { PortError } from './ports';
import { type LocalStack, localDir, type StackInfo, startLocalStack } from './stack';
import { demoDone, markDemoDone, wipeState } from './state';
import { DEFAULT_DISPATCHERS } from './workers';

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'no-demo': { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
      dispatchers: { type: 'string', default: String(DEFAULT_DISPATCHERS) },
    },
    strict: true,
  });
  const dispatchers = Number(values.dispatchers);
  if (!Number.isInteger(dispatchers) || dispatchers < 1 || dispatchers > 50) {
    say(`--dispatchers must be a whole number from 1 to 50 (got ${values.dispatchers})`);
    process.exit(2);
  }
  const started = Date.now();
  const dir = localDir();

  // Handlers go in before anything starts: a Ctrl-C during start-up waits for it to finish, then closes
  // every server and removes stack.json, rather than killing the process with them half up.
  let startup: Promise<LocalStack | undefined> = Promise.resolve(undefined);
  let stopping = false;
  const starting = new AbortController();
  const stop = async (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    starting.abort(new Error('stopped while starting'));
    say(`\n${why}: stopping the local stack…`);
    await (await startup)?.close();
    say('stopped; every port is free again.');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (values.fresh) await wipeState(dir);
  say(
    `tenant-mailer local stack: starting on 127.0.0.1 (${values.fresh ? 'fresh state' : `state in ${shown(dir)}; --fresh wipes it`})`,
  );
  startup = startLocalStack({ dir, log: say, dispatchers, signal: starting.signal }).catch(
    (error: unknown) => {
      if (!stopping) {
        say();
        say(`could not start the local stack: ${explain(error)}`);
        process.exitCode = 1;
      }
      return undefined;
    },
  );
  const stack = await startup;
  if (stack === undefined || stopping) return;
  const { info } = stack;
  say(
    `ready in ${((Date.now() - started) / 1000).toFixed(1)} s; stack details in ${shown(join(dir, 'stack.json'))}`,
  );

  try {
    const guarded = (process.env.TENANT_SMTP_ALLOW_PRIVATE ?? '1') === '0';
    if (!values['no-demo'] && guarded) {
      say();
      say('demo skipped: TENANT_SMTP_ALLOW_PRIVATE=0 keeps the production network guard, which refuses the');
      say("demo tenants' SMTP servers on 127.0.0.1. Start without it for the demo (or pass --no-demo).");
    } else if (!values['no-demo'] && demoDone(dir)) {
      say();
      say('demo: already ran on this state (its tenants are still configured); --fresh runs it again.');
    } else if (!values['no-demo']) {
      await runDemo(info);
      await markDemoDone(dir);
    }
  } catch (error) {
    if (stopping) return;
    say(`demo failed: ${explain(error)}`);
    await stop('demo failed', 1);
    return;
  }
  if (stopping) return;

  const stackFile = shown(join(dir, 'stack.json'));
  say();
  say(`config API   ${info.apiUrl}   (admin token in ${stackFile}; npm run token -- <tenantId>)`);
  say(`SES mailbox  ${info.sesUrl}   (/store lists what SES sent)`);
  say(`tenant inbox ${info.mailboxUrl}`);
  say(`send mail    npm run send -- --tenant acme --to someone@example.com --subject Hi --text Hello`);
  say();
  say('watching deliveries (Ctrl-C to stop):');
  const watch = deliveryWatch(info, (line) => say(`  ${line}`));
  stack.onBatch((records, failed) => watch.onBatch(records, failed));
}

/** Configures the demo tenants, enqueues their mail and prints where each message went. */
async function runDemo(info: StackInfo): Promise<void> {
  say();
  say(`demo: configuring tenants ${DEMO_TENANTS.join(', ')} through the config API…`);
  const domains = await configureDemoTenants(info);
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
  say(demoTable(info, deliveries, await demoSesTenants(info, domains)));
  say();
  say('acme: its own SMTP server (the tenant mailbox). globex: its server refuses the login, so the');
  say(
    'mail went out through SES from the platform, with the reason recorded. initech: no config → platform.',
  );
  say('umbrella: its mailbox takes only OAuth2 (XOAUTH2); the dispatcher fetched a token from the local');
  say('token server with the refresh-token grant and sent through the XOAUTH2 submission server.');
}

/** A path as the user would type it: relative to the working folder when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
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
