/**
 * Fuzzing every source parser with the raw bodies a source could send: its real answers cut short,
 * spliced, repeated and sprinkled with random bytes, or (JSON) with their lists emptied and their
 * items' fields replaced; random bytes and text; and CSV and JSON edge cases. Whatever the body, reading it (functions/core/transform-manifest.ts readObservations)
 * either yields records that passed the source's schema, or fails with InvalidOutputError
 * (parse-failed, no-records, records-invalid), which the transform hands to a person with the raw
 * key. Never an unclassified crash, never a record that escaped validation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOutputError, readObservations } from '../../../functions/core/transform-manifest.js';
import { INVENTORY_COLUMNS } from '../../../local/demo-site/exports.js';
import type { SourceParser } from '../../../sources/define.js';
import { findParser, parsers } from '../../../sources/parsers.js';
import { rawFixtures, type SourceFixture } from '../../support/source-fixtures.js';
import { InMemoryRawStore, storeCollection } from '../../support/transform-fakes.js';

/**
 * Real bodies of each source, as its collector stores them: the raw fixtures of its folder
 * (`sources/<name>/fixtures/`), so a source added to the registry is fuzzed without editing this
 * file; one without fixtures fails here, saying what to add.
 */
const fixtures = new Map(parsers.map((p) => [p.source, fixtureSafely(p.source)] as const));

function fixtureSafely(source: string): readonly SourceFixture[] | Error {
  try {
    return rawFixtures(source);
  } catch (error) {
    return error as Error;
  }
}

function realBodiesOf(source: string): readonly Buffer[] {
  const found = fixtures.get(source);
  return found === undefined || found instanceof Error ? [Buffer.alloc(0)] : found.map((f) => f.body);
}

/** The content type a source's bodies are stored with (its first fixture's). */
function contentTypeOf(source: string): string {
  const found = fixtures.get(source);
  return found === undefined || found instanceof Error
    ? 'text/html; charset=utf-8'
    : (found[0]?.contentType ?? 'text/html; charset=utf-8');
}

// ---- Bodies --------------------------------------------------------------------------------------

const someText = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));

/** One change to a body; several in a row make a page no source would send on purpose. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat({ max: 400 }) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.nat({ max: 400 }),
    times: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('text' as const), at: fc.nat(), text: someText }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(body: Buffer, change: Mutation): Buffer {
  const at = body.length === 0 ? 0 : change.at % body.length;
  switch (change.kind) {
    case 'truncate':
      return body.subarray(0, at);
    case 'delete':
      return Buffer.concat([body.subarray(0, at), body.subarray(at + change.length)]);
    case 'duplicate': {
      const slice = body.subarray(at, at + change.length);
      return Buffer.concat([
        body.subarray(0, at),
        ...Array.from({ length: change.times }, () => slice),
        body.subarray(at),
      ]);
    }
    case 'insert':
      return Buffer.concat([body.subarray(0, at), Buffer.from(change.bytes), body.subarray(at)]);
    case 'text':
      return Buffer.concat([body.subarray(0, at), Buffer.from(change.text, 'utf8'), body.subarray(at)]);
    case 'flip': {
      const copy = Buffer.from(body);
      if (copy.length > 0) copy[at] = (copy[at] ?? 0) ^ (1 << change.bit);
      return copy;
    }
  }
}

const mutatedReal = (source: string) =>
  fc
    .tuple(fc.constantFrom(...realBodiesOf(source)), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([body, changes]) => changes.reduce(mutate, body));

/** Every array in a JSON value emptied. */
function emptied(value: unknown): unknown {
  if (Array.isArray(value)) return [];
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, emptied(inner)]));
}

/** The `n`-th field of the first item of every list of objects in a JSON value set to `replacement`. */
function refielded(value: unknown, n: number, replacement: unknown): unknown {
  if (Array.isArray(value)) {
    const [first, ...rest] = value;
    if (first === null || typeof first !== 'object' || Array.isArray(first))
      return value.map((v) => refielded(v, n, replacement));
    const keys = Object.keys(first);
    const key = keys[n % Math.max(keys.length, 1)];
    return [key === undefined ? first : { ...first, [key]: replacement }, ...rest];
  }
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, refielded(inner, n, replacement)]),
  );
}

/** A value few record fields accept. */
const unlikelyField = fc.constantFrom<unknown>(null, {}, [], '', -1, 0.5, true, 'x'.repeat(600), '\u0000');

/**
 * The source's own JSON answers, reshaped: every list emptied (no records, in whatever envelope
 * the source's API uses) or one field of an item replaced by a value few fields accept (most
 * often an invalid record). Undefined for a source whose fixtures are not JSON.
 */
const reshapedReal = (source: string) => {
  const documents = realBodiesOf(source).flatMap((body) => {
    try {
      return [JSON.parse(body.toString('utf8')) as unknown];
    } catch {
      return [];
    }
  });
  if (documents.length === 0) return undefined;
  return fc
    .tuple(fc.constantFrom(...documents), fc.boolean(), fc.nat(), unlikelyField)
    .map(([document, empty, n, replacement]) =>
      Buffer.from(JSON.stringify(empty ? emptied(document) : refielded(document, n, replacement)), 'utf8'),
    );
};

const csvField = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    '"',
    '""',
    '"a""b"',
    '"unterminated',
    'a\r\nb',
    '1,234',
    '-5',
    'n/a',
    '1e309',
    '__proto__',
    '=cmd()',
  ),
);

/** CSV that looks like an inventory export and is not quite one. */
const csvEdge = fc
  .tuple(
    fc.oneof(
      fc.constant([...INVENTORY_COLUMNS]),
      fc.shuffledSubarray([...INVENTORY_COLUMNS, '__proto__', 'sku', 'extra']),
      fc.array(csvField, { maxLength: 10 }),
    ),
    fc.array(fc.array(csvField, { maxLength: 10 }), { maxLength: 20 }),
    fc.constantFrom('\r\n', '\n', '\r'),
    fc.boolean(),
  )
  .map(([header, rows, newline, bom]) =>
    Buffer.from(`${bom ? '\uFEFF' : ''}${[header, ...rows].map((r) => r.join(',')).join(newline)}`, 'utf8'),
  );

/** JSON that looks like a shipments page and is not quite one. */
const jsonEdge = fc
  .oneof(
    fc.jsonValue(),
    fc.record({ data: fc.array(fc.jsonValue(), { maxLength: 5 }), meta: fc.jsonValue() }),
    fc.constantFrom(
      '{"data":[],"meta":{"page":1,"total_pages":0}}',
      '{"__proto__":{"data":[]}}',
      '[]',
      'null',
      '1e309',
      '"',
    ),
  )
  .map((value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8'));

/** Markup with the classes and attributes the HTML parsers look for, holding anything. */
const htmlEdge = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'li class="product"',
        'tr class="rate-row"',
        'tr class="statement"',
        'p',
        'main id="statements"',
        'h1 class="category"',
      ),
      fc.constantFrom(
        'data-sku',
        'data-pair',
        'data-period',
        'data-record',
        'data-account',
        'data-category',
        'data-status',
        'data-reference',
      ),
      someText,
      someText,
    ),
    { maxLength: 20 },
  )
  .map((elements) =>
    Buffer.from(
      elements
        .map(
          ([tag, attribute, value, text]) =>
            `<${tag} ${attribute}="${value.replace(/"/g, '&quot;')}">${text}</${tag.split(' ')[0]}>`,
        )
        .join('\n'),
      'utf8',
    ),
  );

const rawBody = (source: string) => {
  const reshaped = reshapedReal(source);
  return fc.oneof(
    ...(reshaped === undefined ? [] : [{ weight: 2, arbitrary: reshaped }]),
    { weight: 5, arbitrary: mutatedReal(source) },
    { weight: 1, arbitrary: fc.constantFrom(...realBodiesOf(source)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: someText.map((text) => Buffer.from(text, 'utf8')) },
    { weight: 2, arbitrary: csvEdge },
    { weight: 2, arbitrary: jsonEdge },
    { weight: 2, arbitrary: htmlEdge },
  );
};

// ---- Reading ------------------------------------------------------------------------------------

async function read(parser: SourceParser, body: Buffer) {
  const rawStore = new InMemoryRawStore();
  const manifestKey = await storeCollection(rawStore, {
    source: parser.source,
    body,
    contentType: contentTypeOf(parser.source),
    observedAt: new Date('2026-11-27T08:00:00.000Z'),
    fetchId: '20261127T080000000Z-fuzz',
    jobKey: 'id-fuzz',
  });
  try {
    return { observations: (await readObservations(manifestKey, { rawStore, findParser })).observations };
  } catch (error) {
    return { error };
  }
}

describe('every source parser, fuzzed', () => {
  it.each(parsers.map((p) => [p.source] as const))(
    '%s: has raw fixtures in its folder, and each reads into valid records',
    async (source) => {
      const found = fixtures.get(source);
      if (found instanceof Error) throw found;
      const parser = findParser(source);
      if (parser === undefined) throw new Error(`no parser for ${source}`);
      for (const fixture of found ?? []) {
        const result = await read(parser, fixture.body);
        expect(
          'error' in result ? result.error : undefined,
          `${source}/fixtures/${fixture.name}`,
        ).toBeUndefined();
        expect(result.observations?.length ?? 0).toBeGreaterThan(0);
      }
    },
  );

  it.each(parsers.map((p) => [p.source, p] as const))(
    '%s: any body yields validated records or a hand-off, never an unclassified crash',
    async (_source, parser) => {
      const reasons = new Set<string>();
      await fc.assert(
        fc.asyncProperty(rawBody(parser.source), async (body) => {
          const result = await read(parser, body);
          if ('error' in result) {
            expect(result.error).toBeInstanceOf(InvalidOutputError);
            const invalid = result.error as InvalidOutputError;
            expect(['parse-failed', 'no-records', 'records-invalid']).toContain(invalid.reason);
            expect(invalid.rawKey).toMatch(/\/response\.bin$/);
            reasons.add(invalid.reason);
            return;
          }
          reasons.add('records');
          const ids = result.observations.map((o) => o.entityId);
          expect(new Set(ids).size).toBe(ids.length);
          for (const observation of result.observations) {
            expect(observation.entityId).not.toBe('');
            expect(parser.record.safeParse(observation.data).success).toBe(true);
          }
        }),
        { seed: 27, numRuns: 150 },
      );
      // Every outcome is reached: the fuzzing is not stuck on one kind of failure.
      expect([...reasons]).toEqual(expect.arrayContaining(['records', 'no-records', 'records-invalid']));
      // CSV and JSON parsers throw on a malformed body; the HTML ones read whatever markup is there.
      if (/csv|json/.test(contentTypeOf(parser.source))) expect(reasons).toContain('parse-failed');
    },
    60_000,
  );
});
