import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../functions/adapters/dynamo-table';

/** The encryption context every SMTP password ciphertext carries (docs/design.md §8 KMS). */
export const SMTP_PASSWORD_PURPOSE = 'smtp-password';
/** The purpose of OAuth2 client secrets and refresh tokens (docs/design.md §21). */
export const SMTP_OAUTH_PURPOSE = 'smtp-oauth';
export type SecretKeyPurpose = typeof SMTP_PASSWORD_PURPOSE | typeof SMTP_OAUTH_PURPOSE;

/**
 * IAM conditions that confine a KMS grant to one kind of tenant SMTP secret: purpose must be the
 * given one, a tenantId must be present, and no other context key may appear. A caller holding this
 * grant cannot use the key for anything else, nor without naming a tenant.
 */
export function smtpContextConditions(purpose: SecretKeyPurpose) {
  return {
    StringEquals: { 'kms:EncryptionContext:purpose': purpose },
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'purpose'] },
    Null: { 'kms:EncryptionContext:tenantId': 'false' },
  };
}

export const SMTP_PASSWORD_CONTEXT_CONDITIONS = smtpContextConditions(SMTP_PASSWORD_PURPOSE);
export const SMTP_OAUTH_CONTEXT_CONDITIONS = smtpContextConditions(SMTP_OAUTH_PURPOSE);

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
  grantPasswordKey(
    grantee: iam.IGrantable,
    actions: readonly PasswordKeyAction[],
    purpose: SecretKeyPurpose = SMTP_PASSWORD_PURPOSE,
  ): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [this.passwordKey.keyArn],
      conditions: smtpContextConditions(purpose),
    });
  }
}
