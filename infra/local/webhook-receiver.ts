import { appendFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { verifyWebhookSignature } from '../../functions/adapters/webhook';
import { closeServer, listen } from './http-server';

/** One POST as the receiver saw it. */
export interface ReceivedWebhook {
  at: string;
  headers: Record<string, string>;
  body: string;
  /** The signature checked out with the receiver's secret (false when it has none). */
  verified: boolean;
}

/** How to answer the n-th request (1-based): a status, or `hang` (never answer). */
export type WebhookAnswer = number | 'hang';

export interface WebhookReceiverOptions {
  /** The shared secret to verify signatures with. */
  secret?: string;
  /** Appends each verified event as one JSON line (the local stack's `.local/webhooks.jsonl`). */
  file?: string;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default: 204 to a verified request, 401 to any other. */
  answer?: (n: number, request: ReceivedWebhook) => WebhookAnswer;
  host?: string;
  port?: number;
  /** Epoch ms the signature's time is checked against (default the system clock). */
  now?: () => number;
}

export interface WebhookReceiver {
  /** `http(s)://<host>:<port>/hooks` */
  url: string;
  port: number;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A webhook receiver as a tenant would write one: it checks `Tenant-Mailer-Signature` with the shared
 * secret and keeps (or appends to a file) what it got. Tests script its answers (500, a redirect, a hang).
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<() => void>();
  const handler = async (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const body = await readBody(req);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const signature = headers['tenant-mailer-signature'] ?? '';
    const verified =
      options.secret !== undefined &&
      verifyWebhookSignature(options.secret, signature, body, Math.floor((options.now ?? Date.now)() / 1000));
    const entry: ReceivedWebhook = { at: new Date().toISOString(), headers, body, verified };
    received.push(entry);
    if (verified && options.file) {
      await appendFile(
        options.file,
        `${JSON.stringify({ receivedAt: entry.at, event: JSON.parse(body) })}\n`,
      );
    }
    const answer = options.answer?.(received.length, entry) ?? (verified ? 204 : 401);
    if (answer === 'hang') {
      hanging.add(() => res.destroy());
      return;
    }
    if (answer >= 300 && answer < 400) res.setHeader('location', 'http://127.0.0.1:9/elsewhere');
    res.writeHead(answer).end(answer === 204 ? undefined : `answer ${answer}`);
  };
  const server: Server = options.tls
    ? (createHttpsServer(options.tls, handler) as unknown as Server)
    : createHttpServer(handler);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const scheme = options.tls ? 'https' : 'http';
  return {
    url: `${scheme}://${host}:${port}/hooks`,
    port,
    received,
    async close() {
      for (const end of hanging) end();
      await closeServer(server);
    },
  };
}
