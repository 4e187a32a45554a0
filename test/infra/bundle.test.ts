import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { CfnElement } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resourcesOf, type Synthesized, synthMailer, tempOutdir } from './synth';

const run = promisify(execFile);

// The one synthesis with esbuild, into a temp cdk.out outside the repository: no node_modules above it,
// so a bundle that loads there carries every dependency itself (AWS SDK included).
let s: Synthesized;
let outdir: string;

beforeAll(() => {
  outdir = tempOutdir();
  s = synthMailer({ bundle: true, outdir });
}, 120_000);

/** Values for settings that are CloudFormation references in the template. */
const PLACEHOLDERS: Record<string, string> = {
  TABLE_NAME: 'tenant-mailer-table',
  KMS_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/mail',
  DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dlq',
  SES_CONFIGURATION_SET: 'tenant-mailer',
  SES_ARN_PREFIX: 'arn:aws:ses:us-east-1:000000000000:',
  ALERTS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/alerts',
  EVENTS_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/events-dlq',
};

const FUNCTION_NAMES = ['dispatcher', 'configFunction', 'notifier', 'events'] as const;
type FunctionName = (typeof FUNCTION_NAMES)[number];

function lambdaOf(name: FunctionName): NodejsFunction {
  if (name === 'notifier') return s.stack.alerts.notifier;
  if (name === 'events') return s.stack.events.handler;
  return s.stack[name];
}

function functionOf(name: FunctionName): { bundle: string; env: Record<string, string> } {
  const fn = lambdaOf(name);
  const logicalId = s.stack.getLogicalId(fn.node.defaultChild as CfnElement);
  const props = resourcesOf(s.json, 'AWS::Lambda::Function')[logicalId]?.Properties ?? {};
  const key = (props.Code as { S3Key: string }).S3Key;
  const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
  const env = Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [
      k,
      typeof v === 'string' ? v : (PLACEHOLDERS[k] ?? 'placeholder'),
    ]),
  );
  return { bundle: join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), env };
}

/** A fresh Node process: region, dummy credentials, no metadata probing, every AWS endpoint on 127.0.0.1. */
function freshEnv(functionEnv: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    ...functionEnv,
  };
}

const INVOKE = `
const [bundle, event] = process.argv.slice(1);
const context = { awsRequestId: 'bundle-test', functionName: 'f', getRemainingTimeInMillis: () => 10000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f' };
const mod = await import(bundle);
const result = await mod.handler(JSON.parse(event), context);
process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');
`;

async function invoke(name: FunctionName, event: unknown): Promise<unknown> {
  const { bundle, env } = functionOf(name);
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', INVOKE, pathToFileURL(bundle).href, JSON.stringify(event)],
    { env: freshEnv(env), timeout: 15_000 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no result in: ${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

describe.each(FUNCTION_NAMES)('bundled %s', (name) => {
  it('is one minified ESM file with its source map and the require banner', () => {
    const { bundle } = functionOf(name);
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    // Minified: long lines (what newlines remain sit inside template literals and legal comments).
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    expect(code).toContain('__tmCreateRequire(import.meta.url)');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
  });

  it('loads in a fresh Node process and exports handler', async () => {
    const { bundle, env } = functionOf(name);
    const script = `import(${JSON.stringify(pathToFileURL(bundle).href)}).then(m => process.exit(typeof m.handler === 'function' ? 0 : 1))`;

    const result = run(process.execPath, ['-e', script], { env: freshEnv(env), timeout: 15_000 });

    await expect(result).resolves.toBeDefined();
  });
});

describe('bundled handlers run', () => {
  it('the dispatcher answers an empty batch with no failures', async () => {
    const result = await invoke('dispatcher', { Records: [] });

    expect(result).toEqual({ batchItemFailures: [] });
  });

  it.each(['notifier', 'events'] as const)('the %s answers an empty batch with no failures', async (name) => {
    const result = await invoke(name, { Records: [] });

    expect(result).toEqual({ batchItemFailures: [] });
  });

  it('the config API serves the public OpenAPI document (payload format 2.0)', async () => {
    const event = {
      version: '2.0',
      routeKey: 'GET /openapi.json',
      rawPath: '/openapi.json',
      rawQueryString: '',
      headers: { host: 'api.example' },
      isBase64Encoded: false,
      requestContext: {
        http: {
          method: 'GET',
          path: '/openapi.json',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 't',
        },
        requestId: 'bundle-test',
        routeKey: 'GET /openapi.json',
        stage: '$default',
      },
    };

    const result = (await invoke('configFunction', event)) as { statusCode: number; body: string };

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
  });
});
