import { describe, expect, it } from 'vitest';
import {
  assertUrlAllowed,
  EgressBlockedError,
  type EgressPolicy,
  resolveOrigin,
} from '../../../../functions/core/egress.js';
import { PermanentError } from '../../../../functions/core/errors.js';

const policy: EgressPolicy = {
  allowedHosts: new Set(['catalog.demo.sluice.example', 'api.demo.sluice.example:8443']),
  loopbackHosts: new Set(),
};

function refusal(url: string, against: EgressPolicy = policy): unknown {
  try {
    assertUrlAllowed(url, against);
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('assertUrlAllowed', () => {
  it('allows an https URL to an allowlisted host', () => {
    const url = assertUrlAllowed('https://catalog.demo.sluice.example/catalog/tools?page=1', policy);

    expect(url.href).toBe('https://catalog.demo.sluice.example/catalog/tools?page=1');
  });

  it('allows plain http to an allowlisted host', () => {
    expect(assertUrlAllowed('http://catalog.demo.sluice.example/', policy).hostname).toBe(
      'catalog.demo.sluice.example',
    );
  });

  it('accepts a URL object as well as a string', () => {
    const url = new URL('https://catalog.demo.sluice.example/');

    expect(assertUrlAllowed(url, policy)).toBe(url);
  });

  it('allows an allowlisted host whatever the case of the URL', () => {
    expect(assertUrlAllowed('https://CATALOG.Demo.Sluice.Example/', policy).host).toBe(
      'catalog.demo.sluice.example',
    );
  });

  it('allows a host allowlisted with its port on that port', () => {
    expect(assertUrlAllowed('https://api.demo.sluice.example:8443/v1', policy).port).toBe('8443');
  });

  it('allows any port on a host allowlisted by name alone', () => {
    expect(assertUrlAllowed('https://catalog.demo.sluice.example:8080/', policy).host).toBe(
      'catalog.demo.sluice.example:8080',
    );
  });

  it('refuses a host allowlisted with a port on another port', () => {
    expect(refusal('https://api.demo.sluice.example:9000/v1')).toBeInstanceOf(EgressBlockedError);
  });

  it('refuses a host allowlisted with a port on the default port', () => {
    expect(refusal('https://api.demo.sluice.example/v1')).toBeInstanceOf(EgressBlockedError);
  });

  it.each([
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'javascript:alert(1)',
    'ftp://catalog.demo.sluice.example/pub',
  ])('refuses the non-http URL %s', (url) => {
    const error = refusal(url);

    expect(error).toBeInstanceOf(EgressBlockedError);
    expect(error).toMatchObject({ reason: 'egress-blocked', message: expect.stringContaining('scheme') });
  });

  it('refuses a URL carrying credentials, even to an allowlisted host', () => {
    const error = refusal('https://admin:hunter2@catalog.demo.sluice.example/');

    expect(error).toMatchObject({
      reason: 'egress-blocked',
      message: expect.stringContaining('credentials'),
    });
  });

  it('keeps the password out of the refusal message', () => {
    expect(refusal('https://admin:hunter2@catalog.demo.sluice.example/')).not.toMatchObject({
      message: expect.stringContaining('hunter2'),
    });
  });

  it('refuses a host that is not on the allowlist', () => {
    const error = refusal('https://169.254.169.254/latest/meta-data/');

    expect(error).toMatchObject({ reason: 'egress-blocked', message: expect.stringContaining('allowlist') });
  });

  it('refuses a host that only ends with an allowlisted name', () => {
    expect(refusal('https://evil-catalog.demo.sluice.example.attacker.test/')).toBeInstanceOf(
      EgressBlockedError,
    );
  });

  it('refuses a string that is not a URL', () => {
    expect(refusal('not a url')).toMatchObject({ reason: 'egress-blocked' });
  });

  it('makes a refusal permanent, so the job is dead-lettered and not retried', () => {
    expect(refusal('file:///etc/passwd')).toBeInstanceOf(PermanentError);
  });
});

describe('resolveOrigin', () => {
  const source = {
    origin: 'https://catalog.demo.sluice.example',
    allowedHosts: ['Catalog.Demo.Sluice.Example', 'cdn.demo.sluice.example'],
  };

  it("uses the source's production origin and allowlist without an override", () => {
    const { origin, policy: resolved } = resolveOrigin(source, {});

    expect(origin).toBe('https://catalog.demo.sluice.example');
    expect([...resolved.allowedHosts].sort()).toEqual([
      'catalog.demo.sluice.example',
      'cdn.demo.sluice.example',
    ]);
  });

  it('lets nothing resolve to loopback without an override', () => {
    expect(resolveOrigin(source, {}).policy.loopbackHosts.size).toBe(0);
  });

  it('ignores overrides for other origins', () => {
    const { origin } = resolveOrigin(source, {
      'https://rates.demo.sluice.example': 'http://127.0.0.1:4000',
    });

    expect(origin).toBe('https://catalog.demo.sluice.example');
  });

  it('collects from the local origin when an override names the production origin', () => {
    const { origin, policy: resolved } = resolveOrigin(source, {
      'https://catalog.demo.sluice.example': 'http://127.0.0.1:43123',
    });

    expect(origin).toBe('http://127.0.0.1:43123');
    expect([...resolved.allowedHosts]).toEqual(['127.0.0.1:43123']);
    expect([...resolved.loopbackHosts]).toEqual(['127.0.0.1:43123']);
  });

  it('allows only the local host and port under an override', () => {
    const { policy: resolved } = resolveOrigin(source, {
      'https://catalog.demo.sluice.example': 'http://127.0.0.1:43123',
    });

    expect(assertUrlAllowed('http://127.0.0.1:43123/catalog/tools', resolved).port).toBe('43123');
    expect(refusal('http://127.0.0.1:22/', resolved)).toBeInstanceOf(EgressBlockedError);
    expect(refusal('https://catalog.demo.sluice.example/', resolved)).toBeInstanceOf(EgressBlockedError);
  });
});
