import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { createProducer, type QueueMessageInput } from '../../functions/producer';
import { LOCAL_OAUTH_MAILBOX } from './oauth-stack';
import { LOCAL_WEBHOOK_SECRET, type StackInfo } from './stack';

/**
 * The demo tenants (docs/design.md §16 Local stack): one working SMTP server, one broken, one without
 * config, one logging in with OAuth2 (XOAUTH2, §21).
 */
export const DEMO_TENANTS = ['acme', 'globex', 'initech', 'umbrella'] as const;
const KINDS = ['notification', 'autoresponder', 'digest'] as const;

interface DeliveryView {
  at: string;
  messageId: string;
  kind: string;
  route: string | null;
  fallbackReason: string | null;
  status: string;
  accepted: string[];
}

/** A small client of the local config API, with the admin token. */
export function apiClient(info: StackInfo) {
  return async function call<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${info.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${info.adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

/** Configures the demo tenants through the config API, exactly as a platform would. */
export async function configureDemoTenants(info: StackInfo): Promise<DemoSesTenants> {
  const call = apiClient(info);
  const smtp = (password: string) => ({
    host: info.mailboxSmtp.host,
    port: info.mailboxSmtp.port,
    security: 'none',
    username: info.mailboxSmtp.username,
    password,
  });
  const acme = await call('PUT', '/tenants/acme/sender', {
    mode: 'smtp',
    fallback: 'platform',
    smtp: { ...smtp(info.mailboxSmtp.password), fromAddress: 'notifications@acme.example', fromName: 'Acme' },
  });
  // globex's relay refuses its credential (a rotated password): every send fails at AUTH.
  const globex = await call('PUT', '/tenants/globex/sender', {
    mode: 'smtp',
    fallback: 'platform',
    smtp: { ...smtp('an-outdated-password'), fromAddress: 'alerts@globex.example', fromName: 'Globex' },
  });
  // globex's admins hear of it (docs/design.md §18): by email (the SES mailbox) and the local receiver.
  const alerts = await call('PUT', '/tenants/globex/notifications', {
    emails: ['admin@globex.example'],
    webhook: { url: info.webhookUrl, secret: LOCAL_WEBHOOK_SECRET },
  });
  // umbrella's mailbox takes only XOAUTH2: the dispatcher fetches a token with the refresh-token grant.
  const umbrella = await call('PUT', '/tenants/umbrella/sender', {
    mode: 'smtp',
    fallback: 'platform',
    smtp: {
      host: info.oauth.smtp.host,
      port: info.oauth.smtp.port,
      security: 'none',
      username: LOCAL_OAUTH_MAILBOX,
      oauth2: {
        provider: 'custom',
        flow: 'refresh-token',
        clientId: info.oauth.clientId,
        clientSecret: info.oauth.clientSecret,
        refreshToken: info.oauth.refreshToken,
        tokenUrl: info.oauth.tokenUrl,
      },
      fromAddress: LOCAL_OAUTH_MAILBOX,
      fromName: 'Umbrella',
    },
  });
  for (const [tenant, answer] of [
    ['acme', acme],
    ['globex', globex],
    ['globex alerts', alerts],
    ['umbrella', umbrella],
  ] as const) {
    if (answer.status !== 200)
      throw new Error(`configuring ${tenant} failed: ${JSON.stringify(answer.body)}`);
  }
  // initech is never configured (the local table starts empty): its mail goes out with reason no-config.
  return { initech: await claimDemoDomain(info, 'initech', 'initech.example') };
}

/** A demo tenant's SES tenant, as the table shows it (`tm-initech ENABLED, initech.example verified`). */
export type DemoSesTenants = Partial<Record<(typeof DEMO_TENANTS)[number], string>>;

/**
 * Each demo tenant's SES tenant as the admin route shows it (name and sending status; '-' for a tenant
 * that never went through SES), with the tenant's domain from `domains`.
 */
export async function demoSesTenants(info: StackInfo, domains: DemoSesTenants): Promise<DemoSesTenants> {
  const call = apiClient(info);
  const shown: DemoSesTenants = {};
  for (const tenantId of DEMO_TENANTS) {
    const ses = await call<{ tenantName: string; sendingStatus: string }>('GET', `/tenants/${tenantId}/ses`);
    const parts = [
      ...(ses.status === 200 ? [`${ses.body.tenantName} ${ses.body.sendingStatus}`] : []),
      ...(domains[tenantId] !== undefined ? [domains[tenantId]] : []),
    ];
    if (parts.length > 0) shown[tenantId] = parts.join(', ');
  }
  return shown;
}

/**
 * The tenant claims its domain through the config API (which makes its SES tenant), the local SES
 * verifies it as DNS would (`npm run verify-domain`), and a GET records the verification.
 */
async function claimDemoDomain(info: StackInfo, tenantId: string, domain: string): Promise<string> {
  const call = apiClient(info);
  const claimed = await call('PUT', `/tenants/${tenantId}/domains/${domain}`);
  if (claimed.status !== 201 && claimed.status !== 200) {
    throw new Error(`${tenantId} could not claim ${domain}: ${JSON.stringify(claimed.body)}`);
  }
  const verify = await fetch(`${info.endpoints.sesv2}/_local/identities/${domain}/verify`, {
    method: 'POST',
  });
  if (!verify.ok) throw new Error(`the local SES could not verify ${domain}: ${verify.status}`);
  const checked = await call<{ status: string }>('GET', `/tenants/${tenantId}/domains/${domain}`);
  return `${domain} ${checked.body?.status ?? 'unknown'}`;
}

/** Enqueues one message of each kind per demo tenant with the typed producer; returns how many. */
export async function enqueueDemoMessages(info: StackInfo, sqs: SQSClient): Promise<number> {
  const messages: QueueMessageInput[] = [];
  for (const tenantId of DEMO_TENANTS) {
    for (const kind of KINDS) {
      messages.push({
        v: 1,
        tenantId,
        kind,
        to: `customer-${messages.length + 1}@example.com`,
        subject: `${tenantId}: your ${kind} (demo)`,
        text: `Hello from ${tenantId}. This ${kind} was sent by the tenant-mailer local stack.`,
        ...(kind === 'digest' && { unsubscribeUrl: `https://${tenantId}.example/unsubscribe` }),
      });
    }
  }
  const { failed } = await createProducer({ sqs, queueUrl: info.queueUrl }).enqueueBatch(messages);
  if (failed.length > 0)
    throw new Error(`the demo could not enqueue ${failed.length} messages: ${failed[0]?.message}`);
  return messages.length;
}

/** Waits until every demo tenant has `perTenant` finished deliveries, or the timeout passes. */
export async function waitForDemo(
  info: StackInfo,
  perTenant: number,
  timeoutMs: number,
): Promise<DeliveryView[]> {
  const call = apiClient(info);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all: DeliveryView[] = [];
    for (const tenant of DEMO_TENANTS) {
      const page = await call<{ items: DeliveryView[] }>('GET', `/tenants/${tenant}/deliveries?limit=100`);
      all.push(
        ...(page.body?.items ?? []).filter((d) => d.status !== 'retrying').map((d) => ({ ...d, tenant })),
      );
    }
    const done = DEMO_TENANTS.every(
      (t) => all.filter((d) => (d as DeliveryView & { tenant: string }).tenant === t).length >= perTenant,
    );
    if (done || Date.now() > deadline) return all;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The demo's summary: tenant, route, reason, where to look. */
export function demoTable(
  info: StackInfo,
  deliveries: DeliveryView[],
  sesTenants: DemoSesTenants = {},
): string {
  const where = (route: string | null) =>
    route === 'smtp' ? `${info.mailboxUrl}  (tenant mailbox)` : `${info.sesUrl}  (SES mailbox)`;
  const rows = DEMO_TENANTS.map((tenant) => {
    const mine = deliveries.filter((d) => (d as DeliveryView & { tenant: string }).tenant === tenant);
    const first = mine[0];
    return [
      tenant,
      `${mine.length}`,
      first?.route ?? '-',
      first?.fallbackReason ?? '-',
      first?.status ?? 'pending',
      sesTenants[tenant] ?? '-',
      first ? where(first.route) : '-',
    ];
  });
  const header = ['tenant', 'sent', 'route', 'reason', 'status', 'SES tenant', 'where to look'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Deliveries the watch log describes each second; beyond that it counts them (docs/design.md §16). */
export const DESCRIBED_PER_SECOND = 20;

/**
 * The watch log after the demo: one line per finished delivery (read back through the config API) up to
 * DESCRIBED_PER_SECOND a second; past that, one line a second counting the rest, so a busy queue does not
 * cost a config API call per message (and the log stays readable).
 */
export function deliveryWatch(
  info: StackInfo,
  say: (line: string) => void,
): { onBatch(records: SQSRecord[], failed: Set<string>): Promise<void>; close(): void } {
  let second = 0;
  let described = 0;
  let counted = { handled: 0, queued: 0 };
  const flush = () => {
    if (counted.handled === 0) return;
    say(
      `${new Date().toISOString()}  … and ${counted.handled} more finished (${counted.queued} of them left queued) in that second; GET /tenants/{id}/deliveries lists them`,
    );
    counted = { handled: 0, queued: 0 };
  };
  const timer = setInterval(flush, 1_000);
  timer.unref();
  return {
    async onBatch(records, failed) {
      const now = Math.floor(Date.now() / 1000);
      if (now !== second) {
        second = now;
        described = 0;
      }
      const room = Math.max(0, DESCRIBED_PER_SECOND - described);
      const shown = records.slice(0, room);
      described += shown.length;
      for (const r of records.slice(room)) {
        counted.handled += 1;
        if (failed.has(r.messageId)) counted.queued += 1;
      }
      for (const line of await describeBatch(info, shown, failed)) say(line);
    },
    close() {
      clearInterval(timer);
      flush();
    },
  };
}

/** One line per finished delivery, for the log after the demo. */
export async function describeBatch(
  info: StackInfo,
  records: SQSRecord[],
  failed: Set<string>,
): Promise<string[]> {
  const call = apiClient(info);
  const lines: string[] = [];
  for (const record of records) {
    let tenantId = '?';
    let key = record.messageId;
    try {
      const body = JSON.parse(record.body) as { tenantId?: string; idempotencyKey?: string };
      tenantId = body.tenantId ?? '?';
      key = body.idempotencyKey ?? record.messageId;
    } catch {
      // an unparsable body went to the DLQ as invalid
    }
    if (failed.has(record.messageId)) {
      lines.push(`${new Date().toISOString()}  ${tenantId.padEnd(10)} left queued for a retry`);
      continue;
    }
    const found = await call<DeliveryView | { error: unknown }>(
      'GET',
      `/tenants/${encodeURIComponent(tenantId)}/deliveries/${encodeURIComponent(key)}`,
    );
    const d = found.status === 200 ? (found.body as DeliveryView) : null;
    lines.push(
      d
        ? `${d.at}  ${tenantId.padEnd(10)} ${d.kind.padEnd(13)} route=${d.route} reason=${d.fallbackReason ?? '-'} status=${d.status} to=${d.accepted.join(',')}`
        : `${new Date().toISOString()}  ${tenantId.padEnd(10)} not delivered (see the DLQ: ${info.dlqUrl})`,
    );
  }
  return lines;
}
