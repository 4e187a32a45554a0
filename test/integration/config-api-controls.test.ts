import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigApiFixture, smtpConfigBody, startConfigApiFixture } from '../support/config-api';

// No string of any request body may hold a C0 control, DEL, U+2028 or U+2029 (a NUL in a username
// splits AUTH PLAIN into more fields): every such body is answered 422 `validation` naming the field,
// through the real gateway, before anything is stored, resolved or connected.
const PW = 'pw-Controls-only#7';
const FORBIDDEN = ['\u0000', '\t', '\u001b', '\u007f', '\u2028', '\u2029'];

let api: ConfigApiFixture;
let token: string;

beforeAll(async () => {
  api = await startConfigApiFixture();
  token = await api.token('ctrl');
});

afterAll(async () => {
  await api?.close();
});

type Json = Record<string, unknown>;

/** Dotted paths of every string in a body. */
function stringPaths(value: unknown, path: string[] = []): string[] {
  if (typeof value === 'string') return [path.join('.')];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, member]) => stringPaths(member, [...path, key]));
}

/** A deep copy of `body` with `char` put into the string at `path`. */
function withCharAt(body: Json, path: string, char: string): Json {
  const copy = structuredClone(body);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let parent: Json = copy;
  for (const key of keys) parent = parent[key] as Json;
  const value = String(parent[last]);
  parent[last] = `${value.slice(0, 1)}${char}${value.slice(1)}`;
  return copy;
}

const BODIES: [string, string, Json][] = [
  [
    'PUT smtp',
    '/tenants/ctrl/sender',
    smtpConfigBody(PW, { fromName: 'Ctrl Co' }, { fallback: 'platform' }) as Json,
  ],
  [
    'PUT domain',
    '/tenants/ctrl/sender',
    { mode: 'domain', domain: { name: 'ctrl.example', fromAddress: 'n@ctrl.example', fromName: 'Ctrl' } },
  ],
  [
    'POST test (unsaved config)',
    '/tenants/ctrl/sender/test',
    smtpConfigBody(PW, {}, { sendTo: 'check@ctrl.example' }) as Json,
  ],
  ['POST test (stored config)', '/tenants/ctrl/sender/test', { sendTo: 'check@ctrl.example' }],
];

describe('config API: control characters in request bodies', () => {
  it.each(BODIES)(
    'refuses them in every string of a %s body, naming the field',
    async (_name, path, body) => {
      // Prepare
      const method = path.endsWith('/test') ? 'POST' : 'PUT';
      const cases = stringPaths(body).flatMap((field) => FORBIDDEN.map((char) => ({ field, char })));
      expect(cases.length).toBeGreaterThanOrEqual(FORBIDDEN.length);

      // Act
      const answers = [];
      for (const { field, char } of cases) {
        const res = await api.call(method, path, { token, body: withCharAt(body, field, char) });
        answers.push({ field, char: char.codePointAt(0), status: res.status, body: res.body });
      }

      // Assess
      for (const a of answers) {
        expect(a, `${a.field} U+${a.char?.toString(16)}`).toMatchObject({
          status: 422,
          body: {
            error: { code: 'validation', field: a.field, message: expect.stringContaining('control') },
          },
        });
      }
      expect((await api.call('GET', '/tenants/ctrl/sender', { token })).body).toEqual({
        mode: 'platform',
        version: 0,
      });
    },
  );

  it('still takes the same bodies without them, and never echoes a password', async () => {
    // Act
    const put = await api.call('PUT', '/tenants/ctrl/sender', {
      token,
      body: {
        mode: 'domain',
        domain: { name: 'ctrl.example', fromAddress: 'n@ctrl.example', fromName: 'Ctrl' },
      },
    });

    // Assess
    expect(put.status).toBe(200);
    expect(await api.leaks([PW])).toEqual([]);
    expect(api.contractViolations()).toEqual([]);
  });
});
