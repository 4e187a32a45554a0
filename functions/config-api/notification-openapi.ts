import type { Operation } from './openapi';

/** The tenant alert routes in the OpenAPI document (issue 14); bodies come from notification-schemas.ts. */
export const NOTIFICATION_OPERATIONS: Record<string, Operation> = {
  'PUT /tenants/{tenantId}/notifications': {
    summary:
      'Store alert settings: up to 5 emails, a webhook (https, vetted by the network guard without calling ' +
      'it; its secret encrypted, never answered), the event types (default all). Version + 1.',
    ok: {
      status: '200',
      description: 'The stored settings; the webhook without its secret.',
      body: 'NotificationsView',
    },
    request: 'NotificationsPut',
    errors: {
      '400': '`bad-request`: the body is not JSON.',
      '409': '`conflict`: the settings changed concurrently; retry.',
      '422':
        '`validation` (field names the member; `webhook.secret` when a new URL comes without one), ' +
        '`host-refused` (webhook.url: not a public address, or a port other than 443/8443), `dns-failure`.',
    },
  },
  'GET /tenants/{tenantId}/notifications': {
    summary: 'The alert settings; nothing stored → no emails, no webhook, every event, version 0.',
    ok: { status: '200', description: 'The settings.', body: 'NotificationsView' },
  },
  'DELETE /tenants/{tenantId}/notifications': {
    summary: 'Removes the alert settings (no more alerts to this tenant).',
    ok: { status: '204', description: 'Deleted.' },
  },
  'POST /tenants/{tenantId}/notifications/test': {
    summary: 'Sends a `test` event to every channel now and answers each outcome.',
    ok: { status: '200', description: 'One result per channel.', body: 'NotificationTestResult' },
    errors: { '429': '`rate-limited`: more than 5 alert tests per tenant per minute.' },
  },
  'GET /tenants/{tenantId}/notifications/log': {
    summary: 'Alert deliveries, newest first (30 days).',
    ok: { status: '200', description: 'One page; `cursor` null on the last.', body: 'NotificationLogPage' },
    errors: { '400': '`bad-request`: limit not an integer 1..100, or a cursor not from this listing.' },
    query: true,
  },
};
