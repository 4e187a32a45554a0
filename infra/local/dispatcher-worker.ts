/**
 * One dispatcher worker of the local stack (`--dispatcher-worker=<n>`), like one Lambda container: the real
 * dispatcher handler with its own caches, fed by its own poller (batches of 10, the invocation deadline,
 * batch item failures left to their visibility timeout). Started and restarted by `npm start` (workers.ts).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type SqsHandler, startPoller } from './poller';
import { onWorkerStop, tellStack, workerConfig } from './workers';

const config = workerConfig();
const name = process.argv.find((a) => a.startsWith('--dispatcher-worker=')) ?? '--dispatcher-worker';
if (!config.queueUrl || !config.queueArn) throw new Error(`${name}: no queue in LOCAL_WORKER_CONFIG`);

// The handler reads exactly what Lambda would give it: the stack's environment (AWS_ENDPOINT_URL_*, …).
const handler = (await import('../../functions/dispatcher/handler')).handler as SqsHandler;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const poller = startPoller({
  sqs,
  queueUrl: config.queueUrl,
  queueArn: config.queueArn,
  handler,
  timeoutMs: config.timeoutMs,
  onBatch: (records, failed) => tellStack({ type: 'batch', records, failed: [...failed] }),
  onError: (error) =>
    process.stderr.write(`  ${name} poller: ${error instanceof Error ? error.message : String(error)}\n`),
});
onWorkerStop(async () => {
  await poller.stop();
  sqs.destroy();
});
tellStack({ type: 'ready' });
