import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import { createSesSender } from '../../functions/adapters/ses-sender';
import type { PasswordCipher } from '../../functions/core/ports';
import { localClientConfig } from '../support/aws-client';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

const clients: SESv2Client[] = [];
afterAll(() => {
  for (const client of clients) client.destroy();
});

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

/** Seconds from now until the record becomes visible again on the local queue. */
async function visibleInSeconds(record: SQSRecord): Promise<number> {
  const entry = (await f.sqs.inflight('mail')).find((e) => e.receiptHandle === record.receiptHandle);
  return entry ? (entry.visibilityDeadline - Date.now()) / 1000 : 0;
}

describe('dispatcher: the invocation deadline', () => {
  it('too little time for a tenant send: no connection, left for the next invocation, no attempt counted', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('lateco', server.port);
    const record = only(await f.receive([mail('lateco')]));

    // 5 s left: less than the SES reserve (1 s) plus the least window a tenant send starts with.
    const late = await f.invoke([record], { remainingMs: 5_000 });
    const visibility = await visibleInSeconds(record);
    const logAfterLate = await f.deliveries('lateco');
    const healthAfterLate = await f.health('lateco');
    const next = await f.invoke([record]);

    expect(late.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(visibility).toBeLessThan(1.5);
    expect(logAfterLate).toEqual([]);
    expect(healthAfterLate).toMatchObject({ state: 'healthy', consecutiveFailures: 0, lastFailure: null });
    expect(next.batchItemFailures).toEqual([]);
    expect(server.connections()).toBe(1);
    expect(server.received).toHaveLength(1);
    expect(f.sesRequests).toHaveLength(0);
    expect(only(await f.deliveries('lateco'))).toMatchObject({ status: 'sent', route: 'smtp', attempts: 1 });
  });

  it('too little time even for SES: a platform message is not started and keeps its attempts', async () => {
    const record = only(await f.receive([mail('lateplatform')]));

    const late = await f.invoke([record], { remainingMs: 800 });
    const sesAfterLate = f.sesRequests.length;
    const next = await f.invoke([record]);

    expect(late.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesAfterLate).toBe(0);
    expect(next.batchItemFailures).toEqual([]);
    expect(only(await f.deliveries('lateplatform'))).toMatchObject({
      status: 'sent',
      route: 'platform',
      attempts: 1,
    });
  });

  it('an SES call that hangs is cut before the deadline: the message is retried, its attempt recorded', async () => {
    const silent = await f.smtp.startSilent();
    const client = new SESv2Client(localClientConfig(`http://127.0.0.1:${silent.port}`));
    clients.push(client);
    const container = f.newContainer({ ses: createSesSender({ ses: client }) });
    const record = only(await f.receive([mail('hangses')]));
    const started = Date.now();

    const response = await f.invoke([record], { handler: container, remainingMs: 2_500 });
    const elapsed = Date.now() - started;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(elapsed).toBeLessThan(2_500);
    expect(only(await f.deliveries('hangses'))).toMatchObject({ status: 'retrying', attempts: 1 });
  });

  it('decrypts the password within the tenant deadline (the invocation deadline less the SES reserve)', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('kmsdeadline', server.port);
    const deadlines: (number | undefined)[] = [];
    const cipher: PasswordCipher = {
      encryptPassword: f.cipher.encryptPassword,
      decryptPassword: (tenantId, ciphertext, opts) => {
        deadlines.push(opts?.deadline);
        return f.cipher.decryptPassword(tenantId, ciphertext, opts);
      },
    };
    const container = f.newContainer({ credentials: createKmsCredentials(cipher) });
    const before = f.clock.now();

    const response = await f.invoke(await f.receive([mail('kmsdeadline')]), { handler: container });

    expect(response.batchItemFailures).toEqual([]);
    const deadline = only(deadlines) ?? Number.POSITIVE_INFINITY;
    expect(deadline).toBeGreaterThanOrEqual(before + 20_000 - 1_000);
    expect(deadline).toBeLessThanOrEqual(f.clock.now() + 20_000 - 1_000);
    expect(server.received).toHaveLength(1);
  });
});
