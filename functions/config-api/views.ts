import type { SendingLimits } from '../core/oauth2';
import type { DeliveryRecord } from '../core/ports';
import { type HealthState, initialHealth, type SenderConfig, type StoredOAuth2 } from '../core/types';
import type { DeliveryDetail, DeliveryView, HealthView, SenderView } from './schemas';

/**
 * What the API answers for stored items. Built field by field (never by spreading an item), so a
 * ciphertext or any attribute added to the table later can never leak into a response.
 */

/** The config as answered: no password, no ciphertext; no config → `{ mode: 'platform', version: 0 }`. */
export function senderView(config: SenderConfig | null): SenderView {
  if (!config) return { mode: 'platform', version: 0 };
  const updatedAt = config.updatedAt;
  if (config.mode === 'smtp' && config.smtp) {
    const s = config.smtp;
    return {
      mode: 'smtp',
      fallback: config.fallback,
      smtp: {
        host: s.host,
        port: s.port,
        security: s.security,
        username: s.username,
        passwordSet: s.passwordCiphertext !== undefined,
        ...(s.oauth2 !== undefined && { oauth2: oauth2View(s.oauth2) }),
        ...(s.limits !== undefined && { limits: limitsView(s.limits) }),
        fromAddress: s.fromAddress,
        ...(s.fromName !== undefined ? { fromName: s.fromName } : {}),
      },
      version: config.version,
      updatedAt,
    };
  }
  if (config.mode === 'domain' && config.domain) {
    const d = config.domain;
    return {
      mode: 'domain',
      domain: {
        name: d.name,
        fromAddress: d.fromAddress,
        ...(d.fromName !== undefined ? { fromName: d.fromName } : {}),
      },
      version: config.version,
      updatedAt,
    };
  }
  return { mode: 'platform', version: config.version, ...(updatedAt ? { updatedAt } : {}) };
}

/** An OAuth2 login without its secrets: only whether they are stored. */
function oauth2View(o: StoredOAuth2) {
  return {
    provider: o.provider,
    flow: o.flow,
    clientId: o.clientId,
    ...(o.directoryId !== undefined && { directoryId: o.directoryId }),
    ...(o.tokenUrl !== undefined && { tokenUrl: o.tokenUrl }),
    ...(o.scope !== undefined && { scope: o.scope }),
    clientSecretSet: o.clientSecretCiphertext !== '',
    refreshTokenSet: o.refreshTokenCiphertext !== undefined,
  };
}

function limitsView(l: SendingLimits) {
  return {
    ...(l.perMinute !== undefined && { perMinute: l.perMinute }),
    ...(l.perDay !== undefined && { perDay: l.perDay }),
  };
}

/** The HEALTH item's public fields; a tenant never seen is healthy at its current config version. */
export function healthView(health: HealthState | null, currentVersion: number): HealthView {
  const h = health ?? initialHealth(currentVersion);
  const f = h.lastFailure;
  return {
    state: h.state,
    configVersion: h.configVersion,
    consecutiveFailures: h.consecutiveFailures,
    backoffLevel: h.backoffLevel,
    retryAt: h.retryAt,
    lastFailure: f
      ? {
          class: f.class,
          code: f.code,
          phase: f.phase,
          message: f.message,
          ...(typeof f.responseCode === 'number' ? { responseCode: f.responseCode } : {}),
          ...(f.hint !== undefined ? { hint: f.hint } : {}),
          at: f.at,
        }
      : null,
    lastSuccessAt: h.lastSuccessAt,
  };
}

/** One line of the delivery log. */
export function deliveryView(record: DeliveryRecord): DeliveryView {
  return {
    at: record.at,
    messageId: record.messageId,
    kind: record.kind,
    route: record.route ?? null,
    fallbackReason: record.fallbackReason ?? null,
    status: record.status,
    accepted: [...(record.accepted ?? [])],
    rejected: (record.rejected ?? []).map((r) => ({
      address: r.address,
      ...(typeof r.responseCode === 'number' ? { responseCode: r.responseCode } : {}),
      ...(typeof r.response === 'string' ? { response: r.response } : {}),
    })),
    response: record.response ?? null,
    suppressed: [...(record.suppressed ?? [])],
    events: (record.events ?? []).map((e) => ({
      type: e.type,
      at: e.at,
      recipient: e.recipient ?? null,
      ...(e.detail !== undefined && {
        detail: {
          ...(e.detail.bounceType !== undefined && { bounceType: e.detail.bounceType }),
          ...(e.detail.bounceSubType !== undefined && { bounceSubType: e.detail.bounceSubType }),
          ...(e.detail.diagnosticCode !== undefined && { diagnosticCode: e.detail.diagnosticCode }),
        },
      }),
    })),
  };
}

/** One delivery in detail. */
export function deliveryDetail(record: DeliveryRecord): DeliveryDetail {
  return {
    ...deliveryView(record),
    attempts: record.attempts ?? 0,
    possibleDuplicate: record.possibleDuplicate === true,
    ...(record.providerMessageId !== undefined ? { providerMessageId: record.providerMessageId } : {}),
  };
}
