import { afterAll, describe, expect, it } from 'vitest';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import { classifyRecipientRefusal, classifySmtpFailure } from '../../functions/core/classify';
import type { SmtpSendOutcome, SmtpTarget, TenantSmtpSender } from '../../functions/core/ports';
import type { FailureClass, SmtpErrorInfo } from '../../functions/core/types';
import {
  type SmtpServerMode,
  SmtpTestServers,
  TEST_PASSWORD,
  type TestSmtpServer,
  testMail,
  testSenderOptions,
  testTarget,
} from '../support/smtp';

const servers = new SmtpTestServers();
// Plain-text scripted servers need security 'none', which only a local-development sender allows.
const sender: TenantSmtpSender = createTenantSmtpSender(testSenderOptions({ allowInsecure: true }));
const CONNECT_MS = 500;

afterAll(async () => {
  sender.close();
  await servers.closeAll();
});

interface Scenario {
  name: string;
  server: (s: SmtpTestServers) => Promise<TestSmtpServer | number>;
  target?: Partial<SmtpTarget> & { password?: string };
  to?: string[];
  error: Partial<SmtpErrorInfo>;
  /** The contract's class for this failure, as the dispatcher will get it from the classifier. */
  class: FailureClass;
  accepted?: string[];
  /** The server said nothing (no reply code at all). */
  noReply?: true;
}

const smtp = (mode: SmtpServerMode) => (s: SmtpTestServers) => s.start(mode);

const scenarios: Scenario[] = [
  {
    name: 'wrong password (535)',
    server: smtp({}),
    target: { password: 'wrong-password' },
    error: { phase: 'AUTH', code: 'EAUTH', responseCode: 535 },
    class: 'auth',
  },
  {
    name: '421 instead of the greeting',
    server: smtp({ greeting: '421 4.3.2 Too busy, try later' }),
    error: { phase: 'GREETING', responseCode: 421 },
    class: 'server-temporary',
  },
  {
    name: '421 at MAIL FROM',
    server: smtp({ mail: '421 4.7.0 Try again later' }),
    error: { phase: 'MAIL', code: 'EENVELOPE', responseCode: 421 },
    class: 'server-temporary',
  },
  {
    name: '550 5.7.1 at MAIL FROM (sender not allowed)',
    server: smtp({ mail: '550 5.7.1 Sender not allowed' }),
    error: { phase: 'MAIL', code: 'EENVELOPE', responseCode: 550 },
    class: 'server-rejected',
    accepted: [],
  },
  {
    name: '451 to the DATA command',
    server: (s) => s.startScripted({ DATA: '451 4.3.0 Not now' }),
    target: { security: 'none' },
    error: { phase: 'DATA', code: 'EENVELOPE', responseCode: 451 },
    class: 'server-temporary',
    accepted: ['ann@example.test'],
  },
  {
    name: '451 after the final "."',
    server: smtp({ dataEnd: '451 4.3.0 Try later' }),
    to: ['ann@example.test', 'bob@example.test'],
    error: { phase: 'DATA', code: 'EMESSAGE', responseCode: 451 },
    class: 'server-temporary',
    accepted: ['ann@example.test', 'bob@example.test'],
  },
  {
    name: '550 5.4.5 daily quota after the final "."',
    server: smtp({ dataEnd: '550 5.4.5 Daily user sending quota exceeded' }),
    error: { phase: 'DATA', code: 'EMESSAGE', responseCode: 550 },
    class: 'server-throttled',
  },
  {
    name: '554 5.2.0 quota after the final "."',
    server: smtp({ dataEnd: '554 5.2.0 Daily message quota exceeded' }),
    error: { phase: 'DATA', code: 'EMESSAGE', responseCode: 554 },
    class: 'server-throttled',
  },
  {
    name: 'connection dropped after the final "." without a reply',
    server: smtp({ dropAfterDot: true }),
    error: { phase: 'MESSAGE', code: 'ECONNECTION' },
    noReply: true,
    class: 'uncertain',
    accepted: ['ann@example.test'],
  },
  {
    name: 'connection dropped after the final ".", AUTH LOGIN (challenge lines) before it',
    server: smtp({ dropAfterDot: true, loginOnly: true }),
    error: { phase: 'MESSAGE', code: 'ECONNECTION' },
    noReply: true,
    class: 'uncertain',
    accepted: ['ann@example.test'],
  },
  {
    name: 'wrong password over AUTH LOGIN',
    server: smtp({ loginOnly: true }),
    target: { password: 'wrong-password' },
    error: { phase: 'AUTH', code: 'EAUTH', responseCode: 535 },
    class: 'auth',
  },
  {
    name: 'a host that accepts and never greets',
    server: (s) => s.startSilent(),
    error: { phase: 'GREETING', code: 'ETIMEDOUT' },
    class: 'connection',
  },
  {
    name: 'connection refused',
    server: (s) => s.closedPort(),
    error: { phase: 'CONNECT', code: 'ECONNREFUSED' },
    class: 'connection',
  },
  {
    name: 'certificate for another name, STARTTLS',
    server: smtp({ wrongCertificate: true }),
    error: {
      phase: 'STARTTLS',
      code: 'ETLS',
      message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID'),
    },
    class: 'tls',
  },
  {
    name: 'certificate for another name, implicit TLS',
    server: smtp({ wrongCertificate: true, tls: 'implicit' }),
    target: { security: 'tls' },
    error: {
      phase: 'CONNECT',
      code: 'ETLS',
      message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID'),
    },
    class: 'tls',
  },
  {
    name: 'STARTTLS required but not offered',
    server: smtp({ hideStartTls: true }),
    error: { phase: 'STARTTLS', code: 'ETLS' },
    class: 'tls',
  },
  {
    name: 'implicit TLS against a plain-text server',
    server: smtp({ tls: 'none' }),
    target: { security: 'tls' },
    error: { phase: 'CONNECT', code: 'ETLS' },
    class: 'tls',
  },
];

describe('tenant SMTP sender: every failure class, as phase and raw error', () => {
  it.each(scenarios)('$name', async (scenario) => {
    // Prepare
    const started = await scenario.server(servers);
    const port = typeof started === 'number' ? started : started.port;
    const target = testTarget(port, scenario.target);

    // Act
    const outcome: SmtpSendOutcome = await sender.send(target, testMail(scenario.to));

    // Assess
    if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
    expect(outcome.error).toMatchObject(scenario.error);
    expect(classifySmtpFailure(outcome.error).class).toBe(scenario.class);
    if (scenario.accepted) expect(outcome.accepted).toEqual(scenario.accepted);
    if (scenario.noReply) expect(outcome.error.responseCode).toBeUndefined();
    expect(outcome.durationMs).toBeLessThan(CONNECT_MS + 500);
    expect(JSON.stringify(outcome)).not.toContain(TEST_PASSWORD);
    expect(JSON.stringify(outcome)).not.toContain(scenario.target?.password ?? TEST_PASSWORD);
  });

  it('gives the greeting timeout within connectMs', async () => {
    // Prepare
    const silent = await servers.startSilent();

    // Act
    const outcome = await sender.send(testTarget(silent.port), testMail());

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(CONNECT_MS - 50);
    expect(outcome.durationMs).toBeLessThan(CONNECT_MS + 500);
  });

  it('reports refusals the classifier sees as final, and those it does not', async () => {
    // Prepare
    const server = await servers.start({
      rcpt: {
        'gone@example.test': '550 5.1.1 No such user',
        'relay@elsewhere.test': '550 5.7.1 Relaying denied',
      },
    });

    // Act
    const outcome = await sender.send(
      testTarget(server.port),
      testMail(['ann@example.test', 'gone@example.test', 'relay@elsewhere.test']),
    );

    // Assess
    expect(outcome).toMatchObject({ ok: true, accepted: ['ann@example.test'] });
    expect(outcome.refused.map((refusal) => [refusal.address, classifyRecipientRefusal(refusal)])).toEqual([
      ['gone@example.test', 'recipient-rejected'],
      ['relay@elsewhere.test', 'server-rejected'],
    ]);
  });

  it('classifies all recipients refused with 5.1.1 as recipient-rejected', async () => {
    // Prepare
    const server = await servers.start({ rcpt: { 'gone@example.test': '550 5.1.1 No such user' } });

    // Act
    const outcome = await sender.send(testTarget(server.port), testMail(['gone@example.test']));

    // Assess
    if (outcome.ok) throw new Error('expected a failure');
    expect(classifySmtpFailure(outcome.error).class).toBe('recipient-rejected');
    expect(outcome.refused.map(classifyRecipientRefusal)).toEqual(['recipient-rejected']);
  });
});
