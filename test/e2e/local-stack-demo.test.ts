import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type LocalStackProcess, type StackInfo, spawnLocalStack } from '../support/local-stack';
import type { SesStoredEmail } from '../support/ses';

// `npm start` with its demo, as a new user sees it: the summary table, and the mail where it says.

interface MaildevEmail {
  subject: string;
  from: { address: string; name?: string }[];
}

interface Row {
  tenant: string;
  sent: string;
  route: string;
  reason: string;
  status: string;
  sesTenant: string;
  where: string;
}

const TABLE = /^tenant {2,}sent.*\n-[- ]+\n(acme .*)\n(globex .*)\n(initech .*)\n(umbrella .*)$/m;

describe('npm start (demo)', () => {
  let stack: LocalStackProcess | undefined;
  let info: StackInfo;
  let rows: Row[] = [];

  beforeAll(async () => {
    stack = await spawnLocalStack({ demo: true });
    info = await stack.ready(60_000);
    const table = await stack.waitForOutput(TABLE, 40_000);
    rows = table.slice(1, 5).map(parseRow);
  }, 105_000);

  afterAll(async () => {
    await stack?.dispose();
  });

  it('prints the table: acme and umbrella (XOAUTH2) through their SMTP servers, globex falls back (auth), initech on the platform', () => {
    // Prepare: the table was read in beforeAll
    const byTenant = Object.fromEntries(rows.map((row) => [row.tenant, row]));

    // Act
    const summary = Object.fromEntries(
      Object.entries(byTenant).map(([tenant, r]) => [tenant, [r.sent, r.route, r.reason, r.status]]),
    );

    // Assess
    expect(summary).toEqual({
      acme: ['3', 'smtp', '-', 'sent'],
      globex: ['3', 'platform', 'auth', 'sent'],
      initech: ['3', 'platform', 'no-config', 'sent'],
      umbrella: ['3', 'smtp', '-', 'sent'],
    });
    expect(byTenant.umbrella?.where).toBe(`${info.mailboxUrl}  (tenant mailbox)`);
    expect(byTenant.acme?.where).toBe(`${info.mailboxUrl}  (tenant mailbox)`);
    expect(byTenant.globex?.where).toBe(`${info.sesUrl}  (SES mailbox)`);
    expect(byTenant.initech?.where).toBe(`${info.sesUrl}  (SES mailbox)`);
    // Each tenant's SES tenant as SES reports it: initech's made by its domain claim (verified by the
    // demo), globex's by its first fallback; acme and umbrella never went through SES.
    expect(byTenant.initech?.sesTenant).toBe('tm-initech ENABLED, initech.example verified');
    expect(byTenant.globex?.sesTenant).toBe('tm-globex ENABLED');
    expect([byTenant.acme?.sesTenant, byTenant.umbrella?.sesTenant]).toEqual(['-', '-']);
    expect(info.oauth.tokenUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
  });

  it('puts the mail where the table says: acme and umbrella in the tenant mailbox, the other six in SES', async () => {
    // Prepare
    const platform = `<${info.platformFrom}>`;

    // Act
    const inbox = (await (await fetch(`${info.mailboxUrl}/api/email`)).json()) as MaildevEmail[];
    const stored = ((await (await fetch(`${info.sesUrl}/store`)).json()) as { emails: SesStoredEmail[] })
      .emails;
    // Alerts to globex's admins (next test) are platform mail too; here only the demo's messages.
    const ses = stored.filter((m) => !m.subject.startsWith('['));

    // Assess
    expect(inbox).toHaveLength(6);
    for (const mail of inbox) {
      const tenant = mail.subject.split(':')[0];
      const from = tenant === 'acme' ? 'notifications@acme.example' : 'notify@umbrella.example';
      expect(['acme', 'umbrella']).toContain(tenant);
      expect(mail.from.map((a) => a.address)).toEqual([from]);
    }
    expect(inbox.filter((mail) => mail.subject.startsWith('umbrella: '))).toHaveLength(3);
    expect(ses.map((m) => m.subject.split(':')[0]).sort()).toEqual([
      'globex',
      'globex',
      'globex',
      'initech',
      'initech',
      'initech',
    ]);
    for (const mail of ses) {
      const expected = mail.subject.startsWith('globex')
        ? `"Globex via ${info.platformName}" ${platform}`
        : `"${info.platformName}" ${platform}`;
      expect(mail.from).toBe(expected);
    }
  });

  it('sends every SES message through its tenant’s SES tenant (TenantName tm-<tenantId>)', async () => {
    // Act
    const answer = await fetch(`${info.endpoints.sesv2}/_local/sends`);
    const { sends } = (await answer.json()) as {
      sends: { tenantName?: string; tags: { Name: string; Value: string }[] }[];
    };

    // The demo's six fallback sends (alert emails of the notifier carry no TenantName yet).
    const tag = (send: (typeof sends)[number], name: string) => send.tags.find((t) => t.Name === name)?.Value;
    const demo = sends.filter((send) => ['auth', 'no-config'].includes(tag(send, 'fallbackReason') ?? ''));

    // Assess
    expect(demo).toHaveLength(6);
    for (const send of demo) {
      expect(send.tenantName).toBe(`tm-${tag(send, 'tenantId')}`);
    }
  });

  it("tells globex's admins once: the alert email in the SES mailbox and the signed event in webhooks.jsonl", async () => {
    // Prepare
    const file = join((stack as LocalStackProcess).dir, 'webhooks.jsonl');
    const subject = `[${info.platformName}] Mail from globex is going out through ${info.platformName}: your SMTP server refused login`;

    // Act
    const alert = await eventually('the alert email', 20_000, async () => {
      const ses = ((await (await fetch(`${info.sesUrl}/store`)).json()) as { emails: SesStoredEmail[] })
        .emails;
      return ses.find((m) => m.subject.startsWith('['));
    });
    const lines = await eventually('the webhook event', 20_000, async () =>
      existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : undefined,
    );

    // Assess
    expect(alert.subject).toBe(subject);
    expect(alert.destination.to).toEqual(['admin@globex.example']);
    expect(lines).toHaveLength(1);
    const { event } = JSON.parse(lines[0] ?? '{}') as {
      event: { type: string; tenantId: string; data: unknown };
    };
    expect(event).toMatchObject({
      type: 'sender.unhealthy',
      tenantId: 'globex',
      data: { lastFailure: { class: 'auth' } },
    });
    expect(info.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hooks$/);
  });

  it('stops on SIGINT with exit code 0 and removes stack.json', async () => {
    // Prepare
    const running = stack as LocalStackProcess;

    // Act
    const exit = await running.stop('SIGINT', 15_000);

    // Assess
    expect(exit, running.output()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(running.dir, 'stack.json'))).toBe(false);
  });
});

function parseRow(line: string | undefined): Row {
  const [tenant = '', sent = '', route = '', reason = '', status = '', sesTenant = '', ...where] = (
    line ?? ''
  ).split(/ {2,}/);
  return { tenant, sent, route, reason, status, sesTenant, where: where.join('  ') };
}
