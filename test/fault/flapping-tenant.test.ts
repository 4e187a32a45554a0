import { afterAll, describe, expect, it } from 'vitest';
import {
  type FaultProxy,
  startTcpFaultProxy,
  type TcpConnectionInfo,
  type TcpFault,
} from '../support/fault-proxy';
import { expectSound, type FaultRig, keysFor, useFaultRig } from '../support/faults';

// A tenant server that flaps: refused, reset in the middle of a conversation (before, during and after
// the message data), down altogether, back up. Every message ends at the tenant's server or in SES; a
// message both have is recorded as a possible duplicate; once the server is back, the breaker closes.

let rig: FaultRig;
useFaultRig((r) => {
  rig = r;
});

const proxies: FaultProxy<TcpConnectionInfo, TcpFault>[] = [];
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

describe('a tenant server that flaps', () => {
  it('loses no message and ends with the breaker matching the server', async () => {
    const peer = await rig.fx.smtp.start();
    const proxy = await startTcpFaultProxy({ port: peer.port }, { seed: 5 });
    proxies.push(proxy);
    await rig.fx.smtpTenant('flappy', proxy.port);
    const handler = rig.container();
    const faulty = () =>
      proxy.set(
        { fault: { type: 'refuse' }, rate: 0.25 },
        { fault: { type: 'reset', afterBytes: 60 }, rate: 0.15 },
        { fault: { type: 'reset', afterBytes: 1_200 }, rate: 0.15 },
        { fault: { type: 'reset', afterBytes: 2_400 }, rate: 0.15 },
        { fault: { type: 'delay', ms: 100 }, rate: 0.2 },
      );
    const phases: [string, () => Promise<void> | void][] = [
      ['faulty', faulty],
      ['down', () => proxy.stop()],
      [
        'up',
        async () => {
          await proxy.start();
          proxy.clear();
        },
      ],
      ['faulty-again', faulty],
      ['up-again', () => proxy.clear()],
    ];
    // Each phase: batches of two, each after the breaker's longest wait, so every batch tries the server.
    const keys: string[] = [];
    const batches = async (name: string, count: number, size: number) => {
      for (let i = 0; i < count; i += 1) {
        rig.fx.clock.shift(61 * 60_000);
        // The server restarts between batches: a pooled connection is gone, the next batch reconnects.
        proxy.dropConnections();
        const batch = keysFor(`flappy-${name}-${i}`, size);
        keys.push(...batch);
        await rig.enqueue('flappy', batch);
        await rig.drain(handler);
      }
    };
    for (const [name, enter] of phases) {
      await enter();
      await batches(name, 5, 2);
    }
    // Back for good: the last batches close the breaker and go through the server.
    await batches('settle', 2, 1);

    const a = await rig.account(keys, [peer]);
    expectSound(a);
    expect(proxy.stats.faults.refuse ?? 0).toBeGreaterThan(0);
    expect(proxy.stats.faults.reset ?? 0).toBeGreaterThan(0);
    const viaTenant = [...a.copies.values()].filter((c) => c.tenant > 0).length;
    const viaSes = [...a.copies.values()].filter((c) => c.ses > 0).length;
    expect(viaTenant).toBeGreaterThan(0);
    expect(viaSes).toBeGreaterThan(0);
    expect(await rig.fx.health('flappy')).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
    for (const key of keysFor('flappy-settle-1', 1)) expect(a.copies.get(key)).toEqual({ tenant: 1, ses: 0 });
  });
});
