import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretReader, SECRET_MAX_AGE_MS } from '../../functions/adapters/secrets-manager';
import { SecretUnavailableError } from '../../functions/core/errors';
import { type SecretsStandIn, startSecretsStandIn } from '../../infra/local/secrets-stand-in';
import { localClientConfig } from '../support/aws-client';
import { shiftableClock } from '../support/sdk';

const VALUE = 'whsec-platform-0123456789abcdef';

let secrets: SecretsStandIn;
let client: SecretsManagerClient;

beforeAll(async () => {
  secrets = await startSecretsStandIn();
  client = new SecretsManagerClient(localClientConfig(secrets.url));
});

afterAll(async () => {
  client?.destroy();
  await secrets?.close();
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: SecretsManagerServiceException) => err.name,
  );

describe('Secrets Manager stand-in (JSON 1.1 over the wire, the real SDK client)', () => {
  it('stores a secret, answers it by name and by ARN, and a new version after PutSecretValue', async () => {
    // Act
    const created = await client.send(new CreateSecretCommand({ Name: 'tm/one', SecretString: VALUE }));
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'tm/one' }));
    await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: `${VALUE}-2` }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));

    // Assess
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:tm\/one-[0-9a-f]{6}$/);
    expect(byName).toMatchObject({ ARN: created.ARN, Name: 'tm/one', SecretString: VALUE });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(byArn).toMatchObject({ ARN: created.ARN, SecretString: `${VALUE}-2` });
    expect(byArn.VersionId).not.toBe(byName.VersionId);
  });

  it('answers the errors Secrets Manager answers', async () => {
    // Prepare
    await client.send(new CreateSecretCommand({ Name: 'tm/taken', SecretString: VALUE }));

    // Act
    const errors = await Promise.all([
      failure(client.send(new GetSecretValueCommand({ SecretId: 'tm/none' }))),
      failure(client.send(new CreateSecretCommand({ Name: 'tm/taken', SecretString: VALUE }))),
      failure(client.send(new CreateSecretCommand({ Name: 'tm/empty', SecretString: '' }))),
    ]);

    // Assess
    expect(errors).toEqual([
      'ResourceNotFoundException',
      'ResourceExistsException',
      'InvalidParameterException',
    ]);
  });
});

describe('secret reader (the notifier reads the platform webhook secret)', () => {
  it('reads once for concurrent callers, keeps the value for its max age, then reads the new value', async () => {
    // Prepare
    const clock = shiftableClock();
    const arn = secrets.put('tm/cached', VALUE);
    const read = createSecretReader({ client, secretId: arn, clock });
    const before = secrets.reads();

    // Act
    const first = await Promise.all([read(), read(), read()]);
    secrets.put('tm/cached', `${VALUE}-rotated`);
    const cached = await read();
    clock.shift(SECRET_MAX_AGE_MS);
    const refreshed = await read();

    // Assess
    expect(first).toEqual([VALUE, VALUE, VALUE]);
    expect(cached).toBe(VALUE);
    expect(refreshed).toBe(`${VALUE}-rotated`);
    expect(secrets.reads() - before).toBe(2);
  });

  it('fails with the service error name and no value, and does not keep the failure', async () => {
    // Prepare
    const clock = shiftableClock();
    const read = createSecretReader({ client, secretId: 'tm/later', clock });

    // Act
    const error = await read().catch((err: unknown) => err);
    secrets.put('tm/later', VALUE);
    const value = await read();

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toBe('GetSecretValue failed: ResourceNotFoundException');
    expect(value).toBe(VALUE);
  });
});
