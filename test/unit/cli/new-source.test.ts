/**
 * `sluice new-source`'s files for every kind and login it offers: the definition passes
 * `defineSource` (a complete workflow, a valid allowlist), it signs in as asked, and the parser
 * reads the sample into valid records with non-ASCII intact. The files are written to a scratch
 * copy of the `sources/` layout (define.ts and workflow.ts linked in), not into the registry.
 * That the default scaffold passes the whole `npm test` is checked by hand on a fresh clone (see
 * docs/own-sources.md); this test covers the combinations.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type NewSourceOptions, scaffoldFiles } from '../../../cli/commands/new-source.js';
import { PROJECT_ROOT, SCRATCH_DIR } from '../../../local/paths.js';
import { credentialShapeOf, type SourceDefinition, type SourceParser } from '../../../sources/define.js';

mkdirSync(SCRATCH_DIR, { recursive: true });
const scratch = mkdtempSync(join(SCRATCH_DIR, 'scaffold-'));
mkdirSync(join(scratch, 'sources'));
for (const shared of ['define.ts', 'workflow.ts']) {
  symlinkSync(join(PROJECT_ROOT, 'sources', shared), join(scratch, 'sources', shared));
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CASES: readonly (NewSourceOptions & { shape: 'token' | 'login' | undefined })[] = [
  { name: 'plain-json', kind: 'http', shape: undefined },
  { name: 'token-json', kind: 'http', login: 'bearer', shape: 'token' },
  { name: 'basic-json', kind: 'http', login: 'basic', shape: 'login' },
  { name: 'form-json', kind: 'http', login: 'form', shape: 'login' },
  { name: 'plain-page', kind: 'browser', shape: undefined },
  { name: 'portal-page', kind: 'browser', login: 'form', shape: 'login' },
  { name: 'portal-export', kind: 'browser', login: 'form', download: true, shape: 'login' },
];

describe.each(CASES)('new-source $name --kind $kind --login $login', (options) => {
  it('writes a definition that defineSource accepts and a parser that reads its sample', async () => {
    const files = scaffoldFiles({ ...options, origin: 'https://supplier.example.com' });
    for (const [path, content] of files) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), content);
    }
    const folder = join(scratch, 'sources', options.name as string);
    // The one export that is a definition (has a name) or a parser (names its source).
    const exported = (module: object, key: 'name' | 'source') =>
      Object.values(module).find((value) => typeof value === 'object' && value !== null && key in value);

    const source = exported(
      await import(pathToFileURL(join(folder, 'source.ts')).href),
      'name',
    ) as SourceDefinition;
    const parser = exported(
      await import(pathToFileURL(join(folder, 'parser.ts')).href),
      'source',
    ) as SourceParser;

    expect(source.name).toBe(options.name);
    expect(source.kind).toBe(options.kind);
    expect(source.allowedHosts).toEqual(['supplier.example.com']);
    expect(credentialShapeOf(source)).toBe(options.shape);
    if (source.kind === 'browser')
      expect(source.browse({}).download !== undefined).toBe(options.download === true);
    const sample = [...files].find(([path]) => path.includes('fixtures'))?.[1] ?? '';
    const records = parser.parse(Buffer.from(sample), {
      finalUrl: 'https://supplier.example.com/',
      contentType: '',
    });
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const record of records) expect(parser.record.safeParse(record.data).success).toBe(true);
    expect(records.map((r) => (r.data as { name: string }).name)).toContain('Café Ünïcode');
  });
});

describe('new-source refuses', () => {
  it.each([
    [{ name: 'Bad Name', kind: 'http' }, /is not a source name/],
    [{ name: 'ok', kind: 'ftp' }, /--kind must be http or browser/],
    [{ name: 'ok', kind: 'browser', login: 'bearer' }, /signs in through its login form/],
    [{ name: 'ok', kind: 'http', download: true }, /--download is for browser sources/],
    [{ name: 'ok', kind: 'http', origin: 'https://x.example.com/api' }, /must be an origin/],
  ] as const)('%o', (options, message) => {
    expect(() => scaffoldFiles(options)).toThrow(message);
  });
});
