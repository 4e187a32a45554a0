/**
 * P5 for `npm run bench`: the platform's AWS cost per million messages, from what a warm batch of 10 of
 * one tenant asks of each service (P1's calls, DynamoDB's consumed capacity units as the local table
 * reports them, the EMF bytes the dispatcher prints) and the dispatcher's time per batch (P2), priced with
 * the public us-east-1 price list below. An estimate: free tiers, data transfer and the NAT gateway of
 * static egress are left out, and Lambda's duration here is the local one (slower than in AWS).
 */
import type { SQSRecord } from 'aws-lambda';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type DispatcherFixture, mail } from '../support/dispatcher';

/** The public price list used (us-east-1, on-demand, no free tier), and when it was read. */
export const PRICES = {
  readOn: '2025-01 (AWS pricing pages; the bench has no network and does not fetch them)',
  lambdaGbSecondArm: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  sqsPerMillionRequests: 0.4,
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
  kmsPer10kRequests: 0.03,
  sesPer1000Emails: 0.1,
  snsPerMillionPublishes: 0.5,
  cloudWatchLogsPerGbIngested: 0.5,
} as const;

/** The dispatcher's memory (infra/stack.ts) and batch size. */
const DISPATCHER_GB = 0.5;
const BATCH = 10;
/** Lambda's own log lines per invocation (START, END, REPORT), bytes, about. */
const PLATFORM_LOG_BYTES = 350;

export interface UnitMeter {
  readUnits: number;
  writeUnits: number;
}

const READ_COMMANDS = /^(Get|BatchGet|Query|Scan)/;

/** Asks DynamoDB for the consumed capacity of every call of `client` and sums it, read and write. */
export function meterCapacity(client: {
  middlewareStack: { add: (mw: unknown, opts: object) => void };
}): UnitMeter {
  const meter: UnitMeter = { readUnits: 0, writeUnits: 0 };
  client.middlewareStack.add(
    (
      next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
      ctx: { commandName?: string },
    ) =>
      async (args: { input: Record<string, unknown> }) => {
        args.input.ReturnConsumedCapacity = 'TOTAL';
        const result = await next(args);
        const consumed = result.output.ConsumedCapacity as
          | { CapacityUnits?: number }
          | { CapacityUnits?: number }[]
          | undefined;
        const units = [consumed ?? []].flat().reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
        if (READ_COMMANDS.test(ctx.commandName ?? '')) meter.readUnits += units;
        else meter.writeUnits += units;
        return result;
      },
    { step: 'initialize', name: `capacity-${Math.random()}` },
  );
  return meter;
}

/** What one warm batch of 10 of a tenant consumed, per message. */
export interface MessageUsage {
  label: string;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  kmsRequests: number;
  sesEmails: number;
  /** SQS requests of the dispatcher itself (visibility changes, DLQ sends). */
  dispatcherSqsRequests: number;
  emfBytes: number;
}

/** Runs `run` with stdout captured (EMF lines), Powertools metrics on. */
async function printed(run: () => Promise<void>): Promise<string> {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const write = process.stdout.write.bind(process.stdout);
  const chunks: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(chunk.toString());
    return true;
  }) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
  return chunks.join('');
}

async function invoke(fx: DispatcherFixture, handler: DispatchHandler, records: SQSRecord[]) {
  const response = await handler(
    { Records: records },
    localLambdaContext('dispatcher', 60_000, fx.clock.now),
  );
  if (response.batchItemFailures.length > 0) throw new Error('P5: a batch did not finish');
}

/**
 * A warm batch of 10 of `tenantId` in a fresh container with metrics on: consumed capacity, KMS and SES
 * requests and the EMF bytes printed, per message. `counts` are the fixture's SDK counters.
 */
export async function measureUsage(
  fx: DispatcherFixture,
  meter: UnitMeter,
  counts: { kms: Record<string, number>; ses: Record<string, number>; sqs: Record<string, number> },
  tenantId: string,
  label: string,
): Promise<MessageUsage> {
  const batch = (tag: string) =>
    fx.receive(
      Array.from({ length: BATCH }, (_, i) =>
        mail(tenantId, { subject: `${tag} ${i}`, idempotencyKey: `${tag}-${i}` }),
      ),
    );
  let usage: MessageUsage | undefined;
  const text = await printed(async () => {
    const handler = fx.newContainer();
    await invoke(fx, handler, await batch(`p5-${tenantId}-cold`));
    const records = await batch(`p5-${tenantId}-warm`);
    const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    const before = { ...meter, kms: sum(counts.kms), ses: sum(counts.ses), sqs: sum(counts.sqs) };
    await invoke(fx, handler, records);
    usage = {
      label,
      dynamoReadUnits: (meter.readUnits - before.readUnits) / BATCH,
      dynamoWriteUnits: (meter.writeUnits - before.writeUnits) / BATCH,
      kmsRequests: (sum(counts.kms) - before.kms) / BATCH,
      sesEmails: (sum(counts.ses) - before.ses) / BATCH,
      dispatcherSqsRequests: (sum(counts.sqs) - before.sqs) / BATCH,
      emfBytes: 0,
    };
  });
  if (!usage) throw new Error('P5: no usage measured');
  // The EMF lines of the warm batch: the second half of what the two batches printed, about.
  const emf = text.split('\n').filter((line) => line.includes('"_aws"'));
  usage.emfBytes = emf.slice(Math.floor(emf.length / 2)).reduce((n, line) => n + line.length + 1, 0) / BATCH;
  return usage;
}

export interface CostRow {
  item: string;
  perMessage: string;
  price: string;
  perMillion: number;
}

/**
 * Cost per million messages of one route. `batchMs`: the dispatcher's wall time per warm batch of 10
 * (P2, per container). SQS: the producer's SendMessageBatch (10 a call), the event source's receive and
 * delete per batch (long polls that come back empty are left out), plus the dispatcher's own calls.
 */
export function costRows(usage: MessageUsage, batchMs: number): CostRow[] {
  const perMessageGbS = (batchMs / 1000 / BATCH) * DISPATCHER_GB;
  const sqsPerMessage = 0.1 + 0.1 + 0.1 + usage.dispatcherSqsRequests;
  const logBytes = usage.emfBytes + PLATFORM_LOG_BYTES / BATCH;
  const m = 1_000_000;
  return [
    {
      item: 'Lambda duration (dispatcher, 512 MB arm64)',
      perMessage: `${perMessageGbS.toFixed(4)} GB-s (${(batchMs / BATCH).toFixed(0)} ms)`,
      price: `$${PRICES.lambdaGbSecondArm} / GB-s`,
      perMillion: perMessageGbS * PRICES.lambdaGbSecondArm * m,
    },
    {
      item: 'Lambda requests (one per batch of 10)',
      perMessage: '0.1',
      price: `$${PRICES.lambdaPerMillionRequests} / million`,
      perMillion: 0.1 * PRICES.lambdaPerMillionRequests,
    },
    {
      item: 'SQS requests (send 1/10, receive 1/10, delete 1/10, dispatcher)',
      perMessage: sqsPerMessage.toFixed(2),
      price: `$${PRICES.sqsPerMillionRequests} / million`,
      perMillion: sqsPerMessage * PRICES.sqsPerMillionRequests,
    },
    {
      item: 'DynamoDB write request units',
      perMessage: usage.dynamoWriteUnits.toFixed(2),
      price: `$${PRICES.dynamoPerMillionWriteUnits} / million`,
      perMillion: usage.dynamoWriteUnits * PRICES.dynamoPerMillionWriteUnits,
    },
    {
      item: 'DynamoDB read request units',
      perMessage: usage.dynamoReadUnits.toFixed(2),
      price: `$${PRICES.dynamoPerMillionReadUnits} / million`,
      perMillion: usage.dynamoReadUnits * PRICES.dynamoPerMillionReadUnits,
    },
    {
      item: 'KMS requests (warm: cached plaintext)',
      perMessage: usage.kmsRequests.toFixed(2),
      price: `$${PRICES.kmsPer10kRequests} / 10,000`,
      perMillion: usage.kmsRequests * PRICES.kmsPer10kRequests * 100,
    },
    {
      item: 'SES emails',
      perMessage: usage.sesEmails.toFixed(2),
      price: `$${PRICES.sesPer1000Emails} / 1,000`,
      perMillion: usage.sesEmails * PRICES.sesPer1000Emails * 1000,
    },
    {
      item: 'SES events (Send + Delivery → SNS publishes → events queue + function)',
      perMessage: usage.sesEmails > 0 ? '2 publishes, 0.4 SQS, 0.2 invocations, 2 WRU' : '0',
      price: `SNS $${PRICES.snsPerMillionPublishes} / million`,
      perMillion:
        usage.sesEmails > 0
          ? 2 * PRICES.snsPerMillionPublishes +
            0.4 * PRICES.sqsPerMillionRequests +
            0.2 * PRICES.lambdaPerMillionRequests +
            2 * PRICES.dynamoPerMillionWriteUnits
          : 0,
    },
    {
      item: 'CloudWatch Logs ingestion (EMF metrics + Lambda REPORT lines)',
      perMessage: `${logBytes.toFixed(0)} bytes`,
      price: `$${PRICES.cloudWatchLogsPerGbIngested} / GB`,
      perMillion: (logBytes * m * PRICES.cloudWatchLogsPerGbIngested) / 1024 ** 3,
    },
  ];
}

export function costTable(routes: { usage: MessageUsage; rows: CostRow[] }[]): string {
  const lines: string[] = [];
  for (const { usage, rows } of routes) {
    const total = rows.reduce((n, r) => n + r.perMillion, 0);
    lines.push(
      `**${usage.label}**: about $${total.toFixed(2)} per million messages`,
      '',
      '| item | per message | price used | $ per million messages |',
      '| --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.item} | ${r.perMessage} | ${r.price} | ${r.perMillion.toFixed(3)} |`),
      `| total | | | ${total.toFixed(2)} |`,
      '',
    );
  }
  return lines.join('\n').trimEnd();
}
