/**
 * `npm run bench`: figures, not tests. Runs the dispatcher handler against the real local servers and
 * writes test/bench/RESULTS.md.
 *
 * - P1: AWS calls per message by kind for a warm batch of 10 of one tenant (SDK middleware counts).
 * - P3: a blackholed tenant server: seconds and connections per batch until the breaker opens, then
 *   while it is open, with the production sender timeouts.
 * - OAuth2: token requests per 1,000 messages of one OAuth2 tenant (XOAUTH2), one and two
 *   containers.
 * - P2e, P2, P4, P5 (sections.ts): the local stack end to end and the handler alone against raw
 *   nodemailer pools (with the workers' CPU profile), bundle sizes and import times, cost per million.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SQSRecord } from 'aws-lambda';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import { createTenantCredentials } from '../../functions/adapters/smtp-credentials';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type DispatcherFixture, mail, startDispatcherFixture } from '../support/dispatcher';
import { OAUTH_CLIENT, OAUTH_MAILBOX, OAuthRig } from '../support/oauth';
import { countCommands, resetCounts } from '../support/sdk';
import { TEST_HOST, testSenderOptions } from '../support/smtp';
import { p2eSection, p2Section, p4Section, p5Section } from './sections';

const READS = new Set([
  'GetCommand',
  'GetItemCommand',
  'QueryCommand',
  'BatchGetCommand',
  'BatchGetItemCommand',
]);
const WRITES = new Set([
  'PutCommand',
  'PutItemCommand',
  'UpdateCommand',
  'UpdateItemCommand',
  'DeleteCommand',
  'DeleteItemCommand',
]);

interface CallCounts {
  dynamo: Record<string, number>;
  kms: Record<string, number>;
  ses: Record<string, number>;
  sqs: Record<string, number>;
}

async function batch(fx: DispatcherFixture, tenantId: string, tag: string): Promise<SQSRecord[]> {
  const bodies = Array.from({ length: 10 }, (_, i) =>
    mail(tenantId, { subject: `${tag} ${i}`, idempotencyKey: `${tag}-${i}` }),
  );
  return fx.receive(bodies);
}

async function invoke(
  handler: DispatchHandler,
  fx: DispatcherFixture,
  records: SQSRecord[],
  remainingMs = 60_000,
) {
  return handler({ Records: records }, localLambdaContext('dispatcher', remainingMs, fx.clock.now));
}

/** P1: one tenant, a cold batch to warm the container, then the counted warm batch. */
async function p1(fx: DispatcherFixture, counts: CallCounts, tenantId: string, tag: string) {
  await invoke(fx.dispatch, fx, await batch(fx, tenantId, `${tag}-cold`));
  const records = await batch(fx, tenantId, `${tag}-warm`);
  for (const c of Object.values(counts)) resetCounts(c);
  const response = await invoke(fx.dispatch, fx, records);
  if (response.batchItemFailures.length > 0) throw new Error(`${tag}: the warm batch did not finish`);
  return structuredClone(counts);
}

function sum(counts: Record<string, number>, names?: Set<string>): number {
  return Object.entries(counts)
    .filter(([name]) => names === undefined || names.has(name))
    .reduce((a, [, n]) => a + n, 0);
}

function p1Table(rows: [string, CallCounts][]): string {
  const lines = [
    '| tenant (route) | DynamoDB reads | DynamoDB writes | KMS | SES | SQS | calls by name (whole batch of 10) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [label, c] of rows) {
    const per = (n: number) => (n / 10).toFixed(1);
    const names = Object.entries({ ...c.dynamo, ...c.kms, ...c.ses, ...c.sqs })
      .map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
      .join(', ');
    lines.push(
      `| ${label} | ${per(sum(c.dynamo, READS))} | ${per(sum(c.dynamo, WRITES))} | ${per(sum(c.kms))} | ${per(sum(c.ses))} | ${per(sum(c.sqs))} | ${names} |`,
    );
  }
  return lines.join('\n');
}

/** P3: batches of 10 to a server that accepts and never greets, with the sender's production timeouts. */
async function p3(fx: DispatcherFixture) {
  const silent = await fx.smtp.startSilent();
  await fx.smtpTenant('p3-blackhole', silent.port);
  const smtp = createTenantSmtpSender(
    testSenderOptions({
      credentials: createKmsCredentials(fx.cipher),
      clock: fx.clock,
      allowInsecure: true,
      timeouts: {},
    }),
  );
  const handler = fx.newContainer({ smtp });
  const rows: string[] = [
    '| batch | seconds | connections | breaker after | sent via SES |',
    '| --- | --- | --- | --- | --- |',
  ];
  let openedAt = -1;
  for (let n = 1; n <= 8 && (openedAt < 0 || n <= openedAt + 2); n += 1) {
    const records = await batch(fx, 'p3-blackhole', `p3-${n}`);
    const before = { connections: silent.connections(), ses: fx.sesRequests.length };
    const started = Date.now();
    await invoke(handler, fx, records);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const health = await fx.health('p3-blackhole');
    const state = health?.state ?? 'healthy';
    if (state === 'unhealthy' && openedAt < 0) openedAt = n;
    rows.push(
      `| ${n} | ${seconds} | ${silent.connections() - before.connections} | ${state} (${health?.consecutiveFailures ?? 0} failures) | ${fx.sesRequests.length - before.ses} |`,
    );
  }
  smtp.close();
  return rows.join('\n');
}

/** OAuth2 token figure: 1,000 messages of one OAuth2 tenant in batches of 10, one container, then two. */
async function oauthTokens(fx: DispatcherFixture) {
  const rig = await new OAuthRig().start({ tokens: { rotate: false } });
  try {
    const encrypt = (plaintext: string) => fx.cipher.encryptPassword('p4-oauth', plaintext, 'smtp-oauth');
    await fx.smtpTenant('p4-oauth', rig.submission.port, {
      smtp: {
        host: TEST_HOST,
        port: rig.submission.port,
        security: 'starttls',
        username: OAUTH_MAILBOX,
        oauth2: {
          provider: 'custom',
          flow: 'refresh-token',
          clientId: OAUTH_CLIENT.clientId,
          tokenUrl: rig.tokens.tokenUrl,
          clientSecretCiphertext: await encrypt(OAUTH_CLIENT.clientSecret),
          refreshTokenCiphertext: await encrypt(OAUTH_CLIENT.refreshToken),
        },
        fromAddress: OAUTH_MAILBOX,
      },
    });
    const container = () =>
      fx.newContainer({
        credentials: createTenantCredentials({
          cipher: fx.cipher,
          store: fx.store,
          clock: fx.clock,
          allowPrivate: true,
        }),
      });
    const rows = ['| containers | messages | token requests | logins |', '| --- | --- | --- | --- |'];
    for (const containers of [1, 2]) {
      const handlers = Array.from({ length: containers }, container);
      const before = { tokens: rig.tokens.tokenRequests(), logins: rig.submission.logins.length };
      for (let n = 0; n < 100; n += 1) {
        const handler = handlers[n % containers] as DispatchHandler;
        await invoke(handler, fx, await batch(fx, 'p4-oauth', `p4-${containers}-${n}`));
      }
      const tokens = rig.tokens.tokenRequests() - before.tokens;
      rows.push(`| ${containers} | 1000 | ${tokens} | ${rig.submission.logins.length - before.logins} |`);
    }
    return rows.join('\n');
  } finally {
    await rig.close();
  }
}

async function main() {
  const fx = await startDispatcherFixture();
  try {
    const counts: CallCounts = {
      dynamo: fx.counts.dynamo,
      kms: fx.counts.kms,
      ses: countCommands(fx.ses.client as never),
      sqs: countCommands(fx.sqs.client as never),
    };
    const peer = await fx.smtp.start();
    await fx.smtpTenant('p1-smtp', peer.port);
    await fx.platformTenant('p1-plat');
    // The same server with sending limits too high to refuse anything: the reservation's own cost.
    await fx.smtpTenant('p1-lim', peer.port, { limits: { perMinute: 10_000, perDay: 1_000_000 } });
    const smtpRow = await p1(fx, counts, 'p1-smtp', 'p1s');
    const limitedRow = await p1(fx, counts, 'p1-lim', 'p1l');
    const reservationWrites = sum(limitedRow.dynamo, WRITES) - sum(smtpRow.dynamo, WRITES);
    const platRow = await p1(fx, counts, 'p1-plat', 'p1p');
    const noConfigRow = await p1(fx, counts, 'p1-none', 'p1n');
    const p1Text = p1Table([
      ['smtp mode (tenant server, STARTTLS + AUTH)', smtpRow],
      ['smtp mode with perMinute and perDay limits', limitedRow],
      ['platform mode (SES)', platRow],
      ['no config (SES)', noConfigRow],
    ]);
    console.log(p1Text);
    const p3Text = await p3(fx);
    console.log(p3Text);
    const tokenText = await oauthTokens(fx);
    console.log(tokenText);
    const p2 = await p2Section(fx);
    const p5Text = await p5Section(fx, p2.batchMs);
    const p2e = await p2eSection();
    const p4Text = await p4Section(p2e.peakRssMiB);
    const cpus = os.cpus();
    const results = `# Benchmark results

Written by \`npm run bench\` (test/bench/bench.ts) on ${new Date().toISOString().slice(0, 10)}: ${os.type()} ${os.release()},
${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, a machine shared with other work. The
dispatcher handler runs in this process against the local servers on 127.0.0.1 (dynalite, the KMS
stand-in, the SES v2 stand-in, fauxqs, smtp-server); P2e runs the whole local stack (\`npm start\`) as
child processes. Figures are counts and ratios of one run, not timed guarantees.

## P1: AWS calls per message, warm batch of 10 of one tenant

Counted with an SDK middleware on each client while the handler processed the second batch of the
tenant in one container (the first one warmed it: KMS plaintext cached, SMTP pool open). Per message
(batch total / 10); the harness's own SQS calls (receive, delete) are not counted.

${p1Text}

Goals: ≤ 1 config read per tenant per batch (the Query of config and health), ≤ 2 writes per delivered
message (claim + delivery record; a health write only on a change, at most every 5 minutes for a
healthy tenant), KMS ≤ 1 per tenant per container per 15 minutes (0 in a warm batch). Reads besides the
config Query: the suppression BatchGetItem (one per batch).

Sending limits (docs/design.md §21): the limited tenant's batch made ${reservationWrites} more write(s) than the
same tenant without limits: one conditional UpdateItem per limited window (minute and day) per tenant
per batch, whatever the batch's size (goal: at most one per window).

## P3: a blackholed tenant server

A server that accepts the TCP connection and never sends its greeting (a blackhole as a tenant's
firewall or a dead MTA looks), with the sender's production timeouts (10 s for connect + greeting).
Batches of 10 messages of that tenant, one invocation each (60 s, like the stack's dispatcher).

${p3Text}

Goal: one connect timeout per batch while the breaker is closed (the batch's other messages skip the
tenant path at once: the failure is remembered for the batch), zero connections while it is open. A
\`connection\` failure counts toward the breaker (3 consecutive open it), so it opens on the third batch.

${p2e.text}
${p2.text}
${p4Text}
${p5Text}
## OAuth2: token requests per 1,000 messages of one OAuth2 tenant

1,000 messages of one tenant with an oauth2 login (refresh-token flow) in batches of 10, through the
dispatcher, against the local token server and XOAUTH2 submission server; first one container, then
two taking turns (fresh containers each time). Logins are XOAUTH2 AUTH commands the server saw.

${tokenText}

Goal: one token request per container per token lifetime (here 1 hour, longer than the run), whatever
the number of messages; one login per kept connection (nodemailer's pool replaces a connection after
100 messages, so 10 logins per 1,000 messages reuse the one cached token).
`;
    const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
    writeFileSync(file, results);
    // The project's formatter aligns the tables, so `npm run lint` stays clean.
    execFileSync(fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url)), [
      'format',
      '--write',
      file,
    ]);
    console.log('wrote test/bench/RESULTS.md');
  } finally {
    await fx.close();
  }
}

await main();
