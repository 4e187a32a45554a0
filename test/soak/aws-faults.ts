import { freePort } from '../../infra/local/ports';
import { awsErrors } from '../support/aws-wire';
import {
  type CannedResponse,
  type FaultProxy,
  type FaultRule,
  type HttpFault,
  type HttpRequestInfo,
  startHttpFaultProxy,
} from '../support/fault-proxy';

/**
 * The soak's AWS-service faults: an HTTP fault-injecting proxy in front of each service the handlers
 * call (DynamoDB, SQS, SES v2, KMS). The stack listens on ports chosen here and gives its handlers the
 * proxies (LOCAL_HANDLER_ENDPOINT_*); the stack's own calls and the soak's go to the services directly.
 */

export const AWS_SERVICES = ['dynamodb', 'sqs', 'sesv2', 'kms'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

/** Share of each service's requests that get each kind of fault. */
export interface AwsFaultRates {
  /** Throttled (the service's own throttling error; the SDK backs off and retries). */
  throttle: number;
  /** 500 / 503 in the service's wire format. */
  serverError: number;
  /**
   * A timeout as the client sees one: half of them answered only after `slowMs` (a slow service), half
   * acted on and the answer lost (the connection reset: the client cannot know whether it happened).
   */
  timeout: number;
  slowMs: number;
}

export const DEFAULT_AWS_FAULTS: AwsFaultRates = {
  throttle: 0.02,
  serverError: 0.02,
  timeout: 0.01,
  slowMs: 2_000,
};

const PORT_ENV: Record<AwsService, { port: string; endpoint: string }> = {
  dynamodb: { port: 'LOCAL_DYNAMODB_PORT', endpoint: 'LOCAL_HANDLER_ENDPOINT_DYNAMODB' },
  sqs: { port: 'LOCAL_SQS_PORT', endpoint: 'LOCAL_HANDLER_ENDPOINT_SQS' },
  sesv2: { port: 'LOCAL_SES_API_PORT', endpoint: 'LOCAL_HANDLER_ENDPOINT_SESV2' },
  kms: { port: 'LOCAL_KMS_PORT', endpoint: 'LOCAL_HANDLER_ENDPOINT_KMS' },
};

function errorsOf(service: AwsService): { throttle: CannedResponse; serverErrors: CannedResponse[] } {
  switch (service) {
    case 'dynamodb':
      return {
        throttle: awsErrors.dynamodb.throttling(),
        serverErrors: [awsErrors.dynamodb.internalServerError(), awsErrors.dynamodb.serviceUnavailable()],
      };
    case 'sqs':
      return {
        throttle: awsErrors.sqs.throttling(),
        serverErrors: [awsErrors.sqs.internal(), awsErrors.sqs.unavailable()],
      };
    case 'sesv2':
      return {
        throttle: awsErrors.ses.tooManyRequests(),
        serverErrors: [awsErrors.ses.internal(), awsErrors.ses.unavailable()],
      };
    case 'kms':
      return {
        throttle: awsErrors.kms.throttling(),
        serverErrors: [awsErrors.kms.internal(), awsErrors.kms.dependencyTimeout()],
      };
  }
}

/**
 * The rules of one service. Rates are of the requests each rule sees: the first rule that fires decides,
 * so the later ones see slightly fewer; close enough at these rates.
 */
export function faultRules(
  service: AwsService,
  rates: AwsFaultRates,
): FaultRule<HttpRequestInfo, HttpFault>[] {
  const { throttle, serverErrors } = errorsOf(service);
  const rules: FaultRule<HttpRequestInfo, HttpFault>[] = [
    { fault: { type: 'respond', response: throttle }, rate: rates.throttle },
    ...serverErrors.map(
      (response): FaultRule<HttpRequestInfo, HttpFault> => ({
        fault: { type: 'respond', response },
        rate: rates.serverError / serverErrors.length,
      }),
    ),
    { fault: { type: 'delay', ms: rates.slowMs }, rate: rates.timeout / 2 },
    { fault: { type: 'lose-response' }, rate: rates.timeout / 2 },
  ];
  return rules.filter((r) => (r.rate ?? 1) > 0);
}

export interface AwsFaults {
  /** The environment for the stack: its service ports and the endpoints its handlers get. */
  env: Record<string, string>;
  /** Starts injecting (until then the proxies pass everything). */
  start(): void;
  /** Stops injecting. */
  stop(): void;
  /** "dynamodb 1234 requests: respond 40, delay 6, lose-response 5; …" */
  describe(): string;
  close(): Promise<void>;
}

/** Starts one proxy per service, in front of the port the stack will listen on for it. */
export async function startAwsFaults(rates: AwsFaultRates, seed: number): Promise<AwsFaults> {
  const proxies = new Map<AwsService, FaultProxy<HttpRequestInfo, HttpFault>>();
  const env: Record<string, string> = {};
  for (const [i, service] of AWS_SERVICES.entries()) {
    const port = await freePort();
    const proxy = await startHttpFaultProxy(`http://127.0.0.1:${port}`, { seed: seed * 10 + i });
    proxies.set(service, proxy);
    env[PORT_ENV[service].port] = String(port);
    env[PORT_ENV[service].endpoint] = proxy.url;
  }
  return {
    env,
    start() {
      for (const [service, proxy] of proxies) proxy.set(...faultRules(service, rates));
    },
    stop() {
      for (const proxy of proxies.values()) proxy.clear();
    },
    describe() {
      return [...proxies]
        .map(([service, proxy]) => {
          const faults = Object.entries(proxy.stats.faults)
            .map(([type, n]) => `${type} ${n}`)
            .join(', ');
          return `${service} ${proxy.stats.seen} requests (${faults || 'no faults'})`;
        })
        .join('; ');
    },
    async close() {
      for (const proxy of proxies.values()) await proxy.close();
    },
  };
}
