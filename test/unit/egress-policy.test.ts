/**
 * The egress guard's address policy and connect-time admission, with an injected resolver: only
 * public unicast addresses pass; loopback only for the local profile's own host and port.
 */
import { describe, expect, it } from 'vitest';
import { safeChromiumArgs } from '../../functions/adapters/browser-collector.js';
import { EgressGuard, type Resolver } from '../../functions/adapters/egress-guard.js';
import {
  addressRange,
  assertAddressAllowed,
  assertHostAllowed,
  assertLocalOverrides,
  EgressBlockedError,
  type EgressPolicy,
  resolveOrigin,
} from '../../functions/core/egress.js';

const policy: EgressPolicy = {
  allowedHosts: new Set(['api.partner.example', 'cdn.partner.example:8443', '[2001:db8::5]']),
  loopbackHosts: new Set(['demo.local:4000']),
};

function refusal(run: () => unknown): EgressBlockedError {
  try {
    run();
  } catch (error) {
    if (error instanceof EgressBlockedError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('assertAddressAllowed', () => {
  it.each(['8.8.8.8', '93.184.216.34', '2606:4700::1111'])('allows the public address %s', (address) => {
    expect(() => assertAddressAllowed('api.partner.example', 443, address, policy)).not.toThrow();
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.8', 'private'],
    ['172.16.4.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal (cloud metadata)'],
    ['169.254.10.10', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'ipv4Mapped'],
    ['::ffff:8.8.8.8', 'ipv4Mapped'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::', '6to4'],
    ['2001::1', 'teredo'],
    ['192.0.2.1', 'reserved'],
  ])('refuses %s (%s)', (address, range) => {
    const error = refusal(() => assertAddressAllowed('api.partner.example', 443, address, policy));

    expect(error.reason).toBe('egress-blocked');
    expect(error.message).toContain(`${address}, a ${range} address`);
  });

  it('allows this machine, and a private address it names literally, for the local profile host and port only', () => {
    const lan: EgressPolicy = {
      ...policy,
      loopbackHosts: new Set([...policy.loopbackHosts, '10.0.0.1:4000']),
    };
    expect(() => assertAddressAllowed('demo.local', 4000, '127.0.0.1', policy)).not.toThrow();
    expect(() => assertAddressAllowed('10.0.0.1', 4000, '10.0.0.1', lan)).not.toThrow();
    // A name of the local profile that resolves to the network could be rebound onto any of it.
    expect(() => assertAddressAllowed('demo.local', 4000, '10.0.0.1', policy)).toThrow(EgressBlockedError);
    expect(() => assertAddressAllowed('demo.local', 4001, '127.0.0.1', policy)).toThrow(EgressBlockedError);
    expect(() => assertAddressAllowed('demo.local', 4001, '10.0.0.1', policy)).toThrow(EgressBlockedError);
    expect(() => assertAddressAllowed('demo.local', 4000, '169.254.169.254', policy)).toThrow(
      EgressBlockedError,
    );
  });

  it('refuses something that is not an address', () => {
    expect(() => addressRange('not-an-ip')).toThrow(EgressBlockedError);
  });
});

describe('a source that declares private ranges', () => {
  const declared: EgressPolicy = {
    allowedHosts: new Set(['prices.corp.internal']),
    loopbackHosts: new Set(),
    privateCidrs: ['10.20.0.0/16', 'fd12:3456::/32'],
  };

  it('may connect to exactly those ranges besides public addresses', () => {
    expect(() => assertAddressAllowed('prices.corp.internal', 443, '10.20.5.9', declared)).not.toThrow();
    expect(() => assertAddressAllowed('prices.corp.internal', 443, 'fd12:3456::9', declared)).not.toThrow();
    expect(() => assertAddressAllowed('prices.corp.internal', 443, '93.184.216.34', declared)).not.toThrow();
  });

  it.each(['10.21.0.1', '192.168.1.1', '127.0.0.1', '169.254.169.254', '::1', 'fe80::1', '100.64.0.1'])(
    'is still refused %s',
    (address) => {
      expect(() => assertAddressAllowed('prices.corp.internal', 443, address, declared)).toThrow(
        /only public addresses and the source's private ranges \(10\.20\.0\.0\/16, fd12:3456::\/32\) are allowed/,
      );
    },
  );
});

describe('assertHostAllowed', () => {
  it('matches IPv6 literals with or without brackets', () => {
    expect(() => assertHostAllowed('[2001:db8::5]', 443, policy)).not.toThrow();
    expect(() => assertHostAllowed('2001:db8::5', 80, policy)).not.toThrow();
  });

  it('refuses a port the allowlist does not name', () => {
    expect(() => assertHostAllowed('cdn.partner.example', 443, policy)).toThrow(EgressBlockedError);
    expect(() => assertHostAllowed('cdn.partner.example', 8443, policy)).not.toThrow();
  });

  it('refuses a "host" that carries a port of its own, even when host:port is allowlisted', () => {
    const withPort: EgressPolicy = { allowedHosts: new Set(['127.0.0.1:18080']), loopbackHosts: new Set() };

    expect(refusal(() => assertHostAllowed('127.0.0.1:18080', 18099, withPort)).message).toContain(
      'not a host name',
    );
    expect(() => assertHostAllowed('cdn.partner.example:8443', 443, policy)).toThrow(EgressBlockedError);
  });

  it.each(['', 'a b.example', 'api.partner.example/x', 'api.partner.example@x', '[2001:db8::5'])(
    'refuses %j, which is no host name',
    (host) => {
      expect(() => assertHostAllowed(host, 443, policy)).toThrow(EgressBlockedError);
    },
  );

  it.each([0, 65_536, -1, 1.5, Number.NaN])('refuses port %d', (port) => {
    expect(() => assertHostAllowed('api.partner.example', port, policy)).toThrow(EgressBlockedError);
  });
});

describe('the local profile', () => {
  it('accepts overrides that point at loopback', () => {
    expect(assertLocalOverrides({ 'https://a.example': 'http://127.0.0.1:4000' })).toEqual({
      'https://a.example': 'http://127.0.0.1:4000',
    });
  });

  it.each([
    'http://169.254.169.254',
    'http://partner.example',
    'http://8.8.8.8:80',
    'http://127.0.0.1:4000/some/path',
    'ftp://127.0.0.1',
    'not a url',
  ])('refuses an override that points at %s', (target) => {
    expect(() => assertLocalOverrides({ 'https://a.example': target })).toThrow(
      /override for https:\/\/a\.example/,
    );
  });

  it.each([
    'http://127.0.0.1:8123',
    'http://localhost:8123',
    'http://[::1]:8123',
    'http://192.168.1.20:8080',
  ])('accepts an override to this machine or its network: %s', (target) => {
    expect(assertLocalOverrides({ 'https://a.example': target })).toEqual({ 'https://a.example': target });
  });

  it('allows loopback only for the overriding host and port', () => {
    const { policy: local } = resolveOrigin(
      { origin: 'https://a.example', allowedHosts: ['a.example'] },
      { 'https://a.example': 'http://127.0.0.1:4100' },
    );

    expect([...local.loopbackHosts]).toEqual(['127.0.0.1:4100']);
    expect(() => assertAddressAllowed('127.0.0.1', 4100, '127.0.0.1', local)).not.toThrow();
    expect(() => assertAddressAllowed('127.0.0.1', 22, '127.0.0.1', local)).toThrow(EgressBlockedError);
  });
});

describe('EgressGuard.admit', () => {
  const answers =
    (...addresses: string[]): Resolver =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);

  it('answers the one address it resolved and checked', async () => {
    const guard = new EgressGuard(policy, answers('93.184.216.34'));

    await expect(guard.admit('api.partner.example', 443)).resolves.toEqual({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('refuses a name when any of its answers is not public', async () => {
    const guard = new EgressGuard(policy, answers('93.184.216.34', '10.1.1.1'));

    await expect(guard.admit('api.partner.example', 443)).rejects.toThrow('10.1.1.1, a private address');
    expect(guard.refusals).toEqual([
      { target: 'api.partner.example:443', reason: expect.stringContaining('10.1.1.1') },
    ]);
  });

  it('asks the resolver once per admission', async () => {
    let lookups = 0;
    const guard = new EgressGuard(policy, async () => {
      lookups += 1;
      return [{ address: '8.8.8.8', family: 4 }];
    });

    await guard.admit('api.partner.example', 443);

    expect(lookups).toBe(1);
  });

  it('never resolves a literal address, and still checks it', async () => {
    const guard = new EgressGuard(
      { allowedHosts: new Set(['10.0.0.5']), loopbackHosts: new Set() },
      async () => {
        throw new Error('a literal must not be resolved');
      },
    );

    await expect(guard.admit('10.0.0.5', 80)).rejects.toThrow('a private address');
  });

  it('refuses a host off the allowlist before resolving it', async () => {
    const guard = new EgressGuard(policy, async () => {
      throw new Error('must not resolve');
    });

    await expect(guard.admit('evil.example', 443)).rejects.toThrow("not on the source's allowlist");
  });

  it('refuses a name that resolves to nothing', async () => {
    await expect(new EgressGuard(policy, answers()).admit('api.partner.example', 443)).rejects.toThrow(
      'resolved to no address',
    );
  });
});

describe('safeChromiumArgs', () => {
  it('drops the unsafe defaults and keeps WebRTC and QUIC off the network', () => {
    const args = safeChromiumArgs([
      '--disable-web-security',
      '--allow-running-insecure-content',
      '--single-process',
      '--no-sandbox',
    ]);

    expect(args).toEqual([
      '--no-sandbox',
      '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
      '--webrtc-ip-handling-policy=disable_non_proxied_udp',
      '--disable-quic',
    ]);
  });
});
