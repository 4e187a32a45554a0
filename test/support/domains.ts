import { createDomainStore } from '../../functions/adapters/dynamo-domains';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import type { DomainsApiDeps } from '../../functions/config-api/deps';
import type { DomainStore } from '../../functions/core/ports';
import type { DynamoFixture } from './dynamo';
import { type LocalSes, startLocalSes } from './ses';

export const PLATFORM_DOMAIN = 'platform.example';
export const CONFIGURATION_SET = 'tenant-mailer-test';
/** The SES v2 stand-in's account and region. */
export const SES_ARN_PREFIX = 'arn:aws:ses:us-east-1:000000000000:';

export interface DomainsFixture {
  /** aws-ses-v2-local behind the SES v2 stand-in (the client talks to the stand-in). */
  ses: LocalSes;
  store: DomainStore;
  deps: DomainsApiDeps;
  /** Marks a domain verified, as its DNS records would in AWS. */
  verify(domain: string): Promise<void>;
  close(): Promise<void>;
}

/** The domain routes' adapters over a test's dynalite and a fresh SES v2 stand-in. */
export async function startDomainsDeps(dynamo: DynamoFixture): Promise<DomainsFixture> {
  const ses = await startLocalSes({
    standIn: { verifiedIdentities: [PLATFORM_DOMAIN], configurationSets: [CONFIGURATION_SET] },
  });
  const store = createDomainStore({ doc: dynamo.doc, tableName: dynamo.tableName });
  const deps: DomainsApiDeps = {
    store,
    ses: createSesDomains({
      ses: ses.client,
      arnPrefix: SES_ARN_PREFIX,
      platformIdentity: PLATFORM_DOMAIN,
      configurationSet: CONFIGURATION_SET,
    }),
    platformDomain: PLATFORM_DOMAIN,
    region: 'us-east-1',
  };
  return {
    ses,
    store,
    deps,
    async verify(domain) {
      const response = await fetch(`${ses.standIn?.url}/_local/identities/${domain}/verify`, {
        method: 'POST',
      });
      if (!response.ok) throw new Error(`verify ${domain}: ${response.status}`);
    },
    close: () => ses.close(),
  };
}
