import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyLocalAwsEnv,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  parseSendArgs,
  readStackFile,
  runSend,
  StackNotRunningError,
  UsageError,
} from '../../infra/local/send';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'send-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = ['--tenant', 'acme', '--to', 'a@acme.example', '--subject', 'Hi', '--text', 'Body'];

/** Runs the CLI with captured output and no stack file. */
async function run(argv: string[], stackFile = join(dir, 'absent.json')) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSend(argv, { stackFile, env: {}, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('parseSendArgs', () => {
  it('builds a message from every option, with repeated --to as a list', () => {
    // Prepare
    const argv = [
      ...base,
      '--to',
      'b@acme.example',
      '--html',
      '<p>Body</p>',
      '--kind',
      'autoresponder',
      '--reply-to',
      'r@acme.example',
    ];

    // Act
    const command = parseSendArgs(argv);

    // Assess
    expect(command).toEqual({
      help: false,
      message: {
        v: 1,
        tenantId: 'acme',
        to: ['a@acme.example', 'b@acme.example'],
        subject: 'Hi',
        kind: 'autoresponder',
        text: 'Body',
        html: '<p>Body</p>',
        replyTo: 'r@acme.example',
      },
    });
  });

  it('leaves optional fields out when not given, and accepts --html without --text', () => {
    // Act
    const command = parseSendArgs([
      '--tenant',
      'acme',
      '--to',
      'a@acme.example',
      '--subject',
      'S',
      '--html',
      'h',
    ]);

    // Assess
    expect(command).toEqual({
      help: false,
      message: { v: 1, tenantId: 'acme', to: ['a@acme.example'], subject: 'S', html: 'h' },
    });
  });

  it('answers --help and -h with the help command', () => {
    expect(parseSendArgs(['--help'])).toEqual({ help: true });
    expect(parseSendArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--to', 'a@acme.example', '--subject', 'S', '--text', 't'], /--tenant/],
    [['--tenant', 'acme', '--subject', 'S', '--text', 't'], /--to/],
    [['--tenant', 'acme', '--to', 'a@acme.example', '--text', 't'], /--subject/],
    [['--tenant', 'acme', '--to', 'a@acme.example', '--subject', 'S'], /--text/],
    [[...base, '--kind', 'newsletter'], /--kind must be one of notification, autoresponder, digest/],
    [[...base, '--from', 'x@evil.example'], /--from/],
    [[...base, 'stray'], /stray/],
    [[...base, '--subject'], /--subject/],
  ])('refuses %j with a usage error', (argv, wording) => {
    // Act
    const act = () => parseSendArgs(argv);

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(wording);
  });
});

describe('applyLocalAwsEnv', () => {
  it('fills region, dummy credentials, and metadata opt-out only where absent', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'mine' };

    // Act
    applyLocalAwsEnv(env, 'us-east-1');

    // Assess
    expect(env).toEqual({
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'mine',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  });
});

describe('readStackFile', () => {
  it('reads the queue, region and SQS endpoint of a stack file', async () => {
    // Prepare
    const file = join(dir, 'ok.json');
    const stack = { queueUrl: 'http://sqs.us-east-1.localhost:9/000/mail', region: 'us-east-1' };
    await writeFile(
      file,
      JSON.stringify({ ...stack, endpoints: { sqs: 'http://127.0.0.1:9' }, apiUrl: 'x' }),
    );

    // Act
    const info = await readStackFile(file);

    // Assess
    expect(info).toEqual({ ...stack, endpoints: { sqs: 'http://127.0.0.1:9' } });
  });

  it('says to start the stack when the file is absent, and to restart it when the file is not a stack file', async () => {
    // Prepare
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, '{"queueUrl": 1');

    // Act
    const absent = readStackFile(join(dir, 'nope.json'));
    const broken = readStackFile(garbage);

    // Assess
    await expect(absent).rejects.toThrow(StackNotRunningError);
    await expect(absent).rejects.toThrow(/start the local stack first: npm start/);
    await expect(broken).rejects.toThrow(/not a local stack file; restart the local stack: npm start/);
  });
});

describe('runSend without a stack', () => {
  it('prints usage and exits 0 for --help', async () => {
    // Act
    const result = await run(['--help']);

    // Assess
    expect(result.code).toBe(EXIT_OK);
    expect(result.out).toMatch(/^usage: npm run send -- --tenant <id>/);
  });

  it('exits 2 with the usage for bad arguments', async () => {
    // Act
    const result = await run(['--tenant', 'acme']);

    // Assess
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toMatch(/^error: missing --to <addr>\nusage:/);
  });

  it('exits 2 naming the field and rule of an invalid message, before looking for the stack', async () => {
    // Act
    const result = await run([
      '--tenant',
      'acme',
      '--to',
      'A <a@acme.example>',
      '--subject',
      'S',
      '--text',
      't',
    ]);

    // Assess
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toBe('invalid message: to[0]: must be a bare address (field to[0], rule address)');
  });

  it('exits 1 telling to start the stack when there is no stack file', async () => {
    // Act
    const result = await run(base);

    // Assess
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.err).toContain('start the local stack first: npm start');
    expect(result.out).toBe('');
  });
});
