import { classifySmtpFailure } from '../core/classify';
import type {
  MimeBuilder,
  SmtpCallOptions,
  SmtpSendOutcome,
  SmtpTarget,
  SmtpVerifyOutcome,
  TenantSmtpSender,
} from '../core/ports';
import type { SmtpErrorInfo } from '../core/types';
import type { TestResult } from './schemas';

/** The tenant SMTP sender as the test endpoint uses it (the dispatcher's own, guarded at connect time). */
export type SmtpTester = Pick<TenantSmtpSender, 'verify' | 'sendOnce'>;

/** The cap (docs/design.md §11 Timeouts) on everything the test endpoint does against a tenant server. */
export const MAX_TEST_BUDGET_MS = 15_000;

export interface TestMail {
  sendTo: string;
  fromAddress: string;
  fromName?: string;
}

/** A failure as the test endpoint answers it: classified as the dispatcher would classify it. */
export function failedResult(info: SmtpErrorInfo, durationMs: number): TestResult {
  const record = classifySmtpFailure(info);
  return {
    ok: false,
    class: record.class,
    code: record.code,
    phase: record.phase,
    message: record.message,
    ...(record.hint !== undefined && { hint: record.hint }),
    durationMs: Math.max(0, Math.round(durationMs)),
  };
}

function resultOf(outcome: SmtpVerifyOutcome | SmtpSendOutcome): TestResult {
  return outcome.ok
    ? { ok: true, durationMs: Math.max(0, Math.round(outcome.durationMs)) }
    : failedResult(outcome.error, outcome.durationMs);
}

function fromHeader(address: string, name: string | undefined): string {
  if (name === undefined) return address;
  return `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`;
}

/**
 * Connect, TLS and AUTH against the tenant server (and one test message with `sendTo`) before
 * `opts.deadline`, over a connection of its own (nothing kept in the API's container); never throws
 * for a tenant-side failure.
 */
export async function runSmtpTest(
  smtp: SmtpTester,
  mime: MimeBuilder,
  target: SmtpTarget,
  opts: SmtpCallOptions,
  mail: TestMail | undefined,
): Promise<TestResult> {
  if (!mail) return resultOf(await smtp.verify(target, opts));
  const built = await mime({
    from: fromHeader(mail.fromAddress, mail.fromName),
    to: [mail.sendTo],
    subject: 'Test message: your sender settings work',
    // Machine-made (RFC 3834), so an autoresponder at sendTo does not answer the tenant's address.
    headers: { 'Auto-Submitted': 'auto-generated' },
    text:
      `This test message went out through your own SMTP server (${target.host}) to check your ` +
      'sender settings. No action is needed.\r\n',
  });
  const outcome = await smtp.sendOnce(
    target,
    { from: mail.fromAddress, to: [mail.sendTo], raw: built.raw },
    opts,
  );
  return resultOf(outcome);
}
