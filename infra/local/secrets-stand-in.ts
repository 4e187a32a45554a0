import { randomBytes, randomUUID } from 'node:crypto';
import { type JsonBody, StandInFault, startJsonStandIn } from './json-stand-in';

/**
 * A local stand-in for AWS Secrets Manager speaking the JSON 1.1 protocol as
 * @aws-sdk/client-secrets-manager sends it, with only what the project calls: GetSecretValue (the
 * notifier reads the platform webhook's signing secret) and CreateSecret / PutSecretValue (the local
 * stack and tests store one). String secrets only; a secret is named by its name or its ARN.
 */

export interface SecretsStandInOptions {
  port?: number;
  host?: string;
}

export interface SecretsStandIn {
  url: string;
  port: number;
  /** Stores a secret (a new version when the name exists) and answers its ARN. */
  put(name: string, value: string): string;
  /** How many GetSecretValue calls were answered (tests count the reads). */
  reads(): number;
  close(): Promise<void>;
}

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:';
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

interface Secret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

/** Starts the stand-in on 127.0.0.1 (port 0 = a free port). */
export async function startSecretsStandIn(options: SecretsStandInOptions = {}): Promise<SecretsStandIn> {
  const secrets = new Map<string, Secret>();
  let reads = 0;

  function find(id: unknown): Secret {
    const ref = String(id ?? '');
    const secret = secrets.get(ref) ?? [...secrets.values()].find((s) => s.arn === ref);
    if (!secret) {
      throw new StandInFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return secret;
  }

  function text(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 65_536) {
      throw new StandInFault(
        'InvalidParameterException',
        `${field} must be a string of 1 to 65536 characters`,
      );
    }
    return value;
  }

  function store(name: string, value: string): Secret {
    const previous = secrets.get(name);
    // AWS appends a dash and six random characters to the name in the ARN.
    const arn = previous?.arn ?? `${ARN_PREFIX}${name}-${randomBytes(3).toString('hex')}`;
    const secret = { arn, name, value, versionId: randomUUID(), createdDate: Date.now() / 1000 };
    secrets.set(name, secret);
    return secret;
  }

  const version = (s: Secret) => ({ ARN: s.arn, Name: s.name, VersionId: s.versionId });
  const operations: Record<string, (body: JsonBody) => JsonBody> = {
    CreateSecret(body) {
      const name = text(body.Name, 'Name');
      if (!NAME.test(name)) throw new StandInFault('InvalidParameterException', 'Invalid name');
      if (secrets.has(name)) {
        throw new StandInFault('ResourceExistsException', `The secret ${name} already exists.`);
      }
      return version(store(name, text(body.SecretString, 'SecretString')));
    },
    PutSecretValue(body) {
      const secret = find(body.SecretId);
      const next = store(secret.name, text(body.SecretString, 'SecretString'));
      return { ...version(next), VersionStages: ['AWSCURRENT'] };
    },
    GetSecretValue(body) {
      const secret = find(body.SecretId);
      reads += 1;
      return {
        ...version(secret),
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate,
      };
    },
  };

  const server = await startJsonStandIn({
    targetPrefix: 'secretsmanager',
    operations,
    internalErrorType: 'InternalServiceError',
    port: options.port,
    host: options.host,
  });
  return {
    url: server.url,
    port: server.port,
    put: (name, value) => store(name, value).arn,
    reads: () => reads,
    close: server.close,
  };
}
