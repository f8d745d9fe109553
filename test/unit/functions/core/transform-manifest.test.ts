import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RawManifest } from '../../../../functions/core/contracts.js';
import { HandoffRequiredError, PermanentError, TransientError } from '../../../../functions/core/errors.js';
import { recordKey } from '../../../../functions/core/record-upsert.js';
import {
  contentHashOf,
  InvalidOutputError,
  type TransformDeps,
  transformManifest,
} from '../../../../functions/core/transform-manifest.js';
import { defineParser, type SourceParser } from '../../../../sources/define.js';
import { InMemoryRecordStore } from '../../../support/transform-fakes.js';
import { MemoryRawStore, sha256Hex } from '../../support/in-memory-ports.js';

const SOURCE = 'test-items';
const FETCH_ID = '20261127T080000000Z-00000001';
const PREFIX = `raw/source=${SOURCE}/dt=2026-11-27/id-job-1/${FETCH_ID}/`;
const BODY_KEY = `${PREFIX}body.json`;
const MANIFEST_KEY = `${PREFIX}manifest.json`;
const TRACE_ID = 'trace-0000-0000-0001';
const OBSERVED_AT = '2026-11-27T08:00:00.000Z';

/** A parser for a made-up JSON source: the raw body is the list of candidate records itself. */
const Item = z.object({ name: z.string().min(1), priceCents: z.number().int().positive() }).strict();
const Candidates = z.array(z.object({ entityId: z.string(), data: z.unknown() }));
const itemsParser = defineParser<z.infer<typeof Item>>({
  source: SOURCE,
  record: Item,
  parse: (body) => Candidates.parse(JSON.parse(body.toString('utf8'))),
});

function findParser(source: string): SourceParser | undefined {
  return source === SOURCE ? itemsParser : undefined;
}

function manifestFor(body: Buffer, overrides: Partial<RawManifest> = {}): RawManifest {
  return {
    manifestVersion: 1,
    source: SOURCE,
    jobKey: 'id-job-1',
    fetchId: FETCH_ID,
    traceId: TRACE_ID,
    job: { source: SOURCE, input: {}, jobId: 'job-1', priority: 'normal' },
    attempt: 1,
    collector: 'http',
    request: { url: 'https://items.example.test/all', method: 'GET' },
    response: { status: 200, finalUrl: 'https://items.example.test/all', contentType: 'application/json' },
    observedAt: OBSERVED_AT,
    timings: { startedAt: OBSERVED_AT, finishedAt: OBSERVED_AT, durationMs: 0 },
    artifacts: [
      {
        name: 'body.json',
        key: BODY_KEY,
        role: 'body',
        contentType: 'application/json',
        size: body.byteLength,
        sha256: sha256Hex(body),
      },
    ],
    primaryArtifact: 'body.json',
    branches: ['http-get'],
    ...overrides,
  };
}

/** Raw storage holding one collection: the body as given and a manifest describing it. */
function setUp(candidates: unknown, manifestOverrides: Partial<RawManifest> = {}) {
  const body = Buffer.from(JSON.stringify(candidates));
  const rawStore = new MemoryRawStore();
  rawStore.seed(BODY_KEY, body, 'application/json');
  rawStore.seed(
    MANIFEST_KEY,
    Buffer.from(JSON.stringify(manifestFor(body, manifestOverrides))),
    'application/json',
  );
  const recordStore = new InMemoryRecordStore();
  const deps: TransformDeps = {
    rawStore,
    recordStore,
    findParser,
  };
  return { deps, rawStore, recordStore };
}

const hammer = { entityId: 'sku-1', data: { name: 'Hammer', priceCents: 1299 } };
const wrench = { entityId: 'sku-2', data: { name: 'Wrench', priceCents: 899 } };

describe('transformManifest', () => {
  it('creates a record for every valid candidate and counts them', async () => {
    const { deps } = setUp([hammer, wrench]);

    const result = await transformManifest(MANIFEST_KEY, deps);

    expect(result.counts).toEqual({ created: 2, updated: 0, unchanged: 0, stale: 0 });
  });

  it('writes each record with its lineage: raw key, trace ID, observation time and fetch ID', async () => {
    const { deps, recordStore } = setUp([hammer]);

    await transformManifest(MANIFEST_KEY, deps);

    expect(recordStore.upserts.map((u) => u.observation)).toEqual([
      {
        source: SOURCE,
        entityId: 'sku-1',
        data: hammer.data,
        contentHash: contentHashOf(hammer.data),
        observedAt: new Date(OBSERVED_AT),
        observationId: FETCH_ID,
        parserRevision: 1,
        rawKey: BODY_KEY,
        traceId: TRACE_ID,
      },
    ]);
  });

  it('counts an unchanged record when the same raw object is transformed again', async () => {
    const { deps } = setUp([hammer, wrench]);
    await transformManifest(MANIFEST_KEY, deps);

    const replay = await transformManifest(MANIFEST_KEY, deps);

    expect(replay.counts).toEqual({ created: 0, updated: 0, unchanged: 2, stale: 0 });
  });

  it('counts each upsert outcome separately', async () => {
    const { deps, recordStore } = setUp([
      hammer,
      wrench,
      { entityId: 'sku-3', data: { name: 'Drill', priceCents: 4999 } },
      { entityId: 'sku-4', data: { name: 'Level', priceCents: 1500 } },
    ]);
    const earlier = new Date('2026-11-27T07:00:00.000Z');
    const later = new Date('2026-11-27T09:00:00.000Z');
    const seed = {
      source: SOURCE,
      rawKey: 'raw/older',
      traceId: TRACE_ID,
      observationId: 'f-0',
      parserRevision: 1,
    };
    // sku-1 already stored with the same content, sku-2 with older different content,
    // sku-3 with a newer observation; sku-4 is new.
    await recordStore.upsert({
      ...seed,
      ...hammer,
      contentHash: contentHashOf(hammer.data),
      observedAt: earlier,
    });
    const oldWrench = { name: 'Wrench', priceCents: 799 };
    await recordStore.upsert({
      ...seed,
      entityId: 'sku-2',
      data: oldWrench,
      contentHash: contentHashOf(oldWrench),
      observedAt: earlier,
    });
    const newDrill = { name: 'Drill', priceCents: 5999 };
    await recordStore.upsert({
      ...seed,
      entityId: 'sku-3',
      data: newDrill,
      contentHash: contentHashOf(newDrill),
      observedAt: later,
    });

    const result = await transformManifest(MANIFEST_KEY, deps);

    expect(result.counts).toEqual({ created: 1, updated: 1, unchanged: 1, stale: 1 });
  });

  it('hands back the manifest it transformed', async () => {
    const { deps } = setUp([hammer]);

    const result = await transformManifest(MANIFEST_KEY, deps);

    expect(result.manifest).toMatchObject({ source: SOURCE, fetchId: FETCH_ID, traceId: TRACE_ID });
  });

  it('refuses a raw object whose bytes do not match the manifest checksum', async () => {
    const { deps, rawStore } = setUp([hammer]);
    rawStore.seed(BODY_KEY, Buffer.from(JSON.stringify([wrench])), 'application/json');

    const transformed = transformManifest(MANIFEST_KEY, deps);

    await expect(transformed).rejects.toBeInstanceOf(PermanentError);
    await expect(transformed).rejects.toMatchObject({ reason: 'raw-checksum-mismatch' });
  });

  it('writes nothing when the checksum does not match', async () => {
    const { deps, rawStore, recordStore } = setUp([hammer]);
    rawStore.seed(BODY_KEY, Buffer.from(JSON.stringify([wrench])), 'application/json');

    await transformManifest(MANIFEST_KEY, deps).catch(() => undefined);

    expect(recordStore.upserts).toEqual([]);
  });

  it('hands off a page that yields no records, the usual sign of a changed layout', async () => {
    const { deps } = setUp([]);

    const transformed = transformManifest(MANIFEST_KEY, deps);

    await expect(transformed).rejects.toBeInstanceOf(InvalidOutputError);
    await expect(transformed).rejects.toMatchObject({ reason: 'no-records', rawKey: BODY_KEY });
  });

  it('hands off the whole object to a person when one record fails validation', async () => {
    const { deps } = setUp([hammer, { entityId: 'sku-2', data: { name: 'Wrench', priceCents: -5 } }]);

    const transformed = transformManifest(MANIFEST_KEY, deps);

    await expect(transformed).rejects.toBeInstanceOf(HandoffRequiredError);
    await expect(transformed).rejects.toMatchObject({
      reason: 'records-invalid',
      rawKey: BODY_KEY,
      message: expect.stringContaining('priceCents'),
    });
  });

  it('writes no record at all when one record fails validation', async () => {
    const { deps, recordStore } = setUp([hammer, { entityId: 'sku-2', data: { name: '' } }]);

    await transformManifest(MANIFEST_KEY, deps).catch(() => undefined);

    expect(recordStore.upserts).toEqual([]);
  });

  it('refuses a record with an empty entity ID', async () => {
    const { deps } = setUp([{ entityId: '', data: hammer.data }]);

    await expect(transformManifest(MANIFEST_KEY, deps)).rejects.toMatchObject({
      reason: 'records-invalid',
      message: expect.stringContaining('entityId is empty'),
    });
  });

  it('refuses an observation that names the same entity twice', async () => {
    const { deps, recordStore } = setUp([
      hammer,
      { entityId: 'sku-1', data: { name: 'Hammer', priceCents: 1 } },
    ]);

    await expect(transformManifest(MANIFEST_KEY, deps)).rejects.toMatchObject({
      reason: 'records-invalid',
      message: expect.stringContaining('same entity appears twice'),
    });
    expect(recordStore.upserts).toEqual([]);
  });

  it('refuses a manifest from a source with no registered parser', async () => {
    const { deps } = setUp([hammer]);

    await expect(
      transformManifest(MANIFEST_KEY, { ...deps, findParser: () => undefined }),
    ).rejects.toMatchObject({
      reason: 'unknown-source',
    });
  });

  it('refuses a manifest that is not JSON', async () => {
    const { deps, rawStore } = setUp([hammer]);
    rawStore.seed(MANIFEST_KEY, Buffer.from('{"manifestVersion":'), 'application/json');

    await expect(transformManifest(MANIFEST_KEY, deps)).rejects.toMatchObject({ reason: 'manifest-invalid' });
  });

  it('refuses a manifest that is not a RawManifest', async () => {
    const { deps, rawStore } = setUp([hammer]);
    rawStore.seed(MANIFEST_KEY, Buffer.from(JSON.stringify({ manifestVersion: 2 })), 'application/json');

    await expect(transformManifest(MANIFEST_KEY, deps)).rejects.toMatchObject({ reason: 'manifest-invalid' });
  });

  it('writes every record even when there are more than fit in one batch of concurrent writes', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({
      entityId: `sku-${i}`,
      data: { name: `Item ${i}`, priceCents: 100 + i },
    }));
    const { deps, recordStore } = setUp(many);

    const result = await transformManifest(MANIFEST_KEY, { ...deps, writeConcurrency: 4 });

    expect(result.counts.created).toBe(21);
    expect(recordStore.items.has(recordKey(SOURCE, 'sku-20'))).toBe(true);
  });

  it("stops before the function's time runs out, as a retryable transform-deadline, keeping what it wrote", async () => {
    const many = Array.from({ length: 10 }, (_, i) => ({
      entityId: `sku-${i}`,
      data: { name: `Item ${i}`, priceCents: 100 + i },
    }));
    const { deps, recordStore } = setUp(many);
    let checks = 0;
    // Time enough for two groups of four writes, then the deadline is near.
    const outOfTime = () => ++checks > 2;

    const failure = await transformManifest(MANIFEST_KEY, { ...deps, writeConcurrency: 4, outOfTime }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(TransientError);
    expect(failure).toMatchObject({ reason: 'transform-deadline' });
    expect((failure as Error).message).toContain('after 8 of 10 records');
    expect(recordStore.items.size).toBe(8);
  });

  it('is never out of time when no deadline is given, nor when there is time left', async () => {
    const { deps } = setUp([hammer, wrench]);

    await expect(transformManifest(MANIFEST_KEY, { ...deps, outOfTime: () => false })).resolves.toMatchObject(
      {
        counts: { created: 2 },
      },
    );
  });
});

describe('contentHashOf', () => {
  it('gives the same hash for data that differs only in key order', () => {
    expect(contentHashOf({ name: 'Hammer', priceCents: 1299, tags: { a: 1, b: 2 } })).toBe(
      contentHashOf({ tags: { b: 2, a: 1 }, priceCents: 1299, name: 'Hammer' }),
    );
  });

  it('gives a different hash when a value changes', () => {
    expect(contentHashOf({ priceCents: 1299 })).not.toBe(contentHashOf({ priceCents: 1298 }));
  });

  it('is a sha-256 hex digest', () => {
    expect(contentHashOf({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
