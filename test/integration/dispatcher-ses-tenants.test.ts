import { afterEach, describe, expect, it } from 'vitest';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';

// The dispatcher over the SES v2 stand-in: every send in the tenant's SES tenant (docs/design.md §20).
let f: DispatcherFixture;
useDispatcherFixture(
  (started) => {
    f = started;
  },
  { maxAttempts: 3, sesTenants: true },
);

const admin = (path: string) => fetch(`${f.ses.standIn?.url}/_local${path}`, { method: 'POST' });

afterEach(async () => {
  await admin('/tenants/tm-pausedco/resume').catch(() => undefined);
});

describe('dispatcher: SES tenants', () => {
  it('sends each tenant’s platform mail with its own TenantName', async () => {
    // Prepare
    const records = await f.receive([mail('alphaco'), mail('betaco')]);

    // Act
    const result = await f.invoke(records);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(f.sesRequests.map((r) => r.TenantName).sort()).toEqual(['tm-alphaco', 'tm-betaco']);
    expect(await f.ses.store()).toHaveLength(2);
  });

  it('holds a paused tenant’s mail (ses-paused, not an attempt), sends it once SES resumes the tenant', async () => {
    // Prepare: the SES tenant exists (a first send), then SES pauses it
    const [warmUp] = await f.receive([mail('pausedco')]);
    if (!warmUp) throw new Error('no record');
    await f.invoke([warmUp]);
    expect((await admin('/tenants/tm-pausedco/pause')).status).toBe(200);
    const [record] = await f.receive([mail('pausedco', { idempotencyKey: 'paused-1' })]);
    if (!record) throw new Error('no record');

    // Act
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await f.invoke([record], { keep: true }));
    const whileHeld = (await f.deliveries('pausedco')).find((d) => d.messageId === 'paused-1');
    await admin('/tenants/tm-pausedco/resume');
    const resumed = await f.invoke([record]);
    const after = (await f.deliveries('pausedco')).find((d) => d.messageId === 'paused-1');

    // Assess
    for (const r of held) expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(whileHeld).toMatchObject({ status: 'held', fallbackReason: 'ses-paused', heldAttempts: 4 });
    expect(await f.dlqMessages()).toEqual([]);
    expect(resumed.batchItemFailures).toEqual([]);
    expect(after).toMatchObject({ status: 'sent', route: 'platform' });
  });
});
