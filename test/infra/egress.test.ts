import { beforeAll, describe, expect, it } from 'vitest';
import { type Refs, refsOf, resourcesOf, type Synthesized, synthMailer } from './synth';

// One synthesis with static egress on, shared by every test of this file.
let s: Synthesized;
let r: Refs;
const egress = () => {
  if (!s.stack.egress) throw new Error('egress is off');
  return s.stack.egress;
};

beforeAll(() => {
  s = synthMailer({ context: { egress: 'nat' } });
  r = refsOf(s);
});

describe('static egress (egress: nat)', () => {
  it('allocates one Elastic IP, kept when the stack is deleted', () => {
    s.template.resourceCountIs('AWS::EC2::EIP', 1);
    s.template.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Retain', Properties: { Domain: 'vpc' } });
  });

  it('routes through exactly one NAT gateway holding that Elastic IP', () => {
    const eip = egress().elasticIp;
    if (!eip) throw new Error('no Elastic IP');
    s.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    s.template.hasResourceProperties('AWS::EC2::NatGateway', {
      AllocationId: { 'Fn::GetAtt': [s.stack.getLogicalId(eip), 'AllocationId'] },
    });
    const privateRoutes = Object.values(resourcesOf(s.json, 'AWS::EC2::Route')).filter(
      (r) => r.Properties?.NatGatewayId !== undefined,
    );
    expect(privateRoutes).toHaveLength(2);
    for (const r of privateRoutes) expect(r.Properties?.DestinationCidrBlock).toBe('0.0.0.0/0');
  });

  it('exports the address as a stack output', () => {
    const eip = egress().elasticIp;
    if (!eip) throw new Error('no Elastic IP');
    s.template.hasOutput('EgressIp', { Value: { 'Fn::GetAtt': [s.stack.getLogicalId(eip), 'PublicIp'] } });
    s.template.hasOutput('EgressAllocationId', {
      Value: { 'Fn::GetAtt': [s.stack.getLogicalId(eip), 'AllocationId'] },
    });
  });

  it('puts both functions in the private subnets with the egress security group', () => {
    const sg = { 'Fn::GetAtt': [r.id(egress().securityGroup), 'GroupId'] };
    const subnets = egress()
      .vpc.privateSubnets.map((subnet) => ({ Ref: r.id(subnet) }))
      .sort((a, b) => a.Ref.localeCompare(b.Ref));
    expect(subnets).toHaveLength(2);
    for (const fn of [s.stack.dispatcher, s.stack.configFunction]) {
      const props = resourcesOf(s.json, 'AWS::Lambda::Function')[r.id(fn)]?.Properties;
      expect(props?.VpcConfig).toEqual({ SecurityGroupIds: [sg], SubnetIds: subnets });
    }
  });

  it('lets the functions out on HTTPS (443, 8443) and the SMTP submission ports only, and nothing in', () => {
    const group = resourcesOf(s.json, 'AWS::EC2::SecurityGroup')[r.id(egress().securityGroup)];
    const rules = group?.Properties?.SecurityGroupEgress as {
      IpProtocol: string;
      FromPort: number;
      ToPort: number;
    }[];
    expect(rules.map((r) => [r.IpProtocol, r.FromPort, r.ToPort])).toEqual([
      ['tcp', 443, 443],
      ['tcp', 465, 465],
      ['tcp', 587, 587],
      ['tcp', 2525, 2525],
      ['tcp', 8443, 8443],
    ]);
    expect(group?.Properties?.SecurityGroupIngress).toBeUndefined();
    s.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('keeps DynamoDB traffic on a gateway endpoint and logs VPC flows', () => {
    s.template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    const endpoint = Object.values(resourcesOf(s.json, 'AWS::EC2::VPCEndpoint'))[0];
    expect(JSON.stringify(endpoint?.Properties?.ServiceName)).toContain('.dynamodb');
    s.template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });

  it('adds the VPC access managed policy to the function roles so Lambda can attach its interfaces', () => {
    const roles = Object.values(resourcesOf(s.json, 'AWS::IAM::Role'));
    const withVpcAccess = roles.filter((r) =>
      JSON.stringify(r.Properties?.ManagedPolicyArns ?? []).includes('AWSLambdaVPCAccessExecutionRole'),
    );
    // Dispatcher, config API and notifier (webhooks leave through the same static address).
    expect(withVpcAccess).toHaveLength(3);
  });
});
