import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildMime } from '../../functions/adapters/mime';
import { createSesSender, sendOnceRetryStrategy } from '../../functions/adapters/ses-sender';
import { awsErrors } from '../support/aws-wire';
import {
  type FaultProxy,
  type HttpFault,
  type HttpRequestInfo,
  startHttpFaultProxy,
} from '../support/fault-proxy';
import { type LocalSes, startLocalSes } from '../support/ses';

// The dispatcher's SES client retries a SendEmail inside the call only when SES surely sent nothing
// (throttling, a connection never opened); after a 5xx or a lost answer SES may have taken the mail, so
// the error reaches the dispatcher (which records the doubt) instead of a silent second send.

let ses: LocalSes;
let proxy: FaultProxy<HttpRequestInfo, HttpFault>;
let client: SESv2Client;

beforeAll(async () => {
  ses = await startLocalSes();
  proxy = await startHttpFaultProxy(ses.endpoint, { seed: 7 });
  // As functions/wiring.ts builds it: the SDK's default attempts, this retry strategy.
  client = new SESv2Client({
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy: sendOnceRetryStrategy(3, 5),
  });
});

afterAll(async () => {
  client?.destroy();
  await proxy?.close();
  await ses?.close();
});

beforeEach(async () => {
  proxy.clear();
  await ses.clear();
});

async function send(subject: string) {
  const { raw } = await buildMime({
    from: 'mail@platform.example',
    to: ['lead@customer.example'],
    subject,
    text: 'Hello.',
  });
  const sender = createSesSender({ ses: client });
  const seenBefore = proxy.stats.seen;
  const result = await sender.send({
    from: 'mail@platform.example',
    raw,
    destinations: { to: ['lead@customer.example'] },
    tags: [],
  });
  const copies = (await ses.store()).filter((m) => m.subject === subject).length;
  return { result, copies, requests: proxy.stats.seen - seenBefore };
}

describe('SES SendEmail retries', () => {
  it('throttled once: retried by the SDK, sent once', async () => {
    proxy.set({ fault: { type: 'respond', response: awsErrors.ses.tooManyRequests() }, times: 1 });
    const { result, copies, requests } = await send('throttled once');
    expect(result.ok).toBe(true);
    expect({ copies, requests }).toEqual({ copies: 1, requests: 2 });
  });

  it('a 500: not retried inside the call, the failure says SES may have sent it', async () => {
    proxy.set({ fault: { type: 'respond', response: awsErrors.ses.internal() }, times: 1 });
    const { result, requests } = await send('internal error');
    expect(requests).toBe(1);
    expect(result).toMatchObject({ ok: false, error: { retryable: true, mayHaveSent: true } });
  });

  it('an answer lost after SES took the mail: not sent again, the failure says it may have been sent', async () => {
    proxy.set({ fault: { type: 'lose-response' }, times: 1 });
    const { result, copies, requests } = await send('answer lost');
    expect({ copies, requests }).toEqual({ copies: 1, requests: 1 });
    expect(result).toMatchObject({ ok: false, error: { mayHaveSent: true } });
  });

  it('throttled on every attempt: gives up after three, nothing sent', async () => {
    proxy.set({ fault: { type: 'respond', response: awsErrors.ses.tooManyRequests() } });
    const { result, copies, requests } = await send('always throttled');
    expect({ copies, requests }).toEqual({ copies: 0, requests: 3 });
    expect(result).toMatchObject({ ok: false, error: { retryable: true, mayHaveSent: false } });
  });
});
