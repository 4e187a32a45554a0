/**
 * P2 for `npm run bench`: the dispatcher handler alone, in this process, fed SQS events built here (no
 * queue), against the real table (dynalite), the KMS stand-in and STARTTLS + AUTH peers; as many
 * containers as the stack's dispatcher workers, each taking one batch of 10 at a time. Compared with raw
 * nodemailer pools holding as many connections to the same peers.
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import nodemailer from 'nodemailer';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type DispatcherFixture, mail } from '../support/dispatcher';
import { TEST_CA, TEST_HOST, TEST_PASSWORD, TEST_USER, type TestSmtpServer } from '../support/smtp';
import type { Throughput } from './pipeline';

export const HANDLER_TENANTS = 10;
export const HANDLER_CONTAINERS = 5;

export interface HandlerRig {
  peers: TestSmtpServer[];
  containers: DispatchHandler[];
}

const tenantOf = (i: number) => `p2-t${i % HANDLER_TENANTS}`;

/** One STARTTLS + AUTH peer per tenant, configured in the table, and the containers. */
export async function startHandlerRig(fx: DispatcherFixture): Promise<HandlerRig> {
  const peers: TestSmtpServer[] = [];
  for (let i = 0; i < HANDLER_TENANTS; i += 1) {
    const peer = await fx.smtp.start();
    await fx.smtpTenant(tenantOf(i), peer.port);
    peers.push(peer);
  }
  const containers = Array.from({ length: HANDLER_CONTAINERS }, () => fx.newContainer());
  return { peers, containers };
}

/** An SQS record as Lambda's event source hands it over, built in process. */
function record(body: object): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: `p2-${randomUUID()}`,
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:tenant-mailer',
    awsRegion: 'us-east-1',
  };
}

function received(peers: TestSmtpServer[]): number {
  return peers.reduce((n, p) => n + p.received.length, 0);
}

function connections(peers: TestSmtpServer[]): number {
  return peers.reduce((n, p) => n + p.connections(), 0);
}

/**
 * `count` messages round-robin over the tenants in batches of 10; the containers take the next batch as
 * each finishes its last. Every record must be reported done and reach its peer.
 */
export async function runHandler(
  fx: DispatcherFixture,
  rig: HandlerRig,
  count: number,
  tag: string,
): Promise<Throughput & { viaSes: number }> {
  const batches: SQSRecord[][] = [];
  for (let i = 0; i < count; i += 10) {
    batches.push(
      Array.from({ length: Math.min(10, count - i) }, (_, j) =>
        record(
          mail(tenantOf(i + j), {
            to: `lead-${i + j}@customer.example`,
            subject: `${tag} ${i + j}`,
            idempotencyKey: `${tag}-${i + j}`,
          }),
        ),
      ),
    );
  }
  const before = {
    received: received(rig.peers),
    connections: connections(rig.peers),
    ses: fx.sesRequests.length,
  };
  let next = 0;
  let failures = 0;
  const started = Date.now();
  await Promise.all(
    rig.containers.map(async (handler) => {
      for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
        const response = await handler(
          { Records: batch },
          localLambdaContext('dispatcher', 60_000, fx.clock.now),
        );
        failures += response.batchItemFailures.length;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const viaSes = fx.sesRequests.length - before.ses;
  const atPeers = received(rig.peers) - before.received;
  if (failures > 0 || atPeers + viaSes < count) {
    throw new Error(
      `P2 ${tag}: ${failures} left queued, ${atPeers} at the peers, ${viaSes} via SES of ${count}`,
    );
  }
  return {
    messages: count,
    seconds,
    perSecond: count / seconds,
    connections: connections(rig.peers) - before.connections,
    viaSes,
  };
}

/** Raw nodemailer pools to the same peers (the test CA, the certificate's name), all messages at once. */
export async function rawPoolsToTestPeers(
  peers: TestSmtpServer[],
  count: number,
  tag: string,
  connectionsPerTenant: number,
): Promise<Throughput> {
  const pools = peers.map((peer) =>
    nodemailer.createTransport({
      pool: true,
      maxConnections: connectionsPerTenant,
      host: '127.0.0.1',
      port: peer.port,
      secure: false,
      requireTLS: true,
      auth: { user: TEST_USER, pass: TEST_PASSWORD },
      tls: { ca: [TEST_CA], servername: TEST_HOST },
    }),
  );
  const before = { received: received(peers), connections: connections(peers) };
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        pools[i % peers.length]?.sendMail({
          from: `notifications@${tenantOf(i)}.test`,
          to: `lead-${i}@customer.example`,
          subject: `${tag} ${i}`,
          text: 'Someone filled in your form.',
        }),
      ),
    );
  } finally {
    for (const pool of pools) pool.close();
  }
  const seconds = (Date.now() - started) / 1000;
  if (received(peers) - before.received < count)
    throw new Error(`raw pools ${tag}: not every message arrived`);
  return {
    messages: count,
    seconds,
    perSecond: count / seconds,
    connections: connections(peers) - before.connections,
  };
}
