import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeOriginOverrides, readTargets, sourceGlob, TargetError } from '../../../local/targets.js';
import { demoCatalog } from '../../../sources/demo-catalog/source.js';
import { findSource } from '../../../sources/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-targets-'));
const file = join(dir, 'targets.json');
const none = join(dir, 'absent.json');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local targets', () => {
  it('maps a source to a site on this machine, from a flag', () => {
    expect(readTargets(['demo-catalog=http://127.0.0.1:8123'], findSource, none)).toEqual([
      {
        source: 'demo-catalog',
        origin: demoCatalog.origin,
        url: 'http://127.0.0.1:8123',
        from: '--target demo-catalog=http://127.0.0.1:8123',
      },
    ]);
  });

  it('reads .sluice/targets.json, and a flag wins over it for the same source', () => {
    writeFileSync(
      file,
      JSON.stringify({ 'demo-catalog': 'http://127.0.0.1:1111', 'demo-rates': 'http://localhost:2222' }),
    );

    const targets = readTargets(['demo-catalog=http://192.168.1.20:8080'], findSource, file);

    expect(Object.fromEntries(targets.map((t) => [t.source, t.url]))).toEqual({
      'demo-catalog': 'http://192.168.1.20:8080',
      'demo-rates': 'http://localhost:2222',
    });
  });

  it.each([
    ['no-such-source=http://127.0.0.1:1', /there is no source "no-such-source"/],
    ['demo-catalog=https://example.com', /must point at this machine .* or a private address of its network/],
    ['demo-catalog=http://169.254.169.254', /must point at this machine/],
    ['demo-catalog', /--target must be <source>=<url>/],
  ])('refuses %s', (flag, message) => {
    expect(() => readTargets([flag], findSource, none)).toThrow(message);
  });
});

describe('SLUICE_ORIGIN_OVERRIDES set in the shell', () => {
  const demo = { [demoCatalog.origin]: 'http://127.0.0.1:4000' };
  const target = readTargets(['demo-rates=http://127.0.0.1:8123'], findSource, none);

  it('is merged with the demo site and the targets, never dropped', () => {
    const shell = JSON.stringify({ 'https://intranet.example': 'http://10.1.2.3:80' });

    expect(mergeOriginOverrides(demo, shell, target)).toEqual({
      ...demo,
      'https://intranet.example': 'http://10.1.2.3:80',
      'https://rates.demo.sluice.example': 'http://127.0.0.1:8123',
    });
  });

  it('is refused, naming both, when it sends a target origin somewhere else', () => {
    const shell = JSON.stringify({ 'https://rates.demo.sluice.example': 'http://127.0.0.1:9999' });

    expect(() => mergeOriginOverrides(demo, shell, target)).toThrow(
      /rates\.demo\.sluice\.example \(demo-rates\) is sent to http:\/\/127\.0\.0\.1:9999 by SLUICE_ORIGIN_OVERRIDES in your shell and to http:\/\/127\.0\.0\.1:8123 by --target/,
    );
  });

  it('is refused when it is not JSON, or points off this machine and its network', () => {
    expect(() => mergeOriginOverrides(demo, 'nope', [])).toThrow(TargetError);
    expect(() =>
      mergeOriginOverrides(demo, JSON.stringify({ 'https://a.example': 'https://evil.example' }), []),
    ).toThrow(/must point at this machine/);
  });
});

describe('--sources', () => {
  it('matches names by glob, several separated by commas', () => {
    const only = sourceGlob('demo-c*,acme-prices');

    expect(['demo-catalog', 'acme-prices', 'demo-rates', 'acme-prices-2'].map(only)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});
