import { domainOf } from '../core/address';
import { composeAlertEmail } from '../core/alert-email';
import type { AlertEvent } from '../core/alerts';
import { formatAddress, type PlatformSender, sesTags } from '../core/fallback';
import type { AlertDelivery, ChannelResult, SecretCipher, SesSender, WebhookPoster } from '../core/ports';
import { buildMime } from './mime';

export interface AlertDeliveryOptions {
  ses: SesSender;
  webhook: WebhookPoster;
  secrets: SecretCipher;
  platform: PlatformSender;
  /** SES call budget (default 10 s). */
  sesTimeoutMs?: number;
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : err instanceof Error ? err.name : 'Error';
  return `${name}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300);
}

/** Sends alert events to their channels; every outcome is data, nothing throws. */
export function createAlertDelivery(options: AlertDeliveryOptions): AlertDelivery {
  const { ses, webhook, secrets, platform } = options;

  async function email(to: string[], event: AlertEvent): Promise<ChannelResult> {
    const target = to.join(', ');
    try {
      const { subject, text } = composeAlertEmail(event, platform.name);
      const { raw } = await buildMime({
        from: formatAddress({ address: platform.address, name: platform.name }),
        to,
        subject,
        text,
        headers: {
          'Auto-Submitted': 'auto-generated',
          'X-Tenant-Mailer-Event': event.type,
          'X-Tenant-Mailer-Event-Id': event.id,
        },
        messageIdDomain: domainOf(platform.address),
      });
      const sent = await ses.send({
        from: platform.address,
        raw,
        destinations: { to },
        tags: sesTags({ tenantId: event.tenantId, route: 'platform', fallbackReason: null }),
        signal: AbortSignal.timeout(options.sesTimeoutMs ?? 10_000),
      });
      if (!sent.ok) {
        const message = `${sent.error.code}: ${sent.error.message}`.slice(0, 300);
        return { channel: 'email', target, ok: false, message };
      }
      return { channel: 'email', target, ok: true, message: `SES ${sent.messageId}` };
    } catch (err) {
      return { channel: 'email', target, ok: false, message: describe(err) };
    }
  }

  async function post(url: string, secret: string, event: AlertEvent): Promise<ChannelResult> {
    const result = await webhook.post({ url, secret }, event);
    return {
      channel: 'webhook',
      target: url,
      ok: result.ok,
      message: result.message,
      ...(result.status !== undefined && { status: result.status }),
    };
  }

  return {
    email,
    async webhook(settings, event) {
      let secret: string;
      try {
        secret = await secrets.decrypt(event.tenantId, settings.secretCiphertext);
      } catch (err) {
        return { channel: 'webhook', target: settings.url, ok: false, message: describe(err) };
      }
      return post(settings.url, secret, event);
    },
    platformWebhook: (target, event) => post(target.url, target.secret, event),
  };
}
