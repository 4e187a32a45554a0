import {
  type FaultProxy,
  startTcpFaultProxy,
  type TcpConnectionInfo,
  type TcpFault,
} from '../support/fault-proxy';
import { type SmtpTestServers, TEST_PASSWORD, TEST_USER, type TestSmtpServer } from '../support/smtp';

/**
 * The soak's tenant SMTP peers: healthy servers behind fault-injecting TCP proxies (random resets and
 * delays), and one server per SMTP failure class (docs/design.md §9) the tenant path must survive.
 */
export const PEER_KINDS = [
  'healthy',
  'connection',
  'tls',
  'auth',
  'server-temporary',
  'server-throttled',
  'server-rejected',
  'uncertain',
  'recipient-rejected',
] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

/** An address the recipient-rejected peers refuse for good (5.1.1). */
export const GONE = 'gone@customer.example';

export interface Peer {
  kind: PeerKind;
  port: number;
  security: 'none' | 'starttls';
  password: string;
  server?: TestSmtpServer;
  proxy?: FaultProxy<TcpConnectionInfo, TcpFault>;
}

export async function startPeers(servers: SmtpTestServers, tenants: number, seed: number): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < tenants; i += 1) {
    const kind = PEER_KINDS[i % PEER_KINDS.length] ?? 'healthy';
    peers.push(await startPeer(servers, kind, seed + i));
  }
  return peers;
}

async function startPeer(servers: SmtpTestServers, kind: PeerKind, seed: number): Promise<Peer> {
  const plain = { security: 'none' as const, password: TEST_PASSWORD };
  const started = (server: TestSmtpServer, extra: Partial<Peer> = {}): Peer => ({
    kind,
    port: server.port,
    server,
    ...plain,
    ...extra,
  });
  switch (kind) {
    case 'healthy': {
      const server = await servers.start({ tls: 'none' });
      const proxy = await startTcpFaultProxy({ port: server.port }, { seed });
      // Random network faults on the way: some connections reset mid-conversation, some slow.
      proxy.set(
        { fault: { type: 'reset', afterBytes: 200 }, rate: 0.03 },
        { fault: { type: 'delay', ms: 300 }, rate: 0.05 },
      );
      return { ...started(server), port: proxy.port, proxy };
    }
    case 'connection':
      return { kind, port: await servers.closedPort(), ...plain };
    case 'tls':
      // The tenant asks for STARTTLS; the server does not offer it.
      return started(await servers.start({ tls: 'none' }), { security: 'starttls' });
    case 'auth':
      return started(await servers.start({ tls: 'none' }), { password: 'a-rotated-password' });
    case 'server-temporary':
      return started(await servers.start({ tls: 'none', dataEnd: '451 4.3.0 Try again later' }));
    case 'server-throttled':
      return started(await servers.start({ tls: 'none', dataEnd: '554 5.2.0 Daily quota exceeded' }));
    case 'server-rejected':
      return started(await servers.start({ tls: 'none', mail: '550 5.7.1 Sender not allowed' }));
    case 'uncertain':
      return started(await servers.start({ tls: 'none', dropAfterDot: true }));
    case 'recipient-rejected':
      return started(await servers.start({ tls: 'none', rcpt: { [GONE]: '550 5.1.1 No such user' } }));
  }
}

/** The sender config a peer's tenant puts through the config API. */
export function senderConfig(peer: Peer, tenantId: string) {
  return {
    mode: 'smtp',
    fallback: 'platform',
    smtp: {
      host: '127.0.0.1',
      port: peer.port,
      security: peer.security,
      username: TEST_USER,
      password: peer.password,
      fromAddress: `notifications@${tenantId}.example`,
    },
  };
}
