/**
 * Dependencies that must move together. playwright-core drives the Chromium that
 * @sparticuz/chromium ships, and supports only the Chromium its own release was built against;
 * Powertools packages share a `commons` package and must be one version, or two copies of it
 * end up in every bundle.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const PackageJson = z.object({
  version: z.string(),
  dependencies: z.record(z.string(), z.string()).default({}),
  devDependencies: z.record(z.string(), z.string()).default({}),
});
const Lockfile = z.object({
  packages: z.record(z.string(), z.object({ version: z.string().optional() })),
});
const PlaywrightBrowsers = z.object({
  browsers: z.array(z.object({ name: z.string(), browserVersion: z.string().optional() })),
});

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, path), 'utf8'));
}

const project = PackageJson.parse(readJson('package.json'));
const declared = { ...project.dependencies, ...project.devDependencies };
const lockfile = Lockfile.parse(readJson('package-lock.json'));

function installedVersion(name: string): string {
  return PackageJson.parse(readJson(`node_modules/${name}/package.json`)).version;
}

function major(version: string): number {
  const found = /^(\d+)\./.exec(version)?.[1];
  if (found === undefined) throw new Error(`not a version: ${version}`);
  return Number(found);
}

describe('playwright-core and @sparticuz/chromium', () => {
  it('are pinned to exact versions, and those are the versions installed', () => {
    const pins = ['playwright-core', '@sparticuz/chromium'].map((name) => [
      name,
      declared[name],
      installedVersion(name),
    ]);

    expect(pins).toEqual(pins.map(([name, , installed]) => [name, installed, installed]));
  });

  it('agree on the Chromium major: the one playwright-core was built for is the one @sparticuz/chromium ships', () => {
    const browsers = PlaywrightBrowsers.parse(readJson('node_modules/playwright-core/browsers.json'));
    const expected = browsers.browsers.find((browser) => browser.name === 'chromium')?.browserVersion;

    // @sparticuz/chromium's major version is the major of the Chromium it ships.
    expect(major(installedVersion('@sparticuz/chromium'))).toBe(major(expected ?? 'none'));
  });
});

describe('Powertools for AWS Lambda', () => {
  const POWERTOOLS = '@aws-lambda-powertools/';

  it('is declared at one exact version for every package', () => {
    const ranges = Object.entries(declared).filter(([name]) => name.startsWith(POWERTOOLS));
    const [first] = ranges;

    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges).toEqual(ranges.map(([name]) => [name, first?.[1]]));
    expect(first?.[1]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('is installed once, at that version: no nested copy of any Powertools package', () => {
    const version = Object.entries(declared).find(([name]) => name.startsWith(POWERTOOLS))?.[1];
    const installed = Object.entries(lockfile.packages)
      .filter(([path]) => path.includes(`node_modules/${POWERTOOLS}`))
      .map(([path, entry]) => [path, entry.version]);

    expect(installed.length).toBeGreaterThan(0);
    expect(installed).toEqual(
      installed.map(([path]) => [
        `node_modules/${POWERTOOLS}${path?.split(`node_modules/${POWERTOOLS}`).at(-1)}`,
        version,
      ]),
    );
  });
});
