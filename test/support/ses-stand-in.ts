import {
  CreateEmailIdentityCommand,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { type LocalSes, startLocalSes } from './ses';

/**
 * One SES v2 stand-in (with aws-ses-v2-local behind it) per test file, its state cleared before each test;
 * the platform identity and the configuration set exist as the stack creates them.
 */
export function useSesStandIn(): { readonly ses: LocalSes } {
  const holder = {} as { ses: LocalSes };
  beforeAll(async () => {
    holder.ses = await startLocalSes({
      standIn: { verifiedIdentities: ['platform.example'], configurationSets: ['mailer-events'] },
    });
  });
  afterAll(async () => {
    await holder.ses?.close();
  });
  beforeEach(async () => {
    await holder.ses.clear();
  });
  return holder;
}

let n = 0;
/** A name no other test uses: the stand-in keeps its state for the whole file. */
export const unique = (prefix: string) => `${prefix}${++n}`;

/** What a call was refused with (or 'accepted'): calls run one after the other, as a test reads. */
export function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'accepted',
    (error: unknown) => error,
  );
}

/** POST to one of the stand-in's local admin routes (`/_local…`). */
export const standInAdmin = (ses: LocalSes, path: string) =>
  fetch(`${ses.standIn?.url}/_local${path}`, { method: 'POST' });

export function rawSend(from: string, extra: Partial<SendEmailCommandInput> = {}): SendEmailCommand {
  const raw = `From: ${from}\r\nTo: lead@customer.example\r\nSubject: Hello\r\n\r\nBody\r\n`;
  return new SendEmailCommand({
    FromEmailAddress: from,
    Destination: { ToAddresses: ['lead@customer.example'] },
    Content: { Raw: { Data: Buffer.from(raw) } },
    ...extra,
  });
}

/** A domain identity and a tenant that owns it, both as the project would set them up. */
export async function tenantWithDomain(ses: LocalSes, verify: boolean) {
  const domain = `${unique('d')}.example`;
  const tenant = unique('tm-t');
  await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
  const { TenantArn } = await ses.client.send(new CreateTenantCommand({ TenantName: tenant }));
  const identityArn = `arn:aws:ses:us-east-1:000000000000:identity/${domain}`;
  await ses.client.send(
    new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
  );
  if (verify) expect((await standInAdmin(ses, `/identities/${domain}/verify`)).status).toBe(200);
  return { domain, tenant, tenantArn: TenantArn ?? '', identityArn };
}
