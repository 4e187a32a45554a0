import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../functions/core/ports';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

/** The fixture's store with chosen writes failing as DynamoDB would when it is unreachable. */
function storeFailing(overrides: Partial<Record<'writeHealth' | 'putDelivery', number>>): Store {
  const left = { writeHealth: overrides.writeHealth ?? 0, putDelivery: overrides.putDelivery ?? 0 };
  const outage = (): Error => Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
  return {
    ...f.store,
    writeHealth: async (...args) => {
      if (left.writeHealth-- > 0) throw outage();
      return f.store.writeHealth(...args);
    },
    putDelivery: async (...args) => {
      if (left.putDelivery-- > 0) throw outage();
      return f.store.putDelivery(...args);
    },
  };
}

/** Invokes the record again as a redelivery after the first invocation's lease is over. */
async function redeliver(record: SQSRecord) {
  f.clock.shift(25_000);
  return f.invoke([record], { keep: true });
}

describe('dispatcher: a store write fails after the mail went out', () => {
  it('a HEALTH write that fails after a tenant send: reported done, never sent again', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('healthdown', server.port);
    const record = only(await f.receive([mail('healthdown')]));
    const container = f.newContainer({ store: storeFailing({ writeHealth: 10 }) });

    const first = await f.invoke([record], { handler: container, keep: true });
    const again = await redeliver(record);

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(f.sesRequests).toHaveLength(0);
    expect(only(await f.deliveries('healthdown'))).toMatchObject({ status: 'sent', route: 'smtp' });
  });

  it('a HEALTH write that fails after a tenant failure: the fallback still goes out', async () => {
    const port = await f.smtp.closedPort();
    await f.smtpTenant('healthdown2', port);
    const container = f.newContainer({ store: storeFailing({ writeHealth: 10 }) });

    const response = await f.invoke(await f.receive([mail('healthdown2')]), { handler: container });

    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    expect(only(await f.deliveries('healthdown2'))).toMatchObject({
      status: 'sent',
      route: 'platform',
      fallbackReason: 'connection',
    });
  });

  it('a delivery record that cannot be written after the send: reported done, never sent again', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('logdown', server.port);
    const record = only(await f.receive([mail('logdown', { idempotencyKey: 'k-logdown' })]));
    const container = f.newContainer({ store: storeFailing({ putDelivery: 1 }) });

    const first = await f.invoke([record], { handler: container, keep: true });
    const again = await redeliver(record);

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(f.sesRequests).toHaveLength(0);
  });

  it('a dead-letter record that cannot be written: the message is in the DLQ once, not sent again', async () => {
    f.failSes(() => Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'Throttling' }));
    const record = only(await f.receive([mail('deadlogdown')]));
    const container = f.newContainer({ maxAttempts: 1 });
    const failingLog = f.newContainer({ store: storeFailing({ putDelivery: 1 }), maxAttempts: 1 });

    const first = await f.invoke([record], { handler: failingLog, keep: true });
    const again = await f.invoke([record], { handler: container, keep: true });

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    expect(only(await f.dlqMessages()).attributes).toMatchObject({ reason: 'undeliverable' });
  });
});
