import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../functions/adapters/dynamo-table';

/** The encryption context every SMTP password ciphertext carries (docs/design.md §8 KMS). */
export const SMTP_PASSWORD_PURPOSE = 'smtp-password';

/**
 * IAM conditions that confine a KMS grant to SMTP password ciphertexts: purpose must be
 * `smtp-password`, a tenantId must be present, and no other context key may appear. A caller holding
 * this grant cannot use the key for anything else, nor without naming a tenant.
 */
export const SMTP_PASSWORD_CONTEXT_CONDITIONS = {
  StringEquals: { 'kms:EncryptionContext:purpose': SMTP_PASSWORD_PURPOSE },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'purpose'] },
  Null: { 'kms:EncryptionContext:tenantId': 'false' },
};

export type PasswordKeyAction = 'kms:Encrypt' | 'kms:Decrypt';

export interface MailerDataProps {
  /** Table deletion protection; when on, table and key are also retained if the stack is deleted. */
  deletionProtection: boolean;
}

/** The table (one table, pk/sk) and the KMS key for tenant SMTP passwords. */
export class MailerData extends Construct {
  readonly table: dynamodb.Table;
  readonly passwordKey: kms.Key;

  constructor(scope: Construct, id: string, props: MailerDataProps) {
    super(scope, id);
    const removalPolicy = props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key: the table holds no plaintext secret (passwords are KMS ciphertext already).
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection,
      removalPolicy,
    });

    this.passwordKey = new kms.Key(this, 'SmtpPasswordKey', {
      description:
        'tenant-mailer: tenant SMTP passwords (encryption context purpose=smtp-password, tenantId)',
      enableKeyRotation: true,
      // A deleted key makes every stored password unreadable: never delete it with a protected table.
      removalPolicy,
      pendingWindow: Duration.days(30),
    });
    this.passwordKey.addAlias(`alias/${Stack.of(this).stackName}/smtp-password`);
  }

  /**
   * Lets `grantee` use the password key for the given actions, only under the SMTP password encryption
   * context. Deliberately not `key.grantDecrypt()`, which carries no condition.
   */
  grantPasswordKey(grantee: iam.IGrantable, actions: readonly PasswordKeyAction[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [this.passwordKey.keyArn],
      conditions: SMTP_PASSWORD_CONTEXT_CONDITIONS,
    });
  }
}
