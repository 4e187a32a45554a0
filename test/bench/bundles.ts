/**
 * P4 for `npm run bench`: each Lambda handler bundled by esbuild with the options the CDK stack gives
 * NodejsFunction (infra/lambda.ts: minified ESM for node22, source map beside it, the AWS SDK inside),
 * its size, and the time a fresh Node process takes to import it (the cold start's module load).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, REPO_ROOT } from '../../infra/lambda';

/** The handlers the stack bundles (the events function runs in the local stack; its CDK wiring follows). */
export const HANDLERS = [
  { name: 'dispatcher', entry: 'functions/dispatcher/handler.ts' },
  { name: 'config-api', entry: 'functions/config-api/handler.ts' },
  { name: 'notifier', entry: 'functions/notifier/handler.ts' },
  { name: 'events', entry: 'functions/events/handler.ts' },
] as const;

export interface BundleFigures {
  name: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  /** Median of the runs: import() of the bundle in a fresh process, ms. */
  importMs: number;
  /** Median wall time of the whole fresh process (node start-up + import + exit), ms. */
  processMs: number;
}

const IMPORT_RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** A settings environment like the stack's (nothing is called: only the module is loaded). */
const HANDLER_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  TABLE_NAME: 'tenant-mailer',
  KMS_KEY_ID: 'alias/tenant-mailer',
  QUEUE_URL: 'http://127.0.0.1:1/000000000000/tenant-mailer',
  DLQ_URL: 'http://127.0.0.1:1/000000000000/tenant-mailer-dlq',
  PLATFORM_FROM_ADDRESS: 'notifications@platform.example',
  PLATFORM_NAME: 'Tenant Mailer',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

export async function measureBundles(): Promise<BundleFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-mailer-bundles-'));
  try {
    const figures: BundleFigures[] = [];
    for (const handler of HANDLERS) {
      const outfile = join(dir, handler.name, 'index.mjs');
      await build({
        entryPoints: [join(REPO_ROOT, handler.entry)],
        outfile,
        absWorkingDir: REPO_ROOT,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourcemap: true,
        sourcesContent: false,
        banner: { js: ESM_REQUIRE_BANNER },
        logLevel: 'error',
      });
      const imports: number[] = [];
      const walls: number[] = [];
      for (let run = 0; run < IMPORT_RUNS; run += 1) {
        const started = performance.now();
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const t = performance.now(); await import(${JSON.stringify(outfile)}); console.log(performance.now() - t);`,
          ],
          { env: HANDLER_ENV, encoding: 'utf8' },
        );
        walls.push(performance.now() - started);
        imports.push(Number(out.trim()));
      }
      const code = readFileSync(outfile);
      figures.push({
        name: handler.name,
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        mapBytes: statSync(`${outfile}.map`).size,
        importMs: median(imports),
        processMs: median(walls),
      });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function bundleTable(figures: BundleFigures[]): string {
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  return [
    '| function | bundle (index.mjs) | gzip | source map | import, fresh process (median of 5) | whole process (start, import, exit) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...figures.map(
      (f) =>
        `| ${f.name} | ${kib(f.bytes)} | ${kib(f.gzipBytes)} | ${kib(f.mapBytes)} | ${f.importMs.toFixed(0)} ms | ${f.processMs.toFixed(0)} ms |`,
    ),
  ].join('\n');
}
