import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen } from './http-server';
import type { RecordMail } from './ses-event-records';
import { createSesModel, SesFault, type SesModel } from './ses-stand-in-model';
import { apiRoutes, type Body, type Route, str } from './ses-stand-in-routes';

/**
 * A local stand-in for SES v2 speaking the REST-JSON protocol as @aws-sdk/client-sesv2 sends it, for the
 * operations the project calls: email identities (Easy DKIM, MAIL FROM), tenants, their resource
 * associations and reputation (policy, sending status), and SendEmail with SES's checks (verified From,
 * TenantName). Accepted mail is forwarded to aws-ses-v2-local, which keeps the mailbox (`/store`).
 * Signatures are not checked. Local admin routes under `/_local/` play what DNS and SES do out of reach
 * of the API: verify an identity, pause or resume a tenant.
 */

export interface SesStandInOptions {
  /** aws-ses-v2-local's base URL: accepted SendEmail requests go to its `/v2/email/outbound-emails`. */
  forwardTo: string;
  port?: number;
  host?: string;
  region?: string;
  /** Identities (domains or addresses) that exist and are verified from the start, e.g. the platform's. */
  verifiedIdentities?: string[];
  /** Configuration sets that exist (in AWS the CDK stack creates them). */
  configurationSets?: string[];
  /**
   * Called for every accepted send that names a configuration set (SES publishes events only through
   * one), after the answer: the local stack publishes the mailbox simulator's events from it
   * (ses-events-path.ts, docs/design.md §19).
   */
  onAccepted?: (mail: RecordMail) => void;
}

/** One SendEmail the stand-in accepted, as SES was asked (the mailbox does not keep TenantName). */
export interface AcceptedSend {
  messageId: string;
  from: string;
  tenantName?: string;
  configurationSetName?: string;
  tags: Array<{ Name: string; Value: string }>;
}

export interface SesStandIn {
  url: string;
  port: number;
  model: SesModel;
  /** Every send accepted since start (also at GET /_local/sends). */
  sends: AcceptedSend[];
  close(): Promise<void>;
}

/** The account id in every ARN the stand-in makes. */
export const SES_STAND_IN_ACCOUNT = '000000000000';
const ACCOUNT = SES_STAND_IN_ACCOUNT;
/** The address of a From such as `"Name" <a@b.example>` or `a@b.example`. */
function bareAddress(from: string): string {
  return (/<([^<>]+)>\s*$/.exec(from)?.[1] ?? from).trim();
}

/** The From header of a raw MIME message (for a Raw send without FromEmailAddress). */
function headerFrom(rawBase64: string): string | undefined {
  const head =
    Buffer.from(rawBase64, 'base64')
      .toString('utf8')
      .split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  return /^from:\s*(.+)$/im.exec(unfolded)?.[1];
}

export async function startSesStandIn(options: SesStandInOptions): Promise<SesStandIn> {
  const region = options.region ?? 'us-east-1';
  const model = createSesModel({
    region,
    account: ACCOUNT,
    configurationSets: options.configurationSets ?? [],
  });
  for (const name of options.verifiedIdentities ?? [])
    model.createIdentity(name, undefined).status = 'SUCCESS';
  const sends: AcceptedSend[] = [];

  async function sendEmail(body: Body, authorization: string): Promise<Body> {
    const content = (body.Content ?? {}) as { Raw?: { Data?: string } };
    const from = str(body.FromEmailAddress) ?? (content.Raw?.Data ? headerFrom(content.Raw.Data) : undefined);
    if (!from) throw new SesFault('BadRequestException', 'Missing required header From.');
    const tenantName = str(body.TenantName);
    const configurationSetName = str(body.ConfigurationSetName);
    model.checkSend({
      from: bareAddress(from),
      ...(tenantName !== undefined && { tenantName }),
      ...(configurationSetName !== undefined && { configurationSetName }),
    });
    const forwarded = await fetch(`${options.forwardTo}/v2/email/outbound-emails`, {
      method: 'POST',
      // aws-ses-v2-local wants an AWS Authorization header; the caller's serves (nothing checks it).
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify(body),
    });
    const answer = (await forwarded.json().catch(() => ({}))) as Body;
    if (!forwarded.ok) throw new SesFault('BadRequestException', String(answer.message ?? 'mailbox refused'));
    sends.push({
      messageId: String(answer.MessageId),
      from,
      ...(tenantName !== undefined && { tenantName }),
      ...(configurationSetName !== undefined && { configurationSetName }),
      tags: (body.EmailTags as AcceptedSend['tags'] | undefined) ?? [],
    });
    if (configurationSetName !== undefined && options.onAccepted) {
      const destination = (body.Destination ?? {}) as Record<string, string[] | undefined>;
      const tags = (body.EmailTags as AcceptedSend['tags'] | undefined) ?? [];
      const mail: RecordMail = {
        messageId: String(answer.MessageId),
        source: from,
        destination: [
          ...(destination.ToAddresses ?? []),
          ...(destination.CcAddresses ?? []),
          ...(destination.BccAddresses ?? []),
        ],
        tags: Object.fromEntries(tags.map((t) => [t.Name, [t.Value]])),
      };
      // After the answer, as SES: the events reach the topic once the send has returned.
      setImmediate(() => options.onAccepted?.(mail));
    }
    return { MessageId: answer.MessageId };
  }

  const routes: Route[] = [
    [
      'POST',
      /^\/v2\/email\/outbound-emails$/,
      (_, body, req) => sendEmail(body, req.headers.authorization ?? 'AWS4-HMAC-SHA256 local'),
    ],
    ...apiRoutes(model),
    ['GET', /^\/_local\/sends$/, () => ({ sends })],
  ];

  function reply(res: ServerResponse, status: number, body: Body, errorType?: string): void {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
    };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      const found = routes
        .filter(([method]) => method === req.method)
        .map(([, pattern, handler]) => ({ handler, match: pattern.exec(path) }))
        .find(({ match }) => match !== null);
      if (!found?.match) throw new SesFault('UnknownOperationException', `${req.method} ${path}`, 404);
      const params = found.match.slice(1).map((p) => decodeURIComponent(p));
      let body: Body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Body;
      } catch {
        throw new SesFault('BadRequestException', 'The request body is not JSON');
      }
      reply(res, 200, await found.handler(params, body, req));
    } catch (err) {
      const fault = err instanceof SesFault ? err : new SesFault('InternalFailure', 'internal error', 500);
      reply(res, fault.status, { __type: fault.type, message: fault.message }, fault.type);
    }
  }

  // A client that drops mid-request only loses its own socket.
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    model,
    sends,
    close: () => closeServer(server),
  };
}
