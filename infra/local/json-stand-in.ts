import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen } from './http-server';

/**
 * The HTTP side of a local stand-in for an AWS service speaking the JSON 1.1 protocol (KMS, Secrets
 * Manager): POST with `X-Amz-Target: <prefix>.<Operation>` and a JSON body, answered with JSON or an
 * error whose type goes in `__type` and `x-amzn-errortype` (the SDK reads both). Signatures are not
 * checked. Each stand-in supplies only its operations.
 */

export type JsonBody = Record<string, unknown>;

/** An error the service itself would answer (4xx): `type` is the SDK's exception name. */
export class StandInFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonStandInOptions {
  /** The X-Amz-Target prefix, e.g. `TrentService` (KMS) or `secretsmanager`. */
  targetPrefix: string;
  operations: Record<string, (body: JsonBody) => JsonBody>;
  /** The exception type of an unexpected error (500). */
  internalErrorType: string;
  port?: number | undefined;
  host?: string | undefined;
}

export interface JsonStandInServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (port 0 = a free port). */
export async function startJsonStandIn(options: JsonStandInOptions): Promise<JsonStandInServer> {
  const prefix = `${options.targetPrefix}.`;

  function reply(res: ServerResponse, status: number, body: JsonBody, errorType?: string): void {
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
    };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(prefix)
        ? Object.hasOwn(options.operations, target.slice(prefix.length))
          ? options.operations[target.slice(prefix.length)]
          : undefined
        : undefined;
      if (req.method !== 'POST' || !operation) throw new StandInFault('UnknownOperationException', target);
      let body: JsonBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as JsonBody;
      } catch {
        throw new StandInFault('SerializationException', 'The request body is not JSON');
      }
      reply(res, 200, operation(body));
    } catch (err) {
      const known = err instanceof StandInFault;
      const fault = known ? err : new StandInFault(options.internalErrorType, 'internal error');
      reply(res, known ? 400 : 500, { __type: fault.type, message: fault.message }, fault.type);
    }
  }

  // A client that drops mid-request only loses its own socket.
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  return { url: `http://${host}:${port}`, port, close: () => closeServer(server) };
}
