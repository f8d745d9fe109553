import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceName } from '../../../functions/core/contracts.js';
import { PROJECT_ROOT } from '../../../local/paths.js';
import { findParser, parsers } from '../../../sources/parsers.js';
import { findSource, fixtureSources, sources } from '../../../sources/registry.js';

/** decideRetry adds up to +20% jitter to each delay. */
const MAX_JITTER = 1.2;

describe('the source registry and the parser list', () => {
  it('registers at least one source', () => {
    expect(sources.length).toBeGreaterThan(0);
  });

  it('gives every source a unique name', () => {
    const names = sources.map((s) => s.name);

    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every parser a unique source name', () => {
    const names = parsers.map((p) => p.source);

    expect(new Set(names).size).toBe(names.length);
  });

  it.each(sources.map((s) => [s.name]))('has a parser for the source %s', (name) => {
    expect(findParser(name)?.source).toBe(name);
  });

  it.each(parsers.map((p) => [p.source]))('has a source for the parser %s', (name) => {
    expect(findSource(name)?.name).toBe(name);
  });

  it.each(sources.map((s) => [s.name]))('names %s the way a CollectJob must', (name) => {
    expect(SourceName.safeParse(name).success).toBe(true);
  });

  it('lists every source folder (a folder with a source.ts), and its parser', () => {
    const folders = readdirSync(join(PROJECT_ROOT, 'sources'), { withFileTypes: true })
      .filter(
        (entry) => entry.isDirectory() && existsSync(join(PROJECT_ROOT, 'sources', entry.name, 'source.ts')),
      )
      .map((entry) => entry.name);
    const registered = new Set([...sources, ...fixtureSources].map((s) => s.name));

    for (const folder of folders) {
      expect(
        registered.has(folder),
        `sources/${folder}: add it to sources/registry.ts and its parser to sources/parsers.ts (npx sluice new-source does both)`,
      ).toBe(true);
      expect(findParser(folder), `sources/${folder}: add its parser to sources/parsers.ts`).toBeDefined();
    }
  });

  it('answers undefined for a source that is not registered', () => {
    expect(findSource('no-such-source')).toBeUndefined();
    expect(findParser('no-such-source')).toBeUndefined();
  });

  it.each(sources.map((s) => [s.name, s] as const))(
    '%s surfaces a persistent failure within half its freshness SLA',
    (_, source) => {
      const worstCaseSeconds = source.retry.delaysSeconds.reduce((sum, d) => sum + d * MAX_JITTER, 0);

      expect(worstCaseSeconds).toBeLessThanOrEqual((source.freshnessSlaMinutes * 60) / 2);
    },
  );
});
