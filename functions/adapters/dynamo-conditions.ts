import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../core/errors';
import type { Clock } from '../core/types';

/** What every part of the DynamoDB store is built from (all injected; nothing read from the environment). */
export interface DynamoStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}

/** Matched by name, not instanceof: a second copy of the SDK in the bundle would defeat instanceof. */
function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * Runs a conditional write, turning DynamoDB's ConditionalCheckFailedException into ConditionFailedError
 * (with `what` as the message) and rethrowing everything else untouched.
 */
export async function conditional<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw new ConditionFailedError(what, { cause: err });
    throw err;
  }
}

/** Runs a conditional write; false when its condition did not hold, any other error is rethrown. */
export async function conditionHeld(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}
