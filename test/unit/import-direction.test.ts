import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Imports point one way: core (pure) ← adapters ← handlers, and functions/ never reaches into infra/.
 * Only the wiring builds adapters; every other handler file sees the ports in core/ports.ts.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FUNCTIONS = join(ROOT, 'functions');

/** The one module that builds adapters; the handler entries (handler.ts files) take theirs from it. */
const WIRING = ['wiring.ts'];
/** Handler entries: the only handler files that may import the wiring. */
const ENTRY = /^[^/]+\/handler\.ts$/;

/** Packages and Node modules that do I/O or speak to AWS: never in core. */
const IMPURE = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^@aws-lambda-powertools\//,
  /^nodemailer(\/|$)/,
  /^(node:)?(net|tls|dns|http|https|http2|fs|fs\/promises|child_process|dgram)$/,
];

type Layer = 'core' | 'adapters' | 'wiring' | 'handler' | 'shared';

/** A file's layer from its path under functions/ (posix separators). */
function layerOf(file: string, wiring: readonly string[]): Layer {
  if (wiring.includes(file)) return 'wiring';
  if (file.startsWith('core/')) return 'core';
  if (file.startsWith('adapters/')) return 'adapters';
  if (!file.includes('/')) return 'shared'; // settings.ts: read by the handlers only
  return 'handler'; // dispatcher, config-api, producer and any handler folder added later
}

/** An import as the rules see it: a file under functions/, a path outside it, or a package. */
type Target =
  | { kind: 'file'; path: string }
  | { kind: 'outside'; path: string }
  | { kind: 'package'; name: string };

/** Why `from` may not import `to`, or null when it may. */
function ruleBroken(from: string, to: Target, wiring: readonly string[] = WIRING): string | null {
  const layer = layerOf(from, wiring);
  if (to.kind === 'outside') return `functions never import outside functions/ (${to.path})`;
  if (to.kind === 'package') {
    if (layer === 'core' && IMPURE.some((p) => p.test(to.name))) return `core is pure: no ${to.name}`;
    return null;
  }
  const target = layerOf(to.path, wiring);
  if (layer === 'core' && target !== 'core') return `core imports only core (${to.path})`;
  if (layer === 'adapters' && (target === 'handler' || target === 'wiring')) {
    return `adapters never import handlers or the wiring (${to.path})`;
  }
  if (layer === 'handler' && target === 'adapters') {
    return `only the wiring builds adapters; handler files use core/ports.ts (${to.path})`;
  }
  if (target === 'wiring' && !(layer === 'handler' && ENTRY.test(from))) {
    return `only handler entries (*/handler.ts) import the wiring (${to.path})`;
  }
  return null;
}

/** Every .ts file under `dir`, relative to it with posix separators. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    out.push(relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
  }
  return out.sort();
}

/** The module specifiers a file imports or re-exports (type-only ones too: they couple as much). */
function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Resolves a specifier seen in `from` (a file under functions/). */
function targetOf(from: string, specifier: string, files: ReadonlySet<string>): Target {
  if (!specifier.startsWith('.')) return { kind: 'package', name: specifier };
  const path = posix.normalize(posix.join(posix.dirname(from), specifier));
  if (path.startsWith('..')) return { kind: 'outside', path };
  for (const candidate of [path, `${path}.ts`, `${path}/index.ts`]) {
    if (files.has(candidate)) return { kind: 'file', path: candidate };
  }
  return { kind: 'file', path: `${path}.ts` };
}

/** The import graph of functions/ as the rules check it: `from -> to` with each target. */
function importGraph(): { from: string; to: Target; label: string }[] {
  const files = tsFiles(FUNCTIONS);
  const known = new Set(files);
  return files.flatMap((from) =>
    specifiersOf(readFileSync(join(FUNCTIONS, from), 'utf8')).map((specifier) => {
      const to = targetOf(from, specifier, known);
      const name = to.kind === 'package' ? to.name : to.path.replace(/\.ts$/, '');
      return { from, to, label: `${from} -> ${name}` };
    }),
  );
}

describe('import direction in functions/', () => {
  it('reads the whole tree, the wiring included', () => {
    // Prepare / Act
    const graph = importGraph();
    const labels = new Set(graph.map((edge) => edge.label));

    // Assess: the check sees real imports (an empty graph would pass every rule).
    expect(new Set(graph.map((edge) => edge.from)).size).toBeGreaterThan(40);
    expect(labels).toContain('wiring.ts -> adapters/dynamo-store');
    expect(tsFiles(FUNCTIONS)).toEqual(expect.arrayContaining(WIRING));
  });

  it('keeps every import pointing inward', () => {
    // Prepare
    const graph = importGraph();

    // Act
    const broken = graph.flatMap((edge) => {
      const why = ruleBroken(edge.from, edge.to);
      return why === null ? [] : [`${edge.label}: ${why}`];
    });

    // Assess
    expect(broken).toEqual([]);
  });
});

describe('import rules (on a synthetic graph)', () => {
  const file = (path: string): Target => ({ kind: 'file', path });
  const pkg = (name: string): Target => ({ kind: 'package', name });

  it.each([
    ['core/route.ts', file('adapters/dynamo-store.ts'), 'core imports only core'],
    ['core/route.ts', file('dispatcher/deliver.ts'), 'core imports only core'],
    ['core/route.ts', file('producer/encode.ts'), 'core imports only core'],
    ['core/route.ts', file('wiring.ts'), 'core imports only core'],
    ['core/route.ts', pkg('@aws-sdk/client-sqs'), 'core is pure'],
    ['core/route.ts', pkg('nodemailer/lib/mail-composer'), 'core is pure'],
    ['core/route.ts', pkg('node:net'), 'core is pure'],
    ['adapters/queue.ts', file('dispatcher/ports.ts'), 'adapters never import handlers'],
    ['adapters/queue.ts', file('alerts/notify.ts'), 'adapters never import handlers'],
    ['adapters/queue.ts', file('wiring.ts'), 'adapters never import handlers'],
    ['dispatcher/observe.ts', { kind: 'outside', path: '../infra/metrics' }, 'never import outside'],
    ['adapters/queue.ts', { kind: 'outside', path: '../infra/config' }, 'never import outside'],
    ['dispatcher/deliver.ts', file('adapters/mime.ts'), 'only the wiring builds adapters'],
    ['config-api/cursor.ts', file('adapters/dynamo-items.ts'), 'only the wiring builds adapters'],
    ['producer/enqueue.ts', file('adapters/queue.ts'), 'only the wiring builds adapters'],
    ['dispatcher/handler.ts', file('adapters/dynamo-store.ts'), 'only the wiring builds adapters'],
    ['dispatcher/deliver.ts', file('wiring.ts'), 'only handler entries'],
  ] as const)('refuses %s importing %j', (from, to, why) => {
    // Act / Assess
    expect(ruleBroken(from, to)).toContain(why);
  });

  it.each([
    ['core/route.ts', file('core/types.ts')],
    ['core/message.ts', pkg('zod')],
    ['core/fallback.ts', pkg('node:crypto')],
    ['adapters/queue.ts', file('core/ports.ts')],
    ['adapters/queue.ts', pkg('@aws-sdk/client-sqs')],
    ['dispatcher/deliver.ts', file('core/ports.ts')],
    ['dispatcher/handler.ts', file('wiring.ts')],
    ['wiring.ts', file('adapters/dynamo-store.ts')],
  ] as const)('allows %s importing %j', (from, to) => {
    expect(ruleBroken(from, to)).toBeNull();
  });

  it('treats the files listed as wiring as the only handler-side builders of adapters', () => {
    // Act
    const asWiring = ruleBroken('dispatcher/handler.ts', file('adapters/queue.ts'), [
      'dispatcher/handler.ts',
    ]);
    const notWiring = ruleBroken('dispatcher/handler.ts', file('adapters/queue.ts'), ['wiring.ts']);

    // Assess
    expect(asWiring).toBeNull();
    expect(notWiring).toContain('only the wiring builds adapters');
  });
});
