import { describe, expect, it } from 'vitest';
import { createNetworkGuard, isAddressAllowed, type Resolver } from '../../functions/adapters/network-guard';
import { DnsFailureError, HostRefusedError } from '../../functions/core/errors';

// Every address below is only a string handed to the guard; nothing connects anywhere.

/** A resolver that answers `name` with the given addresses and counts its calls. */
function fixedResolver(answers: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<string[]> => {
    calls.push(host);
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(resolve, { calls });
}

/** A resolver that must never be asked (literal hosts skip DNS). */
const noDns: Resolver = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};

async function refusal(promise: Promise<unknown>): Promise<HostRefusedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HostRefusedError);
  return err as HostRefusedError;
}

describe('network guard: refused addresses (literal hosts, no DNS)', () => {
  const refused: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['169.254.169.254', 'linkLocal'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'linkLocal'],
    ['64:ff9b:1::1', 'rfc6052'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'linkLocal'],
    // Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted (0x80ff:0xfffe).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    ['[::1]', 'loopback'],
  ];

  it.each(refused)('refuses %s as %s', async (host, reason) => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns });

    // Act
    const err = await refusal(guard.vet(host, 587));

    // Assess
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(host);
  });
});

describe('network guard: odd IPv4 spellings', () => {
  it.each(['127.1', '0x7f.1', '2130706433', '017700000001', '010.0.0.1', '1572395042'])(
    'refuses %s as ip-spelling without asking DNS',
    async (host) => {
      // Prepare
      const guard = createNetworkGuard({ resolve: noDns });

      // Act
      const err = await refusal(guard.vet(host, 587));

      // Assess
      expect(err.reason).toBe('ip-spelling');
    },
  );

  it('names the address an odd spelling would have meant', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns });

    // Act
    const err = await refusal(guard.vet('0x7f.1', 587));

    // Assess
    expect(err.message).toContain('127.0.0.1');
  });
});

describe('network guard: names resolved through the resolver', () => {
  it('refuses localhost resolving to 127.0.0.1', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: fixedResolver({ localhost: ['127.0.0.1'] }) });

    // Act
    const err = await refusal(guard.vet('localhost', 587));

    // Assess
    expect(err.reason).toBe('loopback');
    expect(err.message).toContain('localhost');
  });

  it('refuses a mixed answer [public, private] even though the first is fine', async () => {
    // Prepare
    const resolve = fixedResolver({ 'mixed.example': ['93.184.216.34', '10.0.0.5'] });
    const guard = createNetworkGuard({ resolve });

    // Act
    const err = await refusal(guard.vet('mixed.example', 465));

    // Assess
    expect(err.reason).toBe('private');
  });

  it('allows a public name and prefers its IPv4 address', async () => {
    // Prepare
    const resolve = fixedResolver({ 'smtp.acme.example': ['2606:4700::1111', '93.184.216.34'] });
    const guard = createNetworkGuard({ resolve });

    // Act
    const target = await guard.vet('smtp.acme.example', 587);

    // Assess
    expect(target).toEqual({ host: 'smtp.acme.example', address: '93.184.216.34', family: 4 });
  });

  it('returns an IPv6 address when that is all there is', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: fixedResolver({ 'v6.example': ['2606:4700:0:0::1111'] }) });

    // Act
    const target = await guard.vet('v6.example', 2525);

    // Assess
    expect(target).toEqual({ host: 'v6.example', address: '2606:4700::1111', family: 6 });
  });

  it('judges IPv6 forms by a public IPv4 inside them', async () => {
    // Prepare
    const guard = createNetworkGuard({
      resolve: fixedResolver({ 'nat64.example': ['64:ff9b::5db8:d822', '::ffff:93.184.216.34'] }),
    });

    // Act
    const target = await guard.vet('nat64.example', 587);

    // Assess
    expect(target.family).toBe(6);
    expect(target.address).toBe('64:ff9b::5db8:d822');
  });

  it('resolves on every call, so a rebinding answer is refused the second time', async () => {
    // Prepare
    const answers = [['93.184.216.34'], ['127.0.0.1']];
    let call = 0;
    const guard = createNetworkGuard({ resolve: async () => answers[call++] ?? [] });

    // Act
    const first = await guard.vet('rebind.example', 587);
    const err = await refusal(guard.vet('rebind.example', 587));

    // Assess
    expect(first.address).toBe('93.184.216.34');
    expect(err.reason).toBe('loopback');
    expect(call).toBe(2);
  });

  it('reports a failed lookup as DnsFailureError with the resolver code', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: fixedResolver({}) });

    // Act
    const err = await guard.vet('nowhere.example', 587).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(DnsFailureError);
    expect((err as DnsFailureError).code).toBe('ENOTFOUND');
    expect((err as DnsFailureError).message).toContain('nowhere.example');
  });

  it('reports an empty answer as DnsFailureError', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: async () => [] });

    // Act
    const err = await guard.vet('empty.example', 587).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(DnsFailureError);
    expect((err as DnsFailureError).code).toBe('ENOTFOUND');
  });

  it('refuses an answer that is not an address at all', async () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: async () => ['not-an-ip'] });

    // Act
    const err = await refusal(guard.vet('weird.example', 587));

    // Assess
    expect(err.reason).toBe('invalid-address');
  });
});

describe('network guard: ports and security', () => {
  it.each([465, 587, 2525])('allows port %i', async (port) => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns });

    // Act
    const target = await guard.vet('93.184.216.34', port);

    // Assess
    expect(target.address).toBe('93.184.216.34');
  });

  it.each([25, 0, 80, 65536, 587.5, -1])('refuses port %s before any DNS lookup', async (port) => {
    // Prepare
    const resolve = fixedResolver({ 'smtp.acme.example': ['93.184.216.34'] });
    const guard = createNetworkGuard({ resolve });

    // Act
    const err = await refusal(guard.vet('smtp.acme.example', port));

    // Assess
    expect(err.reason).toBe('port');
    expect(resolve.calls).toEqual([]);
  });

  it('refuses security none and unknown securities, allows tls and starttls', () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns });

    // Act
    const none = () => guard.checkPort(587, 'none');
    const odd = () => guard.checkPort(587, 'ssl');

    // Assess
    expect(none).toThrow(HostRefusedError);
    expect(odd).toThrow(HostRefusedError);
    expect(() => guard.checkPort(465, 'tls')).not.toThrow();
    expect(() => guard.checkPort(587, 'starttls')).not.toThrow();
  });
});

describe('network guard: allowPrivate (local development)', () => {
  it.each(['127.0.0.1', '10.0.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fc00::1', '::ffff:127.0.0.1'])(
    'allows %s on any port',
    async (host) => {
      // Prepare
      const guard = createNetworkGuard({ resolve: noDns, allowPrivate: true });

      // Act
      const target = await guard.vet(host, 1025);

      // Assess
      expect(target.host).toBe(host);
    },
  );

  it.each([
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['::ffff:169.254.169.254', 'linkLocal'],
  ])('still refuses %s (%s)', async (host, reason) => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns, allowPrivate: true });

    // Act
    const err = await refusal(guard.vet(host, 1025));

    // Assess
    expect(err.reason).toBe(reason);
  });

  it('allows security none and still refuses port 0', () => {
    // Prepare
    const guard = createNetworkGuard({ resolve: noDns, allowPrivate: true });

    // Act
    const zero = () => guard.checkPort(0);

    // Assess
    expect(() => guard.checkPort(1025, 'none')).not.toThrow();
    expect(zero).toThrow(HostRefusedError);
  });
});

describe('isAddressAllowed', () => {
  it.each([
    ['93.184.216.34', false, true],
    ['2606:4700::1111', false, true],
    ['10.0.0.1', false, false],
    ['10.0.0.1', true, true],
    ['169.254.169.254', true, false],
    ['2002:5db8:d822::1', false, true],
  ])('%s with allowPrivate=%s → ok %s', (address, allowPrivate, ok) => {
    // Act
    const verdict = isAddressAllowed(address, allowPrivate);

    // Assess
    expect(verdict.ok).toBe(ok);
  });
});
