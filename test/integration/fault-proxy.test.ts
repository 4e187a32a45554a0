import net from 'node:net';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client, SendEmailCommand, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsErrors, dynamoRequest } from '../support/aws-wire';
import { type DynamoFixture, localDynamoClient, startDynamo } from '../support/dynamo';
import {
  type FaultProxy,
  type HttpFault,
  type HttpRequestInfo,
  startHttpFaultProxy,
  startTcpFaultProxy,
} from '../support/fault-proxy';
import { type LocalKms, startKms } from '../support/kms';
import { type LocalSes, startLocalSes } from '../support/ses';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A TCP server that records what it receives and answers each chunk with "ok:<chunk>". */
async function startEcho() {
  const received: Buffer[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      socket.write(`ok:${chunk.toString()}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(received).toString(),
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects, writes `text`, and says how the conversation ended: the reply, or the socket error's code. */
function talk(port: number, text: string, waitForReply = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on('connect', () => {
      socket.write(text);
      if (!waitForReply) resolve('connected');
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= `ok:${text}`.length) {
        socket.end();
        resolve(reply);
      }
    });
  });
}

describe('TCP fault proxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: Awaited<ReturnType<typeof startTcpFaultProxy>>;

  beforeAll(async () => {
    echo = await startEcho();
    proxy = await startTcpFaultProxy({ port: echo.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await echo?.close();
  });

  it('passes bytes both ways when no rule matches', async () => {
    proxy.clear();
    expect(await talk(proxy.port, 'hello')).toBe('ok:hello');
  });

  it('refuses (resets at accept) without ever reaching the server', async () => {
    const before = echo.connections();
    proxy.set({ fault: { type: 'refuse' } });
    expect(await talk(proxy.port, 'x')).toMatch(/ECONNRESET|EPIPE/);
    expect(echo.connections()).toBe(before);
  });

  it('resets after the client has sent the given bytes: the server got exactly those', async () => {
    proxy.set({ fault: { type: 'reset', afterBytes: 4 } });
    const before = echo.received().length;
    expect(await talk(proxy.port, 'abcdefgh')).toMatch(/ECONNRESET|EPIPE/);
    await expect.poll(() => echo.received().slice(before)).toBe('abcd');
  });

  it('hangs (blackhole): the client is connected, the server never sees it', async () => {
    const before = echo.connections();
    proxy.set({ fault: { type: 'hang' }, times: 1 });
    expect(await talk(proxy.port, 'lost', false)).toBe('connected');
    // The next connection passes (times: 1), and reaches the server alone.
    expect(await talk(proxy.port, 'next')).toBe('ok:next');
    expect(echo.connections()).toBe(before + 1);
  });

  it('delays, then passes', async () => {
    proxy.set({ fault: { type: 'delay', ms: 50 } });
    expect(await talk(proxy.port, 'late')).toBe('ok:late');
    expect(proxy.stats.faults.delay).toBeGreaterThanOrEqual(1);
  });

  it('applies a rate with a seeded generator: roughly that share, the same on every run', async () => {
    const counts: number[] = [];
    for (const seed of [7, 7]) {
      const p = await startTcpFaultProxy({ port: echo.port }, { seed });
      p.set({ fault: { type: 'refuse' }, rate: 0.3 });
      for (let i = 0; i < 60; i += 1) await talk(p.port, 'r');
      counts.push(p.stats.faults.refuse ?? 0);
      await p.close();
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[0]).toBeGreaterThan(5);
    expect(counts[0]).toBeLessThan(40);
  });

  it('dropConnections() resets open connections and keeps listening', async () => {
    proxy.clear();
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    const ended = new Promise<string>((resolve) => {
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      socket.on('close', () => resolve('closed'));
    });
    await new Promise((resolve) => socket.once('data', resolve).write('ping'));
    proxy.dropConnections();
    expect(await ended).toMatch(/ECONNRESET|closed/);
    expect(await talk(proxy.port, 'again')).toBe('ok:again');
  });

  it('stop() refuses for real (ECONNREFUSED); start() listens again on the same port', async () => {
    proxy.clear();
    const port = proxy.port;
    await proxy.stop();
    expect(await talk(port, 'x')).toBe('ECONNREFUSED');
    await proxy.start();
    expect(proxy.port).toBe(port);
    expect(await talk(port, 'back')).toBe('ok:back');
  });
});

describe('HTTP fault proxy in front of the AWS stand-ins', () => {
  let dynamo: DynamoFixture;
  let kms: LocalKms;
  let ses: LocalSes;
  const proxies: FaultProxy<HttpRequestInfo, HttpFault>[] = [];
  let doc: DynamoDBDocumentClient;
  let kmsClient: KMSClient;
  let sesClient: SESv2Client;
  let dynamoProxy: FaultProxy<HttpRequestInfo, HttpFault>;
  let kmsProxy: FaultProxy<HttpRequestInfo, HttpFault>;
  let sesProxy: FaultProxy<HttpRequestInfo, HttpFault>;

  beforeAll(async () => {
    [dynamo, kms, ses] = await Promise.all([startDynamo(), startKms(), startLocalSes()]);
    [dynamoProxy, kmsProxy, sesProxy] = await Promise.all([
      startHttpFaultProxy(dynamo.endpoint),
      startHttpFaultProxy(kms.endpoint),
      startHttpFaultProxy(ses.endpoint),
    ]);
    proxies.push(dynamoProxy, kmsProxy, sesProxy);
    doc = DynamoDBDocumentClient.from(localDynamoClient(dynamoProxy.url));
    kmsClient = new KMSClient({ endpoint: kmsProxy.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    sesClient = new SESv2Client({ endpoint: sesProxy.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    doc?.destroy();
    kmsClient?.destroy();
    sesClient?.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([dynamo?.close(), kms?.close(), ses?.close()]);
  });

  const item = (pk: string) => ({ TableName: dynamo.tableName, Item: { pk, sk: 'X', n: 1 } });
  const key = (pk: string) => ({ TableName: dynamo.tableName, Key: { pk, sk: 'X' } });

  it('DynamoDB: throttling and 5xx answers reach the SDK as the real service errors', async () => {
    dynamoProxy.set({ fault: { type: 'respond', response: awsErrors.dynamodb.throttling() }, times: 1 });
    await expect(doc.send(new PutCommand(item('a')))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    dynamoProxy.set({
      fault: { type: 'respond', response: awsErrors.dynamodb.provisionedThroughputExceeded() },
      times: 1,
    });
    await expect(doc.send(new PutCommand(item('a')))).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
    dynamoProxy.set({ fault: { type: 'respond', response: awsErrors.dynamodb.internalServerError() } });
    await expect(doc.send(new PutCommand(item('a')))).rejects.toMatchObject({
      name: 'InternalServerError',
      $fault: 'server',
    });
    dynamoProxy.clear();
    await doc.send(new PutCommand(item('a')));
    expect((await doc.send(new GetCommand(key('a')))).Item).toMatchObject({ n: 1 });
  });

  it('DynamoDB: a rule picks an operation and a key; a lost response hides a write that happened', async () => {
    dynamoProxy.set({ fault: { type: 'lose-response' }, when: dynamoRequest('PutItem', '"b-lost"') });
    await doc.send(new PutCommand(item('b-kept')));
    await expect(doc.send(new PutCommand(item('b-lost')))).rejects.toThrow();
    dynamoProxy.clear();
    // The write was applied behind the lost answer.
    expect((await doc.send(new GetCommand(key('b-lost')))).Item).toMatchObject({ pk: 'b-lost' });
  });

  it('DynamoDB: a hung request holds until the caller gives up; the server never saw it', async () => {
    dynamoProxy.set({ fault: { type: 'hang' }, when: dynamoRequest('PutItem') });
    await expect(
      doc.send(new PutCommand(item('c-hung')), { abortSignal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    dynamoProxy.clear();
    expect((await doc.send(new GetCommand(key('c-hung')))).Item).toBeUndefined();
  });

  it('KMS: throttling, internal error and dependency timeout in JSON 1.1', async () => {
    const context = { tenantId: 't1' };
    const { CiphertextBlob } = await kmsClient.send(
      new EncryptCommand({ KeyId: kms.keyId, Plaintext: Buffer.from('pw'), EncryptionContext: context }),
    );
    const decrypt = () =>
      kmsClient.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context, KeyId: kms.keyId }));
    const cases = [
      [awsErrors.kms.throttling(), 'ThrottlingException', 400],
      [awsErrors.kms.internal(), 'KMSInternalException', 500],
      [awsErrors.kms.dependencyTimeout(), 'DependencyTimeoutException', 503],
    ] as const;
    for (const [response, name, status] of cases) {
      kmsProxy.set({
        fault: { type: 'respond', response },
        when: (r) => r.target === 'TrentService.Decrypt',
      });
      await expect(decrypt()).rejects.toMatchObject({ name, $metadata: { httpStatusCode: status } });
    }
    kmsProxy.clear();
    expect(Buffer.from((await decrypt()).Plaintext ?? []).toString()).toBe('pw');
  });

  it('SES v2: TooManyRequestsException (429) and 5xx in REST JSON; then the mail goes through', async () => {
    const send = () =>
      sesClient.send(
        new SendEmailCommand({
          FromEmailAddress: 'a@platform.test',
          Destination: { ToAddresses: ['b@example.test'] },
          Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } },
        }),
      );
    sesProxy.set({ fault: { type: 'respond', response: awsErrors.ses.tooManyRequests() }, times: 1 });
    await expect(send()).rejects.toBeInstanceOf(TooManyRequestsException);
    sesProxy.set({ fault: { type: 'respond', response: awsErrors.ses.unavailable() }, times: 1 });
    await expect(send()).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(await ses.store()).toHaveLength(0);
    expect((await send()).MessageId).toBeTruthy();
    expect(await ses.store()).toHaveLength(1);
  });

  it('refuses a request: reset before it reaches the server', async () => {
    dynamoProxy.set({ fault: { type: 'refuse' }, when: dynamoRequest('PutItem') });
    await expect(doc.send(new PutCommand(item('d-refused')))).rejects.toThrow();
    dynamoProxy.clear();
    expect((await doc.send(new GetCommand(key('d-refused')))).Item).toBeUndefined();
  });
});
