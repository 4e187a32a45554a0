import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, probePort, spawnLocalStack } from '../support/local-stack';

// A Ctrl-C while the stack is still starting must close what came up and leave no stack.json behind,
// exactly like one after it is ready.

describe('npm start interrupted while starting', () => {
  let stack: LocalStackProcess | undefined;

  beforeAll(async () => {
    stack = await spawnLocalStack({ demo: false });
    // The first service is up and the rest are still starting: stack.json comes only at the end.
    await stack.waitForOutput(/DynamoDB \(dynalite\)/, 20_000);
  }, 30_000);

  afterAll(async () => {
    await stack?.dispose();
  });

  it('stops on SIGINT with exit code 0, no stack.json and every announced port closed', async () => {
    // Prepare
    const running = stack as LocalStackProcess;

    // Act
    const exit = await running.stop('SIGINT', 15_000);

    // Assess
    const output = running.output();
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('stopped; every port is free again.');
    expect(existsSync(join(running.dir, 'stack.json'))).toBe(false);
    const ports = [...new Set([...output.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))];
    expect(ports.length).toBeGreaterThan(0);
    const probes = await Promise.all(ports.map(async (port) => [port, await probePort(port)] as const));
    expect(probes).toEqual(ports.map((port) => [port, 'ECONNREFUSED']));
  });
});
