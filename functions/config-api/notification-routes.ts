import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  type AlertEvent,
  type AlertEventType,
  type NotificationSettings,
  SUBSCRIBABLE_EVENT_TYPES,
} from '../core/alerts';
import {
  ConditionFailedError,
  DnsFailureError,
  HostRefusedError,
  InvalidLogCursorError,
} from '../core/errors';
import type { ChannelResult } from '../core/ports';
import { parseLimit } from './cursor';
import { TIMED_OUT, within } from './deadline';
import type { AlertsApiDeps, RouteContext } from './deps';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  RateLimitedError,
  UnprocessableError,
} from './errors';
import { json, noContent, parseJsonBody, parseWith } from './http';
import { type NotificationsView, putNotificationsBodySchema } from './notification-schemas';
import { GUARD_TIMEOUT_MS } from './sender-rules';

/** Tenant alert settings, test and log (issue 14); the webhook secret is never answered or logged. */

function alertsOf(ctx: RouteContext): AlertsApiDeps {
  if (!ctx.deps.alerts) throw new NotFoundError('alerts are not enabled in this deployment');
  return ctx.deps.alerts;
}

function view(settings: NotificationSettings | null): NotificationsView {
  if (!settings) return { emails: [], webhook: null, events: [...SUBSCRIBABLE_EVENT_TYPES], version: 0 };
  return {
    emails: settings.emails,
    webhook: settings.webhook ? { url: settings.webhook.url, secretSet: true } : null,
    events: settings.events,
    version: settings.version,
    updatedAt: settings.updatedAt,
  };
}

/** The URL passes the syntax rules and the guard (without calling it); refusals are 422 on webhook.url. */
async function vetWebhookUrl(alerts: AlertsApiDeps, url: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await within(alerts.webhook.vetUrl(url), GUARD_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof HostRefusedError) {
      const code = err.reason === 'url' ? 'validation' : 'host-refused';
      throw new UnprocessableError(code, err.message, 'webhook.url', { cause: err });
    }
    if (err instanceof DnsFailureError) {
      throw new UnprocessableError('dns-failure', err.message, 'webhook.url', { cause: err });
    }
    throw err;
  }
  if (outcome === TIMED_OUT) {
    throw new UnprocessableError(
      'dns-failure',
      'DNS lookup of the webhook host did not answer in time',
      'webhook.url',
    );
  }
}

/** PUT /tenants/{tenantId}/notifications */
export async function putNotificationsRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const alerts = alertsOf(ctx);
  const { tenantId, deps, event } = ctx;
  const body = parseWith(putNotificationsBodySchema, parseJsonBody(event.body, event.isBase64Encoded));
  const stored = await alerts.store.getSettings(tenantId);
  let webhook: NotificationSettings['webhook'] = null;
  if (body.webhook) {
    await vetWebhookUrl(alerts, body.webhook.url);
    if (body.webhook.secret !== undefined) {
      webhook = {
        url: body.webhook.url,
        secretCiphertext: await alerts.secrets.encrypt(tenantId, body.webhook.secret),
      };
    } else if (stored?.webhook && stored.webhook.url === body.webhook.url) {
      webhook = stored.webhook;
    } else {
      throw new UnprocessableError(
        'validation',
        'a secret is required for a new webhook URL (it may be left out only while the URL stays the same)',
        'webhook.secret',
      );
    }
  }
  const settings: NotificationSettings = {
    tenantId,
    emails: [...new Set(body.emails.map((e) => e.toLowerCase()))],
    webhook,
    events: (body.events as AlertEventType[] | undefined) ?? [...SUBSCRIBABLE_EVENT_TYPES],
    version: (stored?.version ?? 0) + 1,
    updatedAt: new Date(deps.clock.now()).toISOString(),
  };
  try {
    await alerts.store.putSettings(settings, stored?.version ?? 0);
  } catch (err) {
    if (err instanceof ConditionFailedError) {
      throw new ConflictError('the notification settings changed concurrently; retry');
    }
    throw err;
  }
  return json(200, view(settings));
}

/** GET /tenants/{tenantId}/notifications */
export async function getNotificationsRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  return json(200, view(await alertsOf(ctx).store.getSettings(ctx.tenantId)));
}

/** DELETE /tenants/{tenantId}/notifications */
export async function deleteNotificationsRoute(
  ctx: RouteContext,
): Promise<APIGatewayProxyStructuredResultV2> {
  await alertsOf(ctx).store.deleteSettings(ctx.tenantId);
  return noContent();
}

/** POST /tenants/{tenantId}/notifications/test: a `test` event to every channel now (5 per minute). */
export async function testNotificationsRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const alerts = alertsOf(ctx);
  const { tenantId, deps } = ctx;
  const { limit, windowSeconds } = alerts.testLimit ?? { limit: 5, windowSeconds: 60 };
  if (!(await deps.store.hitRateLimit(`notify-test#${tenantId}`, limit, windowSeconds))) {
    throw new RateLimitedError(`at most ${limit} alert tests per ${windowSeconds} s`, windowSeconds);
  }
  const settings = await alerts.store.getSettings(tenantId);
  const now = deps.clock.now();
  const alert: AlertEvent = {
    id: `evt_${randomBytes(16).toString('base64url')}`,
    type: 'test',
    tenantId,
    createdAt: new Date(now).toISOString(),
    data: {},
  };
  const sends: Promise<ChannelResult>[] = [];
  if (settings && settings.emails.length > 0) sends.push(alerts.delivery.email(settings.emails, alert));
  if (settings?.webhook) sends.push(alerts.delivery.webhook(settings.webhook, alert));
  const results = await Promise.all(sends);
  await Promise.all(
    results.map((r) =>
      alerts.store.putLog(tenantId, {
        at: new Date(deps.clock.now()).toISOString(),
        eventId: alert.id,
        type: 'test',
        eventCreatedAt: alert.createdAt,
        channel: r.channel,
        target: r.target,
        ok: r.ok,
        attempts: 1,
        final: true,
        message: r.message,
        ...(r.status !== undefined && { status: r.status }),
      }),
    ),
  );
  return json(200, { results });
}

/** GET /tenants/{tenantId}/notifications/log?limit&cursor: newest first. */
export async function notificationLogRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const alerts = alertsOf(ctx);
  const query = ctx.event.queryStringParameters ?? {};
  const limit = parseLimit(query.limit);
  try {
    const page = await alerts.store.listLog(ctx.tenantId, { limit, cursor: query.cursor ?? null });
    const items = page.items.map((e) => ({
      at: e.at,
      eventId: e.eventId,
      type: e.type,
      channel: e.channel,
      target: e.target,
      ok: e.ok,
      attempts: e.attempts,
      ...(e.status !== undefined && { status: e.status }),
    }));
    return json(200, { items, cursor: page.cursor });
  } catch (err) {
    if (err instanceof InvalidLogCursorError)
      throw new BadRequestError('cursor is not valid for this listing', 'cursor');
    throw err;
  }
}
