import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { SES_TENANT_PREFIX } from '../functions/core/ses-tenant';

/** The CloudWatch dimension SES publishes the configuration set's events under (its auto-tag). */
export const SES_CONFIGURATION_SET_DIMENSION = 'ses:configuration-set';

/** SES sending events published to CloudWatch: Send is the denominator of the bounce and complaint rates. */
export const PUBLISHED_SES_EVENTS = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.REJECT,
];

/**
 * SES v2 SendEmail is authorized only through one of tenant-mailer's SES tenants (docs/design.md §20):
 * `ses:TenantName` is a condition key of ses:SendEmail, and every send the functions make names the
 * tenant's `tm-<tenantId>` (a send without TenantName, or through an SES tenant not named tm-*, is refused).
 */
export const SES_SEND_TENANT_CONDITIONS = { StringLike: { 'ses:TenantName': `${SES_TENANT_PREFIX}*` } };

export interface PlatformMailProps {
  /** A domain or an address: the SES identity of the platform sender. */
  identity: string;
  /** false when the identity already exists in this account and region. */
  createIdentity: boolean;
}

/** SES for the platform route and the domain tier: configuration set, event publishing, identity. */
export class PlatformMail extends Construct {
  readonly configurationSet: ses.ConfigurationSet;
  readonly configurationSetArn: string;
  readonly identity: ses.EmailIdentity | undefined;
  readonly identityIsDomain: boolean;

  constructor(scope: Construct, id: string, props: PlatformMailProps) {
    super(scope, id);
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
    });
    // SES's account-level suppression list is shared by every tenant: one tenant's bounce would silently
    // block another tenant's mail to the same address. Our sends override it with an empty list of
    // reasons; each tenant keeps its own list instead (docs/design.md §19). The L2 construct has no
    // "none", so the property is set on the CloudFormation resource.
    const cfn = this.configurationSet.node.defaultChild as ses.CfnConfigurationSet;
    cfn.addPropertyOverride('SuppressionOptions.SuppressedReasons', []);
    const name = this.configurationSet.configurationSetName;
    this.configurationSet.addEventDestination('CloudWatch', {
      destination: ses.EventDestination.cloudWatchDimensions([
        {
          name: SES_CONFIGURATION_SET_DIMENSION,
          source: ses.CloudWatchDimensionSource.MESSAGE_TAG,
          defaultValue: name,
        },
      ]),
      events: PUBLISHED_SES_EVENTS,
    });
    this.configurationSetArn = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: name,
    });
    this.identityIsDomain = !props.identity.includes('@');
    this.identity = props.createIdentity
      ? new ses.EmailIdentity(this, 'PlatformIdentity', {
          identity: this.identityIsDomain
            ? ses.Identity.domain(props.identity)
            : ses.Identity.email(props.identity),
          configurationSet: this.configurationSet,
        })
      : undefined;
  }

  /**
   * Lets `grantee` (the config API) manage tenants' domain identities and SES tenants (docs/design.md
   * "Domains"): identities anywhere in the account (a tenant's domain is not known at deploy time), SES
   * tenants named tm-*, and associating the identities and the configuration set with them.
   */
  grantManageDomains(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const identities = stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'ses:CreateEmailIdentity',
        'ses:GetEmailIdentity',
        'ses:DeleteEmailIdentity',
        'ses:PutEmailIdentityMailFromAttributes',
      ],
      resourceArns: [identities],
    });
    this.grantSesTenants(grantee);
    // The admin SES routes read a tenant's SES tenant and its reputation entity.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:GetTenant', 'ses:GetReputationEntity'],
      resourceArns: [stack.formatArn({ service: 'ses', resource: 'tenant', resourceName: 'tm-*' })],
    });
  }

  /**
   * Lets `grantee` (the dispatcher) read a domain identity's verification: when SES refuses a tenant's
   * domain, the dispatcher records what SES now says on the tenant's claim (docs/design.md §20).
   */
  grantReadIdentities(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:GetEmailIdentity'],
      resourceArns: [Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
    });
  }

  /**
   * Lets `grantee` make a tenant's SES tenant on first need (tm-*) and associate the identities and the
   * configuration set with it (the config API on a domain claim, the dispatcher on a first SES send).
   */
  grantSesTenants(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const identities = stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
    // SES tenants are named tm-<tenantId> (their ARN: tenant/<name>/<id>).
    const tenants = stack.formatArn({ service: 'ses', resource: 'tenant', resourceName: 'tm-*' });
    // A new SES tenant gets the stack's reputation policy right after it is made (docs/design.md §20).
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:CreateTenant', 'ses:UpdateReputationEntityPolicy'],
      resourceArns: [tenants],
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:CreateTenantResourceAssociation'],
      resourceArns: [tenants, identities, this.configurationSetArn],
    });
  }

  /**
   * Lets `grantee` send through SES v2. SendEmail with Raw content is authorized as ses:SendEmail and
   * ses:SendRawEmail, on the identity and the configuration set; both must allow the request, and
   * ses:SendEmail allows it only through an SES tenant named tm-* (SES_SEND_TENANT_CONDITIONS).
   * `identity/*`: the platform identity and the tenants' domain identities (domain tier), which are
   * verified in the account after deploy and cannot be listed here; SES refuses unverified identities.
   * ses:SendRawEmail has no `ses:TenantName` key (an SES v1 action), so it carries no condition.
   */
  grantSend(grantee: iam.IGrantable): void {
    const resourceArns = [
      Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' }),
      this.configurationSetArn,
    ];
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:SendEmail'],
      resourceArns,
      conditions: SES_SEND_TENANT_CONDITIONS,
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['ses:SendRawEmail'], resourceArns });
  }

  /** An SES event metric of the configuration set (namespace AWS/SES), e.g. `Send`, `Bounce`. */
  metric(
    metricName: 'Send' | 'Delivery' | 'Bounce' | 'Complaint' | 'Reject',
    props: cloudwatch.MetricOptions = {},
  ) {
    return new cloudwatch.Metric({
      namespace: 'AWS/SES',
      metricName,
      dimensionsMap: { [SES_CONFIGURATION_SET_DIMENSION]: this.configurationSet.configurationSetName },
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }
}
