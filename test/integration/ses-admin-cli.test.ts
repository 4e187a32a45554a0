import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEmailIdentityCommand,
  CreateTenantCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../infra/local/send';
import { runSesAdmin } from '../../infra/local/ses-admin';
import { type LocalSes, startLocalSes } from '../support/ses';

let ses: LocalSes;
let dir: string;
let stackFile: string;

beforeAll(async () => {
  ses = await startLocalSes({ standIn: {} });
  dir = await mkdtemp(join(tmpdir(), 'ses-admin-'));
  stackFile = join(dir, 'stack.json');
  await writeFile(stackFile, JSON.stringify({ endpoints: { sesv2: ses.standIn?.url } }));
});

afterAll(async () => {
  await ses?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs one command with captured output against the test's stack file (or another). */
async function run(command: string, args: string[], file = stackFile) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSesAdmin(command, args, {
    stackFile: file,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('npm run verify-domain', () => {
  it('verifies a claimed domain, given in any case or as IDN', async () => {
    // Prepare
    await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'xn--bcher-kva.example' }));

    // Act
    const result = await run('verify-domain', ['BÜCHER.example']);
    const identity = await ses.client.send(
      new GetEmailIdentityCommand({ EmailIdentity: 'xn--bcher-kva.example' }),
    );

    // Assess
    expect(result).toMatchObject({
      code: EXIT_OK,
      out: 'xn--bcher-kva.example: verified (DKIM and MAIL FROM records found)',
    });
    expect(identity.VerifiedForSendingStatus).toBe(true);
  });

  it('says to claim a domain that has no identity, and fails', async () => {
    // Act
    const result = await run('verify-domain', ['nobody.example']);

    // Assess
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.err).toContain('claim it first: PUT /tenants/<tenantId>/domains/<domain>');
  });
});

describe('npm run ses-tenant', () => {
  it('pauses and resumes the SES tenant of a tenant-mailer tenant', async () => {
    // Prepare
    await ses.client.send(new CreateTenantCommand({ TenantName: 'tm-acme' }));

    // Act
    const paused = await run('ses-tenant', ['acme', 'pause']);
    const whilePaused = await ses.client.send(new GetTenantCommand({ TenantName: 'tm-acme' }));
    const resumed = await run('ses-tenant', ['acme', 'resume']);
    const after = await ses.client.send(new GetTenantCommand({ TenantName: 'tm-acme' }));

    // Assess
    expect(paused).toMatchObject({ code: EXIT_OK, out: 'tm-acme: sending DISABLED' });
    expect(whilePaused.Tenant?.SendingStatus).toBe('DISABLED');
    expect(resumed).toMatchObject({ code: EXIT_OK, out: 'tm-acme: sending ENABLED' });
    expect(after.Tenant?.SendingStatus).toBe('ENABLED');
  });

  it('refuses bad arguments (exit 2) and reports a stack that is not running (exit 1)', async () => {
    // Act
    const badAction = await run('ses-tenant', ['acme', 'stop']);
    const badId = await run('ses-tenant', ['Not An Id', 'pause']);
    const missing = await run('verify-domain', []);
    const noStack = await run('verify-domain', ['a.example'], join(dir, 'absent.json'));

    // Assess
    expect([badAction.code, badId.code, missing.code]).toEqual([EXIT_USAGE, EXIT_USAGE, EXIT_USAGE]);
    expect(badAction.err).toContain('usage: npm run verify-domain');
    expect(noStack.code).toBe(EXIT_FAILED);
    expect(noStack.err).toContain('npm start');
  });
});
