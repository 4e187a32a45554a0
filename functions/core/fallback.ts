/** Sender identity per route and SES tags (docs/design.md §13 Sender identity). Pure string work. */

import { domainOf } from './address';
import { deliveryTags } from './delivery-tags';
import type { FallbackReason, Route, SenderConfig } from './types';

/** The platform sender (settings PLATFORM_FROM_ADDRESS, PLATFORM_NAME). */
export interface PlatformSender {
  address: string;
  name: string;
}

/** An address as nodemailer takes it (`{ name, address }`), so it encodes non-ASCII names itself. */
export interface MailAddress {
  address: string;
  name?: string;
}

export interface SenderIdentity {
  from: MailAddress;
  /** The same From, formatted as a header value (quoted, escaped, no CR/LF). */
  fromHeader: string;
  replyTo: string | null;
}

export interface ComposeFallbackInput {
  config: SenderConfig | null;
  platform: PlatformSender;
  message: { replyTo?: string | undefined };
}

/** Longest display-name part kept from a tenant or platform name. */
export const MAX_DISPLAY_NAME_CHARS = 128;

/** Removes controls (CR/LF included), collapses whitespace and trims; empty when nothing is left. */
export function cleanDisplayName(name: string | undefined): string {
  const flat = (name ?? '').replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return [...flat].slice(0, MAX_DISPLAY_NAME_CHARS).join('').trim();
}

/** `"name" <address>` with `\` and `"` escaped; the bare address when there is no name. */
export function formatAddress(a: MailAddress): string {
  const name = cleanDisplayName(a.name);
  if (!name) return a.address;
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}" <${a.address}>`;
}

function identity(from: MailAddress, replyTo: string | null): SenderIdentity {
  const name = cleanDisplayName(from.name);
  const clean: MailAddress = name ? { address: from.address, name } : { address: from.address };
  return { from: clean, fromHeader: formatAddress(clean), replyTo };
}

/** The tenant's own From for its own route (smtp or domain mode); null for platform mode or no config. */
export function tenantFrom(config: SenderConfig | null): MailAddress | null {
  const own = config?.mode === 'smtp' ? config.smtp : config?.mode === 'domain' ? config.domain : undefined;
  if (own === undefined) return null;
  const name = cleanDisplayName(own.fromName);
  return name ? { address: own.fromAddress, name } : { address: own.fromAddress };
}

/**
 * The platform-route sender: `"<tenant fromName> via <platform name>" <platform address>`, Reply-To the
 * message's replyTo else the tenant's address; platform mode or no config: `"<platform name>"
 * <platform address>`, Reply-To only the message's replyTo. A tenant without fromName is named by the
 * domain of its address (an address-looking display name reads as spoofing to filters).
 */
export function composeFallback(input: ComposeFallbackInput): SenderIdentity {
  const { platform, message } = input;
  const tenant = tenantFrom(input.config);
  const replyTo = message.replyTo ?? null;
  if (tenant === null) return identity({ address: platform.address, name: platform.name }, replyTo);
  const tenantName = tenant.name ?? domainOf(tenant.address);
  const platformName = cleanDisplayName(platform.name);
  const name = platformName ? `${tenantName} via ${platformName}` : tenantName;
  return identity({ address: platform.address, name }, replyTo ?? tenant.address);
}

/** The sender for a route the tenant owns (smtp, domain); Reply-To only the message's replyTo. */
export function composeTenantSender(
  config: SenderConfig,
  message: { replyTo?: string | undefined },
): SenderIdentity | null {
  const tenant = tenantFrom(config);
  return tenant === null ? null : identity(tenant, message.replyTo ?? null);
}

export interface SesTagInput {
  tenantId: string;
  route: Route;
  fallbackReason: FallbackReason | null;
  /** The delivery's messageId (idempotency key): the delivery events find their item by it (§19). */
  messageId?: string;
}

/** SES allows ASCII letters, digits, `_` and `-` in tag values, at most 256 characters. */
export function sesTagValue(value: string | null): string {
  const clean = (value ?? '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);
  return clean || 'none';
}

/** SES message tags: tenantId, route, fallbackReason (null → `none`) and the encoded messageId. */
export function sesTags(input: SesTagInput): { Name: string; Value: string }[] {
  return [
    { Name: 'tenantId', Value: sesTagValue(input.tenantId) },
    { Name: 'route', Value: sesTagValue(input.route) },
    { Name: 'fallbackReason', Value: sesTagValue(input.fallbackReason) },
    ...(input.messageId === undefined ? [] : deliveryTags(input.tenantId, input.messageId).slice(1)),
  ];
}
