import type { CannedResponse, HttpRequestInfo } from './fault-proxy';

/**
 * AWS error answers in each service's real wire format, for the HTTP fault proxy's `respond` fault, and
 * request matchers for its rules.
 */

const REQUEST_ID = 'F4ULTPR0XY0000000000000000000000000000000000000000';

function jsonError(protocol: '1.0' | '1.1', status: number, type: string, message: string): CannedResponse {
  return {
    status,
    headers: {
      'content-type': `application/x-amz-json-${protocol}`,
      'x-amzn-requestid': REQUEST_ID,
    },
    body: JSON.stringify({ __type: type, message }),
  };
}

function restJsonError(status: number, type: string, message: string): CannedResponse {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': REQUEST_ID,
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`,
    },
    body: JSON.stringify({ message }),
  };
}

const DDB = 'com.amazonaws.dynamodb.v20120810#';

/** Error answers in each service's real wire format, as the AWS endpoints send them. */
export const awsErrors = {
  /** DynamoDB, JSON 1.0. */
  dynamodb: {
    throttling: () =>
      jsonError(
        '1.0',
        400,
        'com.amazon.coral.availability#ThrottlingException',
        'Throughput exceeds the current capacity of your table or index.',
      ),
    provisionedThroughputExceeded: () =>
      jsonError(
        '1.0',
        400,
        `${DDB}ProvisionedThroughputExceededException`,
        'The level of configured provisioned throughput for the table was exceeded.',
      ),
    internalServerError: () => jsonError('1.0', 500, `${DDB}InternalServerError`, 'Internal server error'),
    serviceUnavailable: () =>
      jsonError(
        '1.0',
        503,
        'com.amazon.coral.availability#ServiceUnavailableException',
        'Service Unavailable',
      ),
  },
  /** KMS, JSON 1.1. */
  kms: {
    throttling: () => jsonError('1.1', 400, 'ThrottlingException', 'Rate exceeded'),
    internal: () => jsonError('1.1', 500, 'KMSInternalException', 'An internal error occurred.'),
    dependencyTimeout: () =>
      jsonError(
        '1.1',
        503,
        'DependencyTimeoutException',
        'The system timed out while trying to fulfill the request.',
      ),
    invalidCiphertext: () => jsonError('1.1', 400, 'InvalidCiphertextException', ''),
  },
  /** SQS, JSON 1.0. */
  sqs: {
    throttling: () =>
      jsonError('1.0', 400, 'com.amazon.coral.availability#ThrottlingException', 'Rate exceeded'),
    internal: () =>
      jsonError('1.0', 500, 'com.amazonaws.sqs#InternalError', 'We encountered an internal error.'),
    unavailable: () => jsonError('1.0', 503, 'com.amazonaws.sqs#ServiceUnavailable', 'Service Unavailable'),
  },
  /** SES v2, REST JSON (the error type in the x-amzn-ErrorType header). */
  ses: {
    tooManyRequests: () => restJsonError(429, 'TooManyRequestsException', 'Too Many Requests'),
    internal: () => restJsonError(500, 'InternalFailure', 'Internal Failure'),
    unavailable: () => restJsonError(503, 'ServiceUnavailable', 'Service Unavailable'),
  },
};

/** Matches a DynamoDB request by operation and, optionally, by text of its body (a key, a sort key). */
export function dynamoRequest(operation: string, bodyIncludes?: string): (info: HttpRequestInfo) => boolean {
  return (info) =>
    info.target === `DynamoDB_20120810.${operation}` &&
    (bodyIncludes === undefined || info.body.includes(bodyIncludes));
}
