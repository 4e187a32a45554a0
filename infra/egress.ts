import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Outbound ports the functions need (docs/design.md §14): HTTPS for AWS APIs, the SMTP submission ports, and
 * 8443, the other port a token or webhook URL may name.
 */
export const EGRESS_PORTS = [
  {
    port: 443,
    why: 'AWS APIs (SQS, KMS, SES), OAuth2 token URLs and alert webhooks through the NAT gateway',
  },
  { port: 465, why: 'tenant SMTP, implicit TLS' },
  { port: 587, why: 'tenant SMTP, STARTTLS submission' },
  { port: 2525, why: 'tenant SMTP, alternate submission port' },
  { port: 8443, why: 'OAuth2 token URLs and alert webhooks on the alternate HTTPS port' },
] as const;

/**
 * Static egress: a VPC whose private subnets leave through one NAT gateway holding one Elastic IP, so a
 * tenant relay can allowlist the platform by address. One NAT gateway means one address to allowlist;
 * the price is that its AZ is a single point of failure for outbound traffic (documented in README.md, "Static egress").
 */
export interface StaticEgressProps {
  /** An Elastic IP allocated earlier (e.g. kept from a deleted stack); default: a new one. */
  allocationId?: string | undefined;
}

export class StaticEgress extends Construct {
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
  /** The Elastic IP this stack allocated; undefined when an existing allocation was given. */
  readonly elasticIp: ec2.CfnEIP | undefined;
  readonly allocationId: string;
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

  constructor(scope: Construct, id: string, props: StaticEgressProps = {}) {
    super(scope, id);
    if (props.allocationId) {
      this.allocationId = props.allocationId;
    } else {
      this.elasticIp = new ec2.CfnEIP(this, 'ElasticIp', {
        domain: 'vpc',
        tags: [{ key: 'Name', value: 'tenant-mailer static egress' }],
      });
      // Kept when the stack goes away: tenants allowlisted this address. Pass its allocation id as
      // `egressAllocationId` to a new stack to keep sending from it.
      this.elasticIp.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.allocationId = this.elasticIp.attrAllocationId;
    }

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.64.0.0/16'),
      maxAzs: 2,
      natGateways: 1,
      natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: [this.allocationId] }),
      subnetConfiguration: [
        { name: 'nat', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
    // DynamoDB traffic stays off the NAT gateway (free gateway endpoint, no NAT data charge).
    this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });

    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'tenant-mailer functions: outbound HTTPS and SMTP submission only, nothing inbound',
      allowAllOutbound: false,
    });
    for (const { port, why } of EGRESS_PORTS) {
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), why);
    }
  }

  /** The network settings for a function placed behind the NAT gateway. */
  get network(): { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] } {
    return { vpc: this.vpc, subnets: this.subnets, securityGroups: [this.securityGroup] };
  }
}
