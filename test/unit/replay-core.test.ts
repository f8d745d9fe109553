/** Replay's core with in-memory fakes: ranges, pacing, checkpoints and resume, and the dry run. */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type {
  RawCatalog,
  ReplayCheckpoint,
  ReplayCheckpointStore,
  TransformQueueSender,
} from '../../functions/core/ports.js';
import { daysInRange, formatReplayReport, planReplay, replayRange } from '../../functions/core/replay.js';
import { decodeS3Key, encodeS3Key } from '../../functions/core/s3-notification.js';
import { transformManifest } from '../../functions/core/transform-manifest.js';
import { defineParser, type SourceParser } from '../../sources/define.js';
import { InMemoryRawStore, InMemoryRecordStore, storeCollection } from '../support/transform-fakes.js';

class KeysCatalog implements RawCatalog {
  constructor(
    private readonly keys: () => Iterable<string>,
    private readonly pageSize = 7,
  ) {}
  async *listKeys(prefix: string, startAfter?: string): AsyncIterable<readonly string[]> {
    const sorted = [...this.keys()]
      .filter(
        (k) =>
          k.startsWith(prefix) &&
          (startAfter === undefined || Buffer.compare(Buffer.from(k), Buffer.from(startAfter)) > 0),
      )
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (let i = 0; i < sorted.length; i += this.pageSize) yield sorted.slice(i, i + this.pageSize);
  }
}

class MemoryCheckpoints implements ReplayCheckpointStore {
  readonly saved = new Map<string, ReplayCheckpoint>();
  async load(id: string) {
    return this.saved.get(id);
  }
  async save(id: string, checkpoint: ReplayCheckpoint) {
    this.saved.set(id, structuredClone(checkpoint));
  }
  async clear(id: string) {
    this.saved.delete(id);
  }
}

class RecordingQueue implements TransformQueueSender {
  readonly batches: string[][] = [];
  failOnCall: number | undefined;
  async send(keys: readonly string[]) {
    if (this.batches.length + 1 === this.failOnCall) throw new Error('sqs is unavailable');
    this.batches.push([...keys]);
  }
  get sent() {
    return this.batches.flat();
  }
}

function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** Manifest keys (and a body next to each) for `count` fetches on each day. */
function rawKeys(source: string, days: readonly string[], count: number): string[] {
  return days.flatMap((day) =>
    Array.from({ length: count }, (_, i) => {
      const prefix = `raw/source=${source}/dt=${day}/id-job-${String(i).padStart(3, '0')}/f${i}/`;
      return [`${prefix}manifest.json`, `${prefix}response.csv`];
    }).flat(),
  );
}

describe('daysInRange', () => {
  it('lists every day of the range, across month ends', () => {
    expect(daysInRange('2026-02-27', '2026-03-02')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
  });

  it.each([
    ['2026-02-29', '2026-03-01', /from must be a day as yyyy-mm-dd, got 2026-02-29/],
    ['2026-11-27', '2026-11-01', /to \(2026-11-01\) must not be before from \(2026-11-27\)/],
    ['2026-11-1', '2026-11-27', /from must be a day/],
    ['2024-01-01', '2026-01-01', /at most 400 days, got 732/],
  ])('refuses %s..%s', (from, to, message) => {
    expect(() => daysInRange(from, to)).toThrow(message);
  });
});

describe('replayRange', () => {
  const days = ['2026-11-01', '2026-11-02'];
  let keys: string[];
  let queue: RecordingQueue;
  let checkpoints: MemoryCheckpoints;

  beforeEach(() => {
    keys = [...rawKeys('demo-inventory', days, 12), ...rawKeys('demo-catalog', days, 3)];
    queue = new RecordingQueue();
    checkpoints = new MemoryCheckpoints();
  });

  const range = { source: 'demo-inventory', from: '2026-11-01', to: '2026-11-02' };

  it('sends every manifest of the source and range once, in batches of at most ten, and nothing else', async () => {
    const clock = fakeClock();
    const report = await replayRange(
      { ...range, messagesPerSecond: Number.POSITIVE_INFINITY },
      { catalog: new KeysCatalog(() => keys), queue, checkpoints, ...clock },
    );

    const expected = keys.filter(
      (k) => k.startsWith('raw/source=demo-inventory/') && k.endsWith('/manifest.json'),
    );
    expect(queue.sent.sort()).toEqual(expected.sort());
    expect(queue.batches.every((b) => b.length <= 10)).toBe(true);
    expect(report).toMatchObject({ sent: 24, byDay: { '2026-11-01': 12, '2026-11-02': 12 }, resumed: false });
    expect(clock.sleeps).toEqual([]);
  });

  it('never sends faster than the rate', async () => {
    const clock = fakeClock();
    await replayRange(
      { ...range, messagesPerSecond: 8 },
      { catalog: new KeysCatalog(() => keys), queue, checkpoints, ...clock },
    );

    // Each batch waits until the messages before it fit the rate.
    let sent = 0;
    for (const [index, batch] of queue.batches.entries()) {
      if (index > 0) expect(clock.now()).toBeGreaterThanOrEqual((sent / 8) * 1000);
      sent += batch.length;
    }
    expect(clock.now()).toBeGreaterThanOrEqual(((24 - (queue.batches.at(-1)?.length ?? 0)) / 8) * 1000);
    expect(clock.sleeps.length).toBeGreaterThan(0);
  });

  it('resumes after the last key sent when an interrupted run is started again', async () => {
    queue.failOnCall = 3;
    const deps = { catalog: new KeysCatalog(() => keys), queue, checkpoints, ...fakeClock() };
    await expect(replayRange({ ...range, messagesPerSecond: 100 }, deps)).rejects.toThrow(
      'sqs is unavailable',
    );
    const sentBefore = queue.sent.length;
    expect(checkpoints.saved.size).toBe(1);

    queue.failOnCall = undefined;
    const report = await replayRange({ ...range, messagesPerSecond: 100 }, deps);

    expect(report.resumed).toBe(true);
    expect(report.alreadySent).toBe(sentBefore);
    expect(report.sent + sentBefore).toBe(24);
    expect(new Set(queue.sent).size).toBe(24);
    expect(queue.sent).toHaveLength(24);
    expect(checkpoints.saved.size).toBe(0);
  });

  it('replays everything again when run after a finished run, or with fresh', async () => {
    const deps = { catalog: new KeysCatalog(() => keys), queue, checkpoints, ...fakeClock() };
    await replayRange({ ...range, messagesPerSecond: 100 }, deps);
    const again = await replayRange({ ...range, messagesPerSecond: 100 }, deps);

    expect(again.sent).toBe(24);
    expect(queue.sent).toHaveLength(48);
  });
});

describe('S3 event keys', () => {
  it('decode to exactly the key they encode, for any key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (key) => {
        expect(decodeS3Key(encodeS3Key(key))).toBe(key);
      }),
      { seed: 27, numRuns: 500 },
    );
  });
});

describe('planReplay', () => {
  const Level = z.object({ sku: z.string().regex(/^S\d+$/), qty: z.number().int() }).strict();
  const parserWith = (revision: number, scale: number): SourceParser =>
    defineParser({
      source: 'unit-stock',
      revision,
      record: Level,
      parse: (body) =>
        body
          .toString('utf8')
          .trim()
          .split('\n')
          .map((line) => {
            const [sku = '', qty = ''] = line.split(',');
            return { entityId: sku, data: { sku, qty: Number(qty) * scale } };
          }),
    });

  it('reports new, changed, unchanged, stale and invalid with sample diffs, writing nothing', async () => {
    const rawStore = new InMemoryRawStore();
    const recordStore = new InMemoryRecordStore();
    const v1 = parserWith(1, 1);
    let fetch = 0;
    const collect = (body: string, at: string) => {
      fetch += 1;
      return storeCollection(rawStore, {
        source: 'unit-stock',
        body,
        contentType: 'text/csv',
        observedAt: new Date(at),
        fetchId: `${at.replace(/[-:.]/g, '')}-${fetch}`,
        jobKey: `id-job-${fetch}`,
      });
    };
    const early = await collect('S1,1\nS2,2', '2026-11-01T06:00:00.000Z');
    const late = await collect('S1,1\nS2,2\nS3,0', '2026-11-01T09:00:00.000Z');
    await collect('S4,4', '2026-11-02T09:00:00.000Z');
    await collect('bad,1', '2026-11-02T10:00:00.000Z');
    for (const key of [late, early])
      await transformManifest(key, { rawStore, recordStore, findParser: () => v1 });
    const before = structuredClone([...recordStore.items]);
    const upserts = recordStore.upserts.length;

    // Revision 2 doubles quantities: S1 and S2 change, S3 (0) does not, S4 is new.
    const report = await planReplay(
      { source: 'unit-stock', from: '2026-11-01', to: '2026-11-02' },
      {
        catalog: new KeysCatalog(() => rawStore.objects.keys()),
        rawStore,
        records: recordStore,
        findParser: () => parserWith(2, 2),
      },
      { samples: 1 },
    );

    expect(report.manifests).toBe(4);
    expect(report.records.created).toBe(1);
    expect(report.records.updated).toBe(2);
    expect(report.records.unchanged).toBe(1);
    expect(report.records.stale).toBe(2);
    expect(report.invalid).toBe(1);
    expect(report.samples.changed).toHaveLength(1);
    expect(report.samples.changed[0]?.changes).toEqual([{ field: 'qty', before: 1, after: 2 }]);
    expect(report.samples.invalid[0]?.issues[0]).toMatch(/^#0 \(bad\): sku: Invalid string/);
    expect(recordStore.upserts).toHaveLength(upserts);
    expect([...recordStore.items]).toEqual(before);

    const text = formatReplayReport(report);
    expect(text).toContain('new 1 · changed 2 · unchanged 1 · stale 2');
    expect(text).toContain('qty: 1 → 2');
    expect(text).toContain('nothing was written');
  });
});
