/**
 * `npm run send -- --tenant <id> --to <addr> --subject <s> --text <t> ...`: enqueues one message on the
 * running local stack's queue (found through `.local/stack.json`) and prints its SQS message id.
 * Exit codes: 0 sent (or --help), 1 could not send (stack not running, SQS error), 2 bad arguments or an
 * invalid message.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { QueueError } from '../../functions/core/errors';
import { MESSAGE_KINDS } from '../../functions/core/message';
import type { MessageKind } from '../../functions/core/types';
import {
  createProducer,
  encodeQueueMessage,
  ProducerValidationError,
  type QueueMessageInput,
} from '../../functions/producer';

/** Where the running local stack describes itself (repo root `.local/`, whatever the working directory). */
export const DEFAULT_STACK_FILE = fileURLToPath(new URL('../../.local/stack.json', import.meta.url));

export const USAGE = `usage: npm run send -- --tenant <id> --to <addr> [--to <addr2>] --subject <s> --text <t>
                        [--html <h>] [--kind notification|autoresponder|digest] [--reply-to <a>]
Enqueues one message on the local stack's queue (start it first: npm start) and prints its message id.
Exit codes: 0 sent, 1 could not send, 2 bad arguments or invalid message.`;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad command-line arguments (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The local stack is not running or its stack file is unreadable (exit code 1). */
export class StackNotRunningError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StackNotRunningError';
  }
}

export type SendCommand = { help: true } | { help: false; message: QueueMessageInput };

/** Parses the CLI arguments (after `--`) into a queue message; throws UsageError. No I/O. */
export function parseSendArgs(argv: readonly string[]): SendCommand {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { help: true };
  const { tenant, to, subject, text, html, kind } = values;
  const replyTo = values['reply-to'];
  if (tenant === undefined) throw new UsageError('missing --tenant <id>');
  if (to === undefined || to.length === 0) throw new UsageError('missing --to <addr>');
  if (subject === undefined) throw new UsageError('missing --subject <s>');
  if (text === undefined && html === undefined) throw new UsageError('missing --text <t> (or --html <h>)');
  if (kind !== undefined && !isKind(kind)) {
    throw new UsageError(`--kind must be one of ${MESSAGE_KINDS.join(', ')}`);
  }
  const message: QueueMessageInput = {
    v: 1,
    tenantId: tenant,
    to,
    subject,
    ...(kind === undefined ? {} : { kind }),
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    ...(replyTo === undefined ? {} : { replyTo }),
  };
  return { help: false, message };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      tenant: { type: 'string' },
      to: { type: 'string', multiple: true },
      subject: { type: 'string' },
      text: { type: 'string' },
      html: { type: 'string' },
      kind: { type: 'string' },
      'reply-to': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function isKind(value: string): value is MessageKind {
  return (MESSAGE_KINDS as readonly string[]).includes(value);
}

const stackFileSchema = z.object({
  queueUrl: z.string().min(1),
  region: z.string().min(1),
  endpoints: z.object({ sqs: z.url() }),
});

/** The parts of `.local/stack.json` the sender needs. */
export type LocalStackInfo = z.infer<typeof stackFileSchema>;

/**
 * Reads the running stack's file (the parts `schema` names; by default what the sender needs); throws
 * StackNotRunningError when it is absent or unreadable.
 */
export async function readStackFile<S extends z.ZodType = typeof stackFileSchema>(
  path: string,
  schema?: S,
): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackNotRunningError(`no ${path}: start the local stack first: npm start`, { cause: error });
    }
    throw error;
  }
  try {
    return (schema ?? stackFileSchema).parse(JSON.parse(text)) as z.infer<S>;
  } catch (error) {
    const message = `${path} is not a local stack file; restart the local stack: npm start`;
    throw new StackNotRunningError(message, { cause: error });
  }
}

/**
 * Fills what the SDK needs for the local stack and is absent: region, dummy credentials, and no
 * instance-metadata probing (the SDK must never reach for 169.254.169.254).
 */
export function applyLocalAwsEnv(env: NodeJS.ProcessEnv, region: string): void {
  env.AWS_REGION ??= region;
  env.AWS_ACCESS_KEY_ID ??= 'test';
  env.AWS_SECRET_ACCESS_KEY ??= 'test';
  env.AWS_EC2_METADATA_DISABLED ??= 'true';
}

export interface RunSendOptions {
  stackFile?: string;
  env?: NodeJS.ProcessEnv;
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** The producer's wait between retries (tests pass a no-op). */
  sleep?: (ms: number) => Promise<void>;
}

/** Runs the CLI: parse, validate, find the stack, enqueue, print the message id. Returns the exit code. */
export async function runSend(argv: readonly string[], options: RunSendOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  let message: QueueMessageInput;
  try {
    const command = parseSendArgs(argv);
    if (command.help) {
      out(USAGE);
      return EXIT_OK;
    }
    message = command.message;
    // Validate before looking for the stack: a bad message is worth reporting even with the stack down.
    encodeQueueMessage(message);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof ProducerValidationError) {
      err(`invalid message: ${error.detail} (field ${error.field}, rule ${error.rule})`);
      return EXIT_USAGE;
    }
    throw error;
  }

  let stack: LocalStackInfo;
  try {
    stack = await readStackFile(options.stackFile ?? DEFAULT_STACK_FILE);
  } catch (error) {
    err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
  const env = options.env ?? process.env;
  applyLocalAwsEnv(env, stack.region);
  const sqs = new SQSClient({
    endpoint: stack.endpoints.sqs,
    region: stack.region,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
    // The stack's queue URLs carry a `*.localhost` host that does not resolve; send to its endpoint.
    useQueueUrlAsEndpoint: false,
    // The producer retries on its own; a stale stack file should fail within a second or two.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
  try {
    const producer = createProducer({
      sqs,
      queueUrl: stack.queueUrl,
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
    const { messageId } = await producer.enqueue(message);
    out(messageId);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof QueueError && /^E[A-Z]+$/.test(error.code)) {
      err(
        `error: cannot reach the local SQS at ${stack.endpoints.sqs} (${error.code}); is the stack running? npm start`,
      );
    } else {
      err(`error: could not enqueue: ${error instanceof Error ? error.message : String(error)}`);
    }
    return EXIT_FAILED;
  } finally {
    sqs.destroy();
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = await runSend(process.argv.slice(2));
}
