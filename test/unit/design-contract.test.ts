import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../functions/config-api/errors';
import { openApiDocument } from '../../functions/config-api/openapi';

/**
 * docs/design.md is the contract: its route table and error-code table must say what the OpenAPI
 * document (and so the handler) does, and every code comment citing one of its sections must name a
 * section that exists.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DESIGN = readFileSync(join(ROOT, 'docs', 'design.md'), 'utf8');

type Operation = { responses: Record<string, { description?: string }> };
const doc = openApiDocument() as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

/** The lines of the `### <title>` subsection of docs/design.md (up to the next heading). */
function subsection(title: string): string[] {
  const lines = DESIGN.split('\n');
  const start = lines.findIndex((l) => l.trim() === `### ${title}`);
  if (start < 0) throw new Error(`docs/design.md has no "### ${title}"`);
  const end = lines.findIndex((l, i) => i > start && /^#{2,3} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Table rows as trimmed cells (header and separator rows left out). */
function rows(lines: string[]): string[][] {
  return lines
    .filter((l) => l.trim().startsWith('|'))
    .map((l) =>
      l
        .trim()
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    )
    .slice(2);
}

/** `METHOD /path` → sorted statuses, from the design's route table. */
function designRoutes(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [route = '', answers = ''] of rows(subsection('Routes'))) {
    const key = /^`((?:GET|PUT|POST|DELETE|PATCH) \/\S*)`$/.exec(route)?.[1];
    if (!key) throw new Error(`route cell is not \`METHOD /path\`: ${route}`);
    out.set(key, answers.split(/,\s*/).sort());
  }
  return out;
}

/** `status code` pairs from the design's error-code table. */
function designErrors(): { status: string; code: string }[] {
  return rows(subsection('Error codes')).map(([status = '', code = '']) => {
    const bare = /^`([a-z-]+)`$/.exec(code)?.[1];
    if (!/^\d{3}$/.test(status) || !bare) throw new Error(`error row is not status | \`code\`: ${status}`);
    return { status, code: bare };
  });
}

function openApiRoutes(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      out.set(`${method.toUpperCase()} ${path}`, Object.keys(op.responses).sort());
    }
  }
  return out;
}

function openApiErrorCodes(): string[] {
  const error = doc.components.schemas.Error as {
    properties: { error: { properties: { code: { enum: string[] } } } };
  };
  return error.properties.error.properties.code.enum;
}

/** Every `status code` pair an OpenAPI error response names in its description. */
function openApiErrorPairs(): Set<string> {
  const codes = new Set(openApiErrorCodes());
  const pairs = new Set<string>();
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [, code = ''] of (response.description ?? '').matchAll(/`([a-z-]+)`/g)) {
          if (codes.has(code)) pairs.add(`${status} ${code}`);
        }
      }
    }
  }
  return pairs;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('docs/design.md against the OpenAPI document', () => {
  it('lists the same routes, each with the same statuses', () => {
    // Prepare
    const design = designRoutes();
    const openapi = openApiRoutes();

    // Assess
    expect([...design.keys()].sort()).toEqual([...openapi.keys()].sort());
    for (const [route, statuses] of design) expect(statuses, route).toEqual(openapi.get(route));
  });

  it('lists the same error codes as the OpenAPI Error schema and the handler', () => {
    // Prepare
    const codes = designErrors().map((e) => e.code);

    // Assess
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual([...openApiErrorCodes()].sort());
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('gives each error code the status the OpenAPI responses give it', () => {
    // Prepare
    const design = new Set(designErrors().map((e) => `${e.status} ${e.code}`));

    // Assess
    expect([...design].sort()).toEqual([...openApiErrorPairs()].sort());
  });
});

describe('docs/design.md sections', () => {
  const headings = new Map<string, string>();
  for (const [, n = '', title = ''] of DESIGN.matchAll(/^## (\d+)\. (.+)$/gm)) headings.set(n, title);

  it('are numbered 1..N without gaps or repeats', () => {
    // Assess
    const numbers = [...DESIGN.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  });

  it('exist wherever code cites them (docs/design.md §N Title)', () => {
    // Prepare
    const files = ['functions', 'infra', 'test'].flatMap((d) => sourceFiles(join(ROOT, d)));
    const wrong: string[] = [];

    // Act
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/docs\/design\.md §(\d+)(?: ([A-Z][^,.;:()"`\n*]*))?/g)) {
        const heading = headings.get(m[1] ?? '');
        const cited = (m[2] ?? '').trim();
        if (heading === undefined || !heading.startsWith(cited)) {
          wrong.push(`${relative(ROOT, file)}: §${m[1]} ${cited}`);
        }
      }
    }

    // Assess
    expect(wrong).toEqual([]);
    expect(files.length).toBeGreaterThan(0);
  });
});
