import { describe, expect, it } from 'vitest';
import {
  appendDeliveryEvents,
  type DeliveryEvent,
  MAX_DELIVERY_EVENTS,
  MAX_REMEMBERED_EVENT_IDS,
  rememberEventId,
  suppressesAfterRefusal,
  suppressionAddress,
} from '../../functions/core/suppression';

describe('suppressionAddress', () => {
  it.each([
    ['Lead@Customer.Example', 'lead@customer.example'],
    ['  a@b.example ', 'a@b.example'],
    ['anna@Bücher.example', 'anna@xn--bcher-kva.example'],
  ])('%j → %j', (input, expected) => {
    expect(suppressionAddress(input)).toBe(expected);
  });

  it.each(['', 'no-at', 'a@b', 'A <a@b.example>', 'a@b.example\r\nBcc: x@y.example', 'a@@b.example'])(
    'refuses %j',
    (input) => {
      expect(suppressionAddress(input)).toBeNull();
    },
  );
});

describe('suppressesAfterRefusal', () => {
  it.each([
    [{ address: 'a@b.example', responseCode: 550, response: '550 5.1.1 <a@b.example>: user unknown' }, true],
    [{ address: 'a@b.example', response: '553 5.1.3 bad address syntax' }, true],
    [{ address: 'a@b.example', responseCode: 550, response: '550 5.2.1 mailbox disabled' }, false],
    [{ address: 'a@b.example', responseCode: 552, response: '552 5.2.2 mailbox full' }, false],
    [{ address: 'a@b.example', responseCode: 550, response: '550 5.7.1 relaying denied' }, false],
    [{ address: 'a@b.example', responseCode: 450, response: '450 4.1.1 try later' }, false],
    [{ address: 'a@b.example', responseCode: 550, response: '550 no such user' }, false],
  ])('%j → %s', (refusal, expected) => {
    expect(suppressesAfterRefusal(refusal)).toBe(expected);
  });
});

describe('the bounded timeline', () => {
  const event = (n: number): DeliveryEvent => ({
    type: 'delivered',
    at: `t${n}`,
    recipient: `r${n}@b.example`,
  });

  it(`keeps the newest ${MAX_DELIVERY_EVENTS} events, oldest first`, () => {
    const current = Array.from({ length: 15 }, (_, i) => event(i));
    const added = Array.from({ length: 10 }, (_, i) => event(15 + i));

    const next = appendDeliveryEvents(current, added);

    expect(next).toHaveLength(MAX_DELIVERY_EVENTS);
    expect(next[0]).toEqual(event(5));
    expect(next.at(-1)).toEqual(event(24));
  });

  it(`remembers the newest ${MAX_REMEMBERED_EVENT_IDS} event ids`, () => {
    let ids: string[] = [];
    for (let i = 0; i < MAX_REMEMBERED_EVENT_IDS + 5; i += 1) ids = rememberEventId(ids, `id${i}`);

    expect(ids).toHaveLength(MAX_REMEMBERED_EVENT_IDS);
    expect(ids[0]).toBe('id5');
  });
});
