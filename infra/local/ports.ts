import net from 'node:net';

/** Default ports of the local stack; each can be set with its environment variable. */
export const DEFAULT_PORTS = {
  api: { env: 'LOCAL_API_PORT', port: 8780 },
  dynamodb: { env: 'LOCAL_DYNAMODB_PORT', port: 8781 },
  sqs: { env: 'LOCAL_SQS_PORT', port: 8782 },
  ses: { env: 'LOCAL_SES_PORT', port: 8783 },
  kms: { env: 'LOCAL_KMS_PORT', port: 8784 },
  sesApi: { env: 'LOCAL_SES_API_PORT', port: 8785 },
  webhooks: { env: 'LOCAL_WEBHOOKS_PORT', port: 8786 },
  oauthToken: { env: 'LOCAL_OAUTH_TOKEN_PORT', port: 8787 },
  oauthSmtp: { env: 'LOCAL_OAUTH_SMTP_PORT', port: 8788 },
  secrets: { env: 'LOCAL_SECRETS_PORT', port: 8789 },
  platformWebhooks: { env: 'LOCAL_PLATFORM_WEBHOOKS_PORT', port: 8790 },
  mailboxWeb: { env: 'LOCAL_MAILBOX_WEB_PORT', port: 1080 },
  mailboxSmtp: { env: 'LOCAL_MAILBOX_SMTP_PORT', port: 1025 },
} as const;

export type PortName = keyof typeof DEFAULT_PORTS;

export class PortError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortError';
  }
}

/**
 * The port to use: the one set in the environment (it must be free: the user asked for it), else the
 * default when free, else a free port the system picks.
 */
export async function choosePort(name: PortName, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const spec = DEFAULT_PORTS[name];
  const wanted = env[spec.env];
  if (wanted !== undefined && wanted !== '') {
    const port = Number(wanted);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new PortError(`${spec.env}=${wanted} is not a port number`);
    }
    if (port !== 0 && !(await isFree(port))) {
      throw new PortError(
        `port ${port} (${spec.env}) is taken by another program; choose another or free it`,
      );
    }
    return port === 0 ? freePort() : port;
  }
  return (await isFree(spec.port)) ? spec.port : freePort();
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the system reports free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
