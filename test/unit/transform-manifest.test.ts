/** The transform core with in-memory fakes of its ports: validation before any write, and plan mode. */
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../../functions/core/errors.js';
import type { RecordState } from '../../functions/core/record-upsert.js';
import {
  InvalidOutputError,
  type PlanningRecords,
  planManifest,
  RecentWrites,
  recordStateOf,
  transformManifest,
} from '../../functions/core/transform-manifest.js';
import { defineParser, type SourceParser } from '../../sources/define.js';
import { InMemoryRawStore, InMemoryRecordStore, storeCollection } from '../support/transform-fakes.js';

const Item = z.object({ id: z.string().regex(/^I-\d+$/), qty: z.number().int().nonnegative() }).strict();

/** Lines of `id,qty`; the rule under test is "qty is the number after the comma". */
function itemsParser(options: { revision?: number; qtyRule?: (text: string) => number } = {}): SourceParser {
  const qtyRule = options.qtyRule ?? Number;
  return defineParser({
    source: 'unit-items',
    revision: options.revision ?? 1,
    record: Item,
    parse(body) {
      const text = body.toString('utf8').trim();
      if (text.startsWith('{')) throw new Error('unexpected JSON where lines were expected');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [id = '', qty = ''] = line.split(',');
          return { entityId: id, data: { id, qty: qtyRule(qty) } };
        });
    },
  });
}

let rawStore: InMemoryRawStore;
let recordStore: InMemoryRecordStore;

beforeEach(() => {
  rawStore = new InMemoryRawStore();
  recordStore = new InMemoryRecordStore();
});

let fetches = 0;
async function collect(body: string, observedAt = new Date('2026-11-27T08:00:00.000Z')): Promise<string> {
  fetches += 1;
  return storeCollection(rawStore, {
    source: 'unit-items',
    body,
    contentType: 'text/plain',
    observedAt,
    fetchId: `${observedAt.toISOString().replace(/[-:.]/g, '')}-${String(fetches).padStart(4, '0')}`,
    jobKey: 'id-unit',
  });
}

const deps = (parser: SourceParser = itemsParser()) => ({
  rawStore,
  recordStore,
  findParser: (source: string) => (source === parser.source ? parser : undefined),
});

describe('transformManifest', () => {
  it('upserts every validated record with the lineage of the raw object', async () => {
    const key = await collect('I-1,5\nI-2,7\n');

    const result = await transformManifest(key, deps());

    expect(result.counts).toEqual({ created: 2, updated: 0, unchanged: 0, stale: 0 });
    const record = await recordStore.get('unit-items#I-1');
    expect(record?.data).toEqual({ id: 'I-1', qty: 5 });
    expect(record?.rawKey).toBe(key.replace(/manifest\.json$/, 'response.bin'));
    expect(record?.parserRevision).toBe(1);
  });

  it('writes nothing at all when one record fails its schema, and names the raw key and the issues', async () => {
    const key = await collect('I-1,5\nbad-id,7\nI-3,-1\n');

    const error = await transformManifest(key, deps()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidOutputError);
    const invalid = error as InvalidOutputError;
    expect(invalid.reason).toBe('records-invalid');
    expect(invalid.rawKey).toBe(key.replace(/manifest\.json$/, 'response.bin'));
    expect(invalid.issues).toEqual([
      '#1 (bad-id): id: Invalid string: must match pattern /^I-\\d+$/',
      '#2 (I-3): qty: Too small: expected number to be >=0',
    ]);
    expect(recordStore.upserts).toHaveLength(0);
  });

  it('hands off a raw object the parser cannot read instead of retrying it', async () => {
    const key = await collect('{"not":"lines"}');

    const error = await transformManifest(key, deps()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidOutputError);
    expect((error as InvalidOutputError).reason).toBe('parse-failed');
    expect((error as InvalidOutputError).issues).toEqual(['unexpected JSON where lines were expected']);
  });

  it('treats an entity appearing twice in one observation as invalid output', async () => {
    const key = await collect('I-1,5\nI-1,6\n');

    await expect(transformManifest(key, deps())).rejects.toMatchObject({ reason: 'records-invalid' });
    expect(recordStore.upserts).toHaveLength(0);
  });

  it('dead-letters a raw object that does not match its manifest checksum', async () => {
    const key = await collect('I-1,5\n');
    const rawKey = key.replace(/manifest\.json$/, 'response.bin');
    const original = await rawStore.get(rawKey);
    rawStore.objects.set(rawKey, { ...original, body: Buffer.from('I-1,6\n') });

    const error = await transformManifest(key, deps()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).reason).toBe('raw-checksum-mismatch');
  });

  it('tries first the write the previous records of the same raw object needed', async () => {
    const first = await collect(Array.from({ length: 10 }, (_, i) => `I-${i},1`).join('\n'));
    await transformManifest(first, { ...deps(), writeConcurrency: 4 });
    expect(recordStore.upserts.map((u) => u.options.firstAttempt)).toEqual([
      ...Array(4).fill('touch'),
      ...Array(6).fill('data'),
    ]);

    recordStore.upserts.length = 0;
    const again = await collect(
      Array.from({ length: 10 }, (_, i) => `I-${i},1`).join('\n'),
      new Date('2026-11-27T09:00:00.000Z'),
    );
    const result = await transformManifest(again, { ...deps(), writeConcurrency: 4 });
    expect(result.counts.unchanged).toBe(10);
    expect(recordStore.upserts.map((u) => u.options.firstAttempt)).toEqual(Array(10).fill('touch'));
  });

  it("starts a manifest with the write its source's previous manifest ended with", async () => {
    const recentWrites = new RecentWrites();
    const lines = (prefix: string) => Array.from({ length: 6 }, (_, i) => `I-${prefix}${i},1`).join('\n');
    await transformManifest(await collect(lines('1')), { ...deps(), writeConcurrency: 4, recentWrites });

    recordStore.upserts.length = 0;
    const result = await transformManifest(await collect(lines('2')), {
      ...deps(),
      writeConcurrency: 4,
      recentWrites,
    });

    expect(result.counts.created).toBe(6);
    expect(recordStore.upserts.map((u) => u.options.firstAttempt)).toEqual(Array(6).fill('data'));
    expect(recentWrites.firstGuess('unit-items')).toBe('data');
    expect(recentWrites.firstGuess('another-source')).toBe('touch');
  });
});

describe('planManifest', () => {
  function planningOver(
    store: InMemoryRecordStore,
  ): PlanningRecords & { assumed: Map<string, RecordState | undefined> } {
    const assumed = new Map<string, RecordState | undefined>();
    return {
      assumed,
      async current(pk) {
        if (assumed.has(pk)) return assumed.get(pk);
        const item = await store.get(pk);
        return item === undefined ? undefined : recordStateOf(item);
      },
      assume(pk, state) {
        assumed.set(pk, state);
      },
    };
  }

  it('reports new, changed, unchanged and stale records with field diffs, and writes nothing', async () => {
    const older = await collect('I-1,1\nI-2,2\n', new Date('2026-11-27T07:00:00.000Z'));
    const current = await collect('I-1,1\nI-2,2\nI-3,3\n', new Date('2026-11-27T08:00:00.000Z'));
    await transformManifest(current, deps());
    const upsertsBefore = recordStore.upserts.length;
    const itemsBefore = structuredClone([...recordStore.items]);

    // Revision 2 reads quantities in dozens: same raw objects, new rules.
    const dozens = itemsParser({ revision: 2, qtyRule: (text) => Number(text) * 12 });
    const fresh = await collect('I-1,1\nI-4,4\n', new Date('2026-11-27T08:00:00.000Z'));
    const records = planningOver(recordStore);
    const planFor = (key: string) => planManifest(key, { rawStore, findParser: () => dozens, records });

    const replayedCurrent = await planFor(current);
    const replayedOlder = await planFor(older);
    const newOne = await planFor(fresh);

    expect(replayedCurrent.counts).toEqual({ created: 0, updated: 3, unchanged: 0, stale: 0 });
    expect(replayedCurrent.records[1]?.changes).toEqual([{ field: 'qty', before: 2, after: 24 }]);
    expect(replayedOlder.counts).toEqual({ created: 0, updated: 0, unchanged: 0, stale: 2 });
    // The plan sees its own hypothetical writes: I-1 was already planned from `current`.
    expect(newOne.counts).toEqual({ created: 1, updated: 0, unchanged: 1, stale: 0 });
    expect(recordStore.upserts.length).toBe(upsertsBefore);
    expect([...recordStore.items]).toEqual(itemsBefore);
  });
});
