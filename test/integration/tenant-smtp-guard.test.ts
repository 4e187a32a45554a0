import { describe, expect, it } from 'vitest';
import { createNetworkGuard } from '../../functions/adapters/network-guard';
import { classifySmtpFailure } from '../../functions/core/classify';
import { HostRefusedError } from '../../functions/core/errors';
import { smtpSenderHarness, TEST_HOST, testMail, testTarget } from '../support/smtp';

const { servers, makeSender } = smtpSenderHarness();

/** A resolver that knows only the test host, answering from a script (last answer repeats). */
function scriptedResolver(answers: string[][]) {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<string[]> => {
    calls.push(host);
    if (host !== TEST_HOST) throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
    return answers[Math.min(calls.length, answers.length) - 1] ?? [];
  };
  return { resolve, calls };
}

describe('tenant SMTP sender: the network guard runs before every connection', () => {
  it('vets the configured host and port, then connects to the address it names', async () => {
    // Prepare
    const server = await servers.start();
    const vetted: Array<[string, number]> = [];
    const sender = makeSender({
      vet: async (host, port) => {
        vetted.push([host, port]);
        return { address: '127.0.0.1' };
      },
    });

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail());

    // Assess
    expect(outcome.ok).toBe(true);
    expect(vetted).toEqual([[TEST_HOST, server.port]]);
  });

  it('makes no connection when the guard refuses the host (phase CONFIG)', async () => {
    // Prepare
    const server = await servers.start();
    const sender = makeSender({
      vet: async (host) => {
        throw new HostRefusedError(`host ${host} resolves to 10.0.0.7 (private)`, 'private');
      },
    });

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail());

    // Assess
    expect(outcome).toMatchObject({ ok: false, error: { phase: 'CONFIG', code: 'ECONFIG' } });
    expect(outcome.ok || classifySmtpFailure(outcome.error).class).toBe('config-invalid');
    expect(server.connections()).toBe(0);
  });

  it('delivers through the real guard when private addresses are allowed (local development)', async () => {
    // Prepare
    const server = await servers.start();
    const resolver = scriptedResolver([['127.0.0.1']]);
    const guard = createNetworkGuard({ resolve: resolver.resolve, allowPrivate: true });
    const sender = makeSender({ vet: guard.vet });

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail());

    // Assess
    expect(outcome.ok).toBe(true);
    expect(resolver.calls).toEqual([TEST_HOST]);
    expect(server.received).toHaveLength(1);
  });

  it('refuses loopback through the real guard in production mode, before any connection', async () => {
    // Prepare
    const server = await servers.start();
    const resolver = scriptedResolver([['127.0.0.1']]);
    const guard = createNetworkGuard({ resolve: resolver.resolve, allowPrivate: false });
    // The guard would refuse the test port first; submission port 587 lets its address check speak.
    const sender = makeSender({ vet: (host) => guard.vet(host, 587) });

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail());

    // Assess
    expect(outcome).toMatchObject({
      ok: false,
      error: { phase: 'CONFIG', code: 'ECONFIG', message: expect.stringContaining('loopback') },
    });
    expect(server.connections()).toBe(0);
  });

  it('reports a name that does not resolve as a DNS failure (class connection)', async () => {
    // Prepare
    const server = await servers.start();
    const guard = createNetworkGuard({ resolve: scriptedResolver([]).resolve, allowPrivate: true });
    const sender = makeSender({ vet: guard.vet });

    // Act
    const outcome = await sender.send(testTarget(server.port, { host: 'missing.tenant.test' }), testMail());

    // Assess
    expect(outcome).toMatchObject({ ok: false, error: { phase: 'CONFIG', code: 'EDNS' } });
    expect(outcome.ok || classifySmtpFailure(outcome.error).class).toBe('connection');
    expect(server.connections()).toBe(0);
  });

  it('vets again for a new connection: a name rebound to the metadata address is refused', async () => {
    // Prepare
    const server = await servers.start();
    const resolver = scriptedResolver([['127.0.0.1'], ['169.254.169.254']]);
    const guard = createNetworkGuard({ resolve: resolver.resolve, allowPrivate: true });
    const sender = makeSender({ vet: guard.vet });
    const target = testTarget(server.port);

    // Act
    const first = await sender.send(target, testMail());
    sender.invalidate(target.tenantId);
    const second = await sender.send(target, testMail());

    // Assess
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({
      ok: false,
      error: { phase: 'CONFIG', code: 'ECONFIG', message: expect.stringContaining('169.254.169.254') },
    });
    expect(resolver.calls).toHaveLength(2);
    expect(server.connections()).toBe(1);
  });
});
