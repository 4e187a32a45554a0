import { describe, expect, it } from 'vitest';
import {
  classifyRecipientRefusal,
  classifySmtpFailure,
  isFinalRefusal,
  isThrottling,
  MAX_FAILURE_MESSAGE_CHARS,
  parseEnhancedStatus,
  parseResponseCode,
  platformFaultOf,
} from '../../functions/core/classify';
import type { FailureClass, SmtpErrorInfo } from '../../functions/core/types';

type Case = [string, SmtpErrorInfo, FailureClass];

// Shapes as nodemailer 10's smtp-connection reports them (code, command → our phase, response).
const cases: Case[] = [
  // credentials / config-invalid: decided by the phase the sender tracked
  [
    'KMS decrypt failed',
    { phase: 'DECRYPT', code: 'InvalidCiphertextException', message: 'decrypt failed' },
    'credentials',
  ],
  [
    'guard refused host',
    { phase: 'CONFIG', code: 'HOST_REFUSED', message: 'host resolves to a private address' },
    'config-invalid',
  ],
  ['bad port', { phase: 'CONFIG', code: 'PORT_REFUSED', message: 'port 25 not allowed' }, 'config-invalid'],
  [
    'guard DNS failure',
    { phase: 'CONFIG', code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND smtp.acme.example' },
    'connection',
  ],
  ['guard DNS retry', { phase: 'CONFIG', code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN' }, 'connection'],
  // uncertain: lost after the final "." with no reply
  [
    'drop after final dot',
    { phase: 'MESSAGE', code: 'ECONNECTION', message: 'Connection closed unexpectedly' },
    'uncertain',
  ],
  ['timeout after final dot', { phase: 'MESSAGE', code: 'ETIMEDOUT', message: 'Timeout' }, 'uncertain'],
  ['reset after final dot', { phase: 'MESSAGE', code: 'ESOCKET', message: 'read ECONNRESET' }, 'uncertain'],
  [
    '421 after final dot',
    { phase: 'MESSAGE', code: 'ECONNECTION', responseCode: 421, response: '421 4.3.0 closing', message: 'x' },
    'server-temporary',
  ],
  [
    '554 after final dot',
    {
      phase: 'MESSAGE',
      code: 'EMESSAGE',
      responseCode: 554,
      response: '554 5.6.0 Message rejected',
      message: 'Message failed',
    },
    'server-rejected',
  ],
  [
    '451 after final dot',
    {
      phase: 'MESSAGE',
      code: 'EMESSAGE',
      responseCode: 451,
      response: '451 4.3.0 Local error',
      message: 'Message failed',
    },
    'server-temporary',
  ],
  // connection
  [
    'ECONNREFUSED',
    { phase: 'CONNECT', code: 'ESOCKET', message: 'connect ECONNREFUSED 203.0.113.5:587' },
    'connection',
  ],
  [
    'ECONNREFUSED as system code',
    { phase: 'CONNECT', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
    'connection',
  ],
  ['ECONNRESET', { phase: 'EHLO', code: 'ECONNRESET', message: 'read ECONNRESET' }, 'connection'],
  ['connect timeout', { phase: 'CONNECT', code: 'ETIMEDOUT', message: 'Connection timeout' }, 'connection'],
  [
    'greeting timeout',
    { phase: 'GREETING', code: 'ETIMEDOUT', message: 'Greeting never received' },
    'connection',
  ],
  [
    'nodemailer EDNS',
    { phase: 'CONNECT', code: 'EDNS', message: 'queryA ENOTFOUND smtp.acme.example' },
    'connection',
  ],
  ['ENOTFOUND', { phase: 'CONNECT', code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' }, 'connection'],
  ['EHOSTUNREACH', { phase: 'CONNECT', code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH' }, 'connection'],
  [
    'silent close before greeting',
    { phase: 'GREETING', code: 'ECONNECTION', message: 'Connection closed unexpectedly' },
    'connection',
  ],
  ['socket timeout at MAIL', { phase: 'MAIL', code: 'ETIMEDOUT', message: 'Timeout' }, 'connection'],
  [
    'drop at DATA',
    { phase: 'DATA', code: 'ECONNECTION', message: 'Connection closed unexpectedly' },
    'connection',
  ],
  [
    'invalid greeting, no code',
    { phase: 'GREETING', code: 'EPROTOCOL', response: 'HTTP/1.1 400', message: 'Invalid greeting' },
    'connection',
  ],
  ['no code at all', { phase: 'CONNECT', message: 'something odd' }, 'connection'],
  // tls
  [
    'STARTTLS refused',
    {
      phase: 'STARTTLS',
      code: 'ETLS',
      responseCode: 502,
      response: '502 5.5.1 Unrecognized command',
      message: 'Error upgrading connection with STARTTLS',
    },
    'tls',
  ],
  [
    'STARTTLS handshake',
    {
      phase: 'STARTTLS',
      code: 'ETLS',
      message: 'Error initiating TLS - unable to verify the first certificate',
    },
    'tls',
  ],
  [
    'TLS 454 not available',
    {
      phase: 'STARTTLS',
      code: 'ETLS',
      responseCode: 454,
      response: '454 4.7.0 TLS not available due to local problem',
      message: 'x',
    },
    'tls',
  ],
  [
    'altname mismatch (code)',
    {
      phase: 'CONNECT',
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      message: "Hostname/IP does not match certificate's altnames",
    },
    'tls',
  ],
  [
    'altname mismatch (ESOCKET)',
    {
      phase: 'CONNECT',
      code: 'ESOCKET',
      message:
        "Hostname/IP does not match certificate's altnames: Host: a. is not in the cert's altnames: DNS:b",
    },
    'tls',
  ],
  [
    'unverifiable leaf',
    {
      phase: 'CONNECT',
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      message: 'unable to verify the first certificate',
    },
    'tls',
  ],
  [
    'self-signed (code)',
    { phase: 'CONNECT', code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' },
    'tls',
  ],
  ['self-signed (ESOCKET)', { phase: 'CONNECT', code: 'ESOCKET', message: 'self-signed certificate' }, 'tls'],
  [
    'self-signed in chain',
    {
      phase: 'STARTTLS',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      message: 'self-signed certificate in certificate chain',
    },
    'tls',
  ],
  ['expired', { phase: 'CONNECT', code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, 'tls'],
  [
    'wrong version (465 vs 587)',
    { phase: 'CONNECT', code: 'ESOCKET', message: 'SSL routines:ssl3_get_record:wrong version number' },
    'tls',
  ],
  ['ERR_SSL_*', { phase: 'CONNECT', code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'x' }, 'tls'],
  ['EPROTO', { phase: 'CONNECT', code: 'EPROTO', message: 'x' }, 'tls'],
  [
    'TLS handshake timeout',
    { phase: 'STARTTLS', code: 'ETIMEDOUT', message: 'TLS handshake timed out' },
    'tls',
  ],
  [
    'STARTTLS required but absent (EHLO)',
    {
      phase: 'EHLO',
      code: 'ECONNECTION',
      responseCode: 502,
      response: '502 5.5.2 Error',
      message: 'EHLO failed but HELO does not support required STARTTLS',
    },
    'tls',
  ],
  [
    'server demands STARTTLS',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 530,
      response: '530 5.7.0 Must issue a STARTTLS command first',
      message: 'Mail command failed',
    },
    'tls',
  ],
  [
    'REQUIRETLS unsupported',
    { phase: 'MAIL', code: 'EREQUIRETLS', message: 'Server does not support REQUIRETLS' },
    'tls',
  ],
  ['close during STARTTLS, no code', { phase: 'STARTTLS', code: 'EWHATEVER', message: 'closed' }, 'tls'],
  // auth
  [
    '535',
    {
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode: 535,
      response: '535 5.7.8 Username and Password not accepted',
      message: 'Invalid login',
    },
    'auth',
  ],
  [
    '534',
    {
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode: 534,
      response: '534 5.7.9 Application-specific password required',
      message: 'Invalid login',
    },
    'auth',
  ],
  [
    '530 auth required at MAIL',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 530,
      response: '530 5.7.0 Authentication required',
      message: 'Mail command failed',
    },
    'auth',
  ],
  [
    'EAUTH missing credentials',
    { phase: 'AUTH', code: 'EAUTH', message: 'Missing credentials for "PLAIN"' },
    'auth',
  ],
  ['ENOAUTH', { phase: 'AUTH', code: 'ENOAUTH', message: 'no credentials' }, 'auth'],
  ['auth phase, no code', { phase: 'AUTH', message: 'odd' }, 'auth'],
  // server-temporary
  [
    '421 at greeting',
    {
      phase: 'GREETING',
      code: 'EPROTOCOL',
      responseCode: 421,
      response: '421 Service not available',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '421 at RCPT',
    {
      phase: 'RCPT',
      code: 'EENVELOPE',
      responseCode: 421,
      response: '421 4.7.0 Try again later, closing connection',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '421 rate at MAIL (421 wins)',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 421,
      response: '421 4.7.28 rate limited',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '451 at MAIL',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 451,
      response: '451 4.3.0 Temporary lookup failure',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '450 greylisted at MAIL',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 450,
      response: '450 4.2.0 Greylisted, try again later',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '452 too many recipients',
    {
      phase: 'DATA',
      code: 'EENVELOPE',
      responseCode: 452,
      response: '452 4.5.3 Too many recipients',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '450 4.7.1 policy (no rate words)',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 450,
      response: '450 4.7.1 Client host rejected',
      message: 'x',
    },
    'server-temporary',
  ],
  [
    '4xx code parsed from response',
    { phase: 'DATA', code: 'EENVELOPE', response: '451 Requested action aborted', message: 'x' },
    'server-temporary',
  ],
  // server-throttled
  [
    '432 4.3.2',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 432,
      response: '432 4.3.2 System not accepting network messages',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    'enhanced 4.3.2 alone',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 452,
      response: '452 4.3.2 Not accepting',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '451 4.7.1 rate',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 451,
      response: '451 4.7.1 Rate limit exceeded, try later',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '454 4.7.0 too many logins',
    {
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode: 454,
      response: '454 4.7.0 Too many login attempts',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '450 quota',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 450,
      response: '450 Sending quota exceeded',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '452 too many messages',
    {
      phase: 'DATA',
      code: 'EENVELOPE',
      responseCode: 452,
      response: '452 Too many messages this hour',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '550 5.4.5 daily quota',
    {
      phase: 'DATA',
      code: 'EMESSAGE',
      responseCode: 550,
      response: '550 5.4.5 Daily user sending quota exceeded',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    '554 5.2.0 quota',
    {
      phase: 'MESSAGE',
      code: 'EMESSAGE',
      responseCode: 554,
      response: '554 5.2.0 SubmissionQuotaExceededException',
      message: 'x',
    },
    'server-throttled',
  ],
  [
    'throttled at RCPT',
    {
      phase: 'RCPT',
      code: 'EENVELOPE',
      responseCode: 450,
      response: '450 4.7.1 too many connections',
      message: 'x',
    },
    'server-throttled',
  ],
  // server-rejected
  [
    '550 at MAIL',
    {
      phase: 'MAIL',
      code: 'EENVELOPE',
      responseCode: 550,
      response: '550 5.7.1 Sender not allowed',
      message: 'x',
    },
    'server-rejected',
  ],
  [
    '554 at DATA',
    {
      phase: 'DATA',
      code: 'EENVELOPE',
      responseCode: 554,
      response: '554 5.5.1 No valid recipients',
      message: 'x',
    },
    'server-rejected',
  ],
  [
    '552 size at final dot',
    {
      phase: 'MESSAGE',
      code: 'EMESSAGE',
      responseCode: 552,
      response: '552 5.3.4 Message too big',
      message: 'x',
    },
    'server-rejected',
  ],
  [
    '554 at greeting',
    {
      phase: 'GREETING',
      code: 'EPROTOCOL',
      responseCode: 554,
      response: '554 No SMTP service here',
      message: 'x',
    },
    'server-rejected',
  ],
  [
    'size refused client-side',
    { phase: 'MAIL', code: 'EMESSAGE', message: 'Message size larger than allowed 1000' },
    'server-rejected',
  ],
  [
    'relay denied at RCPT',
    {
      phase: 'RCPT',
      code: 'EENVELOPE',
      responseCode: 554,
      response: '554 5.7.1 Relay access denied',
      message: 'x',
    },
    'server-rejected',
  ],
  // recipient-rejected (every recipient refused at RCPT)
  [
    'all recipients unknown',
    {
      phase: 'RCPT',
      code: 'EENVELOPE',
      responseCode: 550,
      response: '550 5.1.1 User unknown',
      message: "Can't send mail - all recipients were rejected",
    },
    'recipient-rejected',
  ],
];

describe('classifySmtpFailure', () => {
  it.each(cases)('%s → %s', (_name, info, expected) => {
    // Act
    const record = classifySmtpFailure(info);

    // Assess
    expect(record.class).toBe(expected);
    expect(record.phase).toBe(info.phase);
  });

  it('keeps the code, the response code and the server response as message', () => {
    // Prepare
    const info: SmtpErrorInfo = {
      phase: 'AUTH',
      code: 'EAUTH',
      responseCode: 535,
      response: '535 5.7.8 Bad credentials',
      message: 'Invalid login: 535 5.7.8 Bad credentials',
    };

    // Act / Assess
    expect(classifySmtpFailure(info)).toEqual({
      class: 'auth',
      code: 'EAUTH',
      phase: 'AUTH',
      message: '535 5.7.8 Bad credentials',
      responseCode: 535,
    });
  });

  it.each([
    [
      'error message when no response',
      { phase: 'CONNECT', code: 'ETIMEDOUT', message: ' Connection timeout ' },
      'Connection timeout',
    ],
    [
      'multi-line response flattened',
      { phase: 'MAIL', code: 'X', response: '550-5.7.1 a\r\n550 5.7.1 b', message: 'm' },
      '550-5.7.1 a 550 5.7.1 b',
    ],
  ] as [string, SmtpErrorInfo, string][])('message: %s', (_name, info, expected) => {
    expect(classifySmtpFailure(info).message).toBe(expected);
  });

  it('trims the message to the bound', () => {
    const record = classifySmtpFailure({
      phase: 'DATA',
      code: 'EMESSAGE',
      response: `554 ${'x'.repeat(2000)}`,
      message: 'm',
    });
    expect(record.message.length).toBe(MAX_FAILURE_MESSAGE_CHARS);
  });

  it.each([
    ['nodemailer code', { phase: 'CONNECT', code: 'ESOCKET', message: 'x' }, 'ESOCKET', undefined],
    ['reply code when no code', { phase: 'MAIL', response: '451 later', message: 'x' }, '451', 451],
    ['UNKNOWN when neither', { phase: 'CONNECT', message: 'x' }, 'UNKNOWN', undefined],
  ] as [string, SmtpErrorInfo, string, number | undefined][])(
    'code: %s',
    (_name, info, code, responseCode) => {
      const record = classifySmtpFailure(info);
      expect([record.code, record.responseCode]).toEqual([code, responseCode]);
    },
  );
});

describe('classifyRecipientRefusal / isFinalRefusal', () => {
  it.each([
    [550, '550 5.1.1 <x@acme.example>: Recipient address rejected: User unknown', 'recipient-rejected'],
    [553, '553 5.1.3 Bad recipient address syntax', 'recipient-rejected'],
    [550, '550 5.1.10 Recipient not found', 'recipient-rejected'],
    [550, '550 5.2.1 Mailbox disabled', 'recipient-rejected'],
    [552, '552 5.2.2 Mailbox full', 'recipient-rejected'],
    [undefined, '550 5.1.1 unknown (code from response)', 'recipient-rejected'],
    [550, '550 5.7.1 Relaying denied', 'server-rejected'],
    [554, '554 5.7.1 Sender address rejected: not owned by user', 'server-rejected'],
    [550, '550 No such user here', 'server-rejected'],
    [550, '550 5.2.0 Mailbox unavailable', 'server-rejected'],
    [550, '550 5.4.5 Daily sending quota exceeded', 'server-throttled'],
    [451, '451 4.7.1 rate limited', 'server-throttled'],
    [452, '452 4.5.3 Too many recipients', 'server-temporary'],
    [452, '452 4.2.2 Mailbox over quota', 'server-temporary'],
    [450, '450 4.1.1 Recipient address rejected: unverified', 'server-temporary'],
    [450, '450 5.1.1 mismatched class digit', 'server-temporary'],
    [451, '451 4.3.0 temporary failure', 'server-temporary'],
    [undefined, undefined, 'server-temporary'],
  ] as [number | undefined, string | undefined, FailureClass][])(
    '%s %s → %s',
    (responseCode, response, expected) => {
      // Prepare
      const refusal = { address: 'x@acme.example', responseCode, response };

      // Act / Assess
      expect(classifyRecipientRefusal(refusal)).toBe(expected);
      expect(isFinalRefusal(refusal)).toBe(expected === 'recipient-rejected');
    },
  );
});

describe('reply parsing', () => {
  it.each([
    ['550 5.1.1 User unknown', undefined, '5.1.1'],
    ['550-5.7.1 multi', undefined, '5.7.1'],
    ['452 4.3.2 x', 452, '4.3.2'],
    ['550 5.1.10 x', 550, '5.1.10'],
    ['5.1.1 bare', undefined, '5.1.1'],
    ['450 5.1.1 mismatched', 450, null],
    ['550 User unknown', 550, null],
    ['550 5.1 incomplete', 550, null],
    [undefined, undefined, null],
  ] as [string | undefined, number | undefined, string | null][])(
    'enhanced status of %s',
    (response, code, expected) => {
      expect(parseEnhancedStatus(response, code)).toBe(expected);
    },
  );

  it.each([
    ['550 5.1.1 x', 550],
    ['421-multi', 421],
    ['250', 250],
    ['x 550', undefined],
    ['5500 x', undefined],
    [undefined, undefined],
  ] as [string | undefined, number | undefined][])('reply code of %s', (response, expected) => {
    expect(parseResponseCode(response)).toBe(expected);
  });

  it.each([
    [432, null, '', true],
    [451, '4.7.1', 'rate limit exceeded', true],
    [451, '4.7.1', 'client host rejected', false],
    [550, '5.4.5', '', true],
    [554, '5.2.0', '', true],
    [550, '5.2.0', '', false],
    [450, null, 'quota exceeded', true],
    [452, '4.2.2', 'over quota', false],
    [452, '4.5.3', 'too many recipients', false],
    [550, null, 'rate', false],
  ] as [number, string | null, string, boolean][])(
    'isThrottling(%s, %s, %s) = %s',
    (code, enhanced, text, expected) => {
      expect(isThrottling(code, enhanced, text)).toBe(expected);
    },
  );
});

describe("platformFaultOf: KMS unavailable is the platform's fault, a bad ciphertext the tenant's", () => {
  const decrypt = (code: string): SmtpErrorInfo => ({ phase: 'DECRYPT', code, message: 'decrypt failed' });
  it.each([
    'ThrottlingException',
    'KMSInternalException',
    'DependencyTimeoutException',
    'KeyUnavailableException',
    'InternalFailure',
    'ServiceUnavailable',
    'TooManyRequestsException',
    'TimeoutError',
    'ETIMEDOUT',
    'ECONNRESET',
    'ECONNREFUSED',
  ])('%s → kms-unavailable', (code) => {
    expect(platformFaultOf(decrypt(code))).toBe('kms-unavailable');
    // The failure class stays credentials (the record's words); the dispatcher reads the platform fault first.
    expect(classifySmtpFailure(decrypt(code)).class).toBe('credentials');
  });

  it.each([
    'InvalidCiphertextException',
    'IncorrectKeyException',
    'AccessDeniedException',
    'NotFoundException',
    'KMSError',
  ])("%s → the tenant's credentials", (code) => {
    expect(platformFaultOf(decrypt(code))).toBeUndefined();
  });

  it('only in the DECRYPT phase', () => {
    expect(platformFaultOf({ phase: 'CONNECT', code: 'ECONNRESET', message: 'reset' })).toBeUndefined();
    expect(platformFaultOf({ phase: 'DECRYPT', message: 'no code' })).toBeUndefined();
  });
});
