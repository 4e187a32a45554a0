import { describe, expect, it } from 'vitest';
import { composeAlertEmail } from '../../functions/core/alert-email';
import {
  type AlertEvent,
  adviceFor,
  DEAD_LETTER_WINDOW_SECONDS,
  deadLetterDigestDueAt,
  deadLetterWindowStart,
  formatSignature,
  NOTIFY_MAX_ATTEMPTS,
  notifyRetryDelaySeconds,
  parseSignature,
  REMINDER_INTERVAL_MS,
  reminderDue,
  signedPayload,
  subscribed,
  unhealthyData,
  webhookUrlProblem,
} from '../../functions/core/alerts';
import { FAILURE_CLASSES } from '../../functions/core/types';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const event = (over: Partial<AlertEvent>): AlertEvent => ({
  id: 'evt_0123456789abcdefABCD',
  type: 'test',
  tenantId: 'acme',
  createdAt: '2030-01-01T10:00:00.000Z',
  data: {},
  ...over,
});
const authFailure = {
  class: 'auth' as const,
  code: 'EAUTH',
  phase: 'AUTH' as const,
  message: '535 5.7.8 bad',
};

describe('retry schedule', () => {
  it('waits about 1 min, 5 min, 30 min, 2 h, 6 h, then gives up', () => {
    const delays = [1, 2, 3, 4, 5, 6].map(notifyRetryDelaySeconds);
    expect(delays).toEqual([60, 300, 1_800, 7_200, 21_600, null]);
    expect(NOTIFY_MAX_ATTEMPTS).toBe(6);
  });
});

describe('dead-letter window', () => {
  it('puts every dead letter of the same 15 minutes in one window, due when it closes', () => {
    const a = deadLetterWindowStart(T0 + 1_000);
    const b = deadLetterWindowStart(T0 + DEAD_LETTER_WINDOW_SECONDS * 1000 - 1);
    const c = deadLetterWindowStart(T0 + DEAD_LETTER_WINDOW_SECONDS * 1000);
    expect(a).toBe(b);
    expect(c - a).toBe(DEAD_LETTER_WINDOW_SECONDS);
    expect(deadLetterDigestDueAt(a)).toBe(T0 + DEAD_LETTER_WINDOW_SECONDS * 1000);
  });
});

describe('reminder', () => {
  it('is due 24 h after the last alert of the outage, not before', () => {
    expect(reminderDue(T0, T0 + REMINDER_INTERVAL_MS - 1)).toBe(false);
    expect(reminderDue(T0, T0 + REMINDER_INTERVAL_MS)).toBe(true);
  });
});

describe('subscriptions', () => {
  it('delivers subscribed types, and test always', () => {
    expect(subscribed(['sender.unhealthy'], 'sender.unhealthy')).toBe(true);
    expect(subscribed(['sender.unhealthy'], 'sender.recovered')).toBe(false);
    expect(subscribed([], 'test')).toBe(true);
  });
});

describe('signature format', () => {
  it('round-trips t and v1 and refuses malformed headers', () => {
    const hex = 'a'.repeat(64);
    expect(signedPayload(17, '{"a":1}')).toBe('17.{"a":1}');
    expect(parseSignature(formatSignature(17, hex))).toEqual({ t: 17, v1: [hex] });
    expect(parseSignature('t=17')).toBeNull();
    expect(parseSignature(`v1=${hex}`)).toBeNull();
    expect(parseSignature(`t=abc,v1=${hex}`)).toBeNull();
  });
});

describe('webhook URL syntax', () => {
  it.each([
    ['https://hooks.acme.example/mail', false, null],
    ['http://hooks.acme.example/mail', false, 'URL must use https'],
    ['http://127.0.0.1:9000/hooks', true, null],
    ['ftp://hooks.acme.example/', true, 'URL must use https'],
    ['https://a:b@hooks.acme.example/', false, 'URL must not carry credentials'],
    ['https://hooks.acme.example/#x', false, 'URL must not have a fragment'],
    [`https://hooks.acme.example/${'a'.repeat(2100)}`, false, 'URL longer than 2048 characters'],
  ])('%s (http allowed: %s) → %s', (url, allowHttp, problem) => {
    expect(webhookUrlProblem(url, allowHttp)).toBe(problem);
  });
});

describe('unhealthy data', () => {
  it('carries the failure (with its hint code), the retry time, the policy and the config version', () => {
    const failure = { ...authFailure, hint: 'use-oauth2' as const };
    const data = unhealthyData({ failure, retryAt: 'R', fallback: 'platform', configVersion: 4 });
    expect(data).toEqual({
      lastFailure: failure,
      retryAt: 'R',
      fallback: 'platform',
      configVersion: 4,
    });
  });

  it('advises on every class that opens the breaker, and on a hint before its class', () => {
    expect(adviceFor({ class: 'auth', hint: 'use-oauth2' })).toMatch(/OAuth2/);
    for (const cls of FAILURE_CLASSES.filter((c) => c !== 'recipient-rejected')) {
      expect(adviceFor({ class: cls })).toMatch(/\w/);
    }
  });
});

describe('alert email', () => {
  const unhealthyFields = unhealthyData({
    failure: authFailure,
    retryAt: '2030-01-01T10:01:00.000Z',
    fallback: 'platform',
    configVersion: 2,
  });
  const unhealthy = event({ type: 'sender.unhealthy', data: unhealthyFields });

  it('says in the subject what happens to mail and why', () => {
    expect(composeAlertEmail(unhealthy, 'Mailer').subject).toBe(
      '[Mailer] Mail from acme is going out through Mailer: your SMTP server refused login',
    );
  });

  it('says what failed, since when, what happens meanwhile and what to do', () => {
    const { text } = composeAlertEmail(unhealthy, 'Mailer');
    expect(text).toContain('Since 2030-01-01T10:00:00.000Z');
    expect(text).toContain('auth at AUTH (EAUTH): 535 5.7.8 bad');
    expect(text).toContain('Meanwhile your mail still goes out');
    expect(text).toContain(`What to do: ${adviceFor(authFailure)}`);
    expect(text).not.toMatch(/\n{3}/);
  });

  it('says mail is held under the hold policy', () => {
    const held = event({ ...unhealthy, data: { ...unhealthy.data, fallback: 'hold' } });
    const email = composeAlertEmail(held, 'Mailer');
    expect(email.subject).toBe('[Mailer] Mail from acme is held: your SMTP server refused login');
    expect(email.text).toContain('held in the queue');
  });

  it('gives the counts on recovery and in reminders', () => {
    const data = { unhealthySince: '2030-01-01T08:00:00.000Z', messagesViaFallback: 12, messagesHeld: 0 };
    const recovered = composeAlertEmail(event({ type: 'sender.recovered', data }), 'Mailer');
    expect(recovered.subject).toBe('[Mailer] Mail from acme goes out through your SMTP server again');
    expect(recovered.text).toContain('since 2030-01-01T08:00:00.000Z');
    expect(recovered.text).toContain('12 message(s) went out through the fallback');
    const reminder = composeAlertEmail(
      event({
        type: 'sender.still-unhealthy',
        data: { ...data, lastFailure: unhealthyFields.lastFailure } as never,
      }),
      'Mailer',
    );
    expect(reminder.subject).toBe(
      '[Mailer] Still failing: mail from acme is going out through Mailer: your SMTP server refused login',
    );
  });

  it('lists dead-letter reasons', () => {
    const data = { count: 3, reasons: { undeliverable: 2, validation: 1 }, lastMessageId: 'm-9' };
    const email = composeAlertEmail(event({ type: 'messages.dead-lettered', data }), 'Mailer');
    expect(email.subject).toBe('[Mailer] 3 message(s) from acme could not be delivered');
    expect(email.text).toContain('undeliverable: 2');
    expect(email.text).toContain('m-9');
  });

  it('keeps CR/LF from any field out of the subject', () => {
    const email = composeAlertEmail(event({ tenantId: 'acme' }), 'Evil\r\nBcc: x@y.example');
    expect(email.subject).not.toMatch(/[\r\n]/);
  });
});
