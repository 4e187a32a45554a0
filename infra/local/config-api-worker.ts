/**
 * The config API of the local stack in a process of its own (`--config-api-worker`): the real handler
 * behind the local HTTP API gateway (routes, the JWT check, payload 2.0 events). Started by `npm start`.
 */
import { startLocalApiGateway } from './api-gateway';
import { loadOrCreateLocalIssuer } from './jwt';
import { onWorkerStop, tellStack, workerConfig } from './workers';

const config = workerConfig();
if (config.port === undefined || !config.keyFile) throw new Error('config API worker: no port or key file');

const handler = (await import('../../functions/config-api/handler')).handler;
const issuer = await loadOrCreateLocalIssuer(config.keyFile);
const gateway = await startLocalApiGateway({
  handler,
  verify: issuer.verify,
  port: config.port,
  timeoutMs: config.timeoutMs,
});
onWorkerStop(() => gateway.close());
tellStack({ type: 'ready', url: gateway.url });
