/**
 * Requirement 3: the transform — S3 reads, parse, validate, conditional upserts into a real
 * records table (moto) — against the bare parser on the same bytes, the floor no transform can
 * beat on this machine. Two phases a source goes through, each measured: a first load (every
 * record new) and a routine re-collection (the same pages observed again, every record
 * unchanged). Beside the transform as it runs, the what-ifs of its write path, interleaved.
 */
import { contentHashOf } from '../functions/core/transform-manifest.js';
import type { StepFigure } from './collection.js';
import {
  type DynamoWriteCounter,
  type DynamoWrites,
  NO_WRITES,
  writesBetween,
  writeUnitsOf,
} from './dynamo-writes.js';
import type { DemoPage } from './raw-seed.js';
import { skuPrefix, withSkuPrefix } from './raw-seed.js';
import type { RawStore, RecordStore } from './sluice-ports.js';
import { findParser, RecentWrites, transformOne } from './sluice-ports.js';
import { mapConcurrent, now, percentile, type Spread, spread } from './stats.js';
import { type StepTimings, timeStep, withSteps } from './step-profile.js';

export interface Throughput {
  readonly label: string;
  readonly recordsPerSecond: Spread;
  readonly rawMBPerSecond: Spread;
}

export type TransformPhase = 'firstLoad' | 'recollection';
export const TRANSFORM_PHASES: readonly TransformPhase[] = ['firstLoad', 'recollection'];

export interface PhaseFigure {
  readonly recordsPerSecond: Spread;
  /** Each repeat's records/s ÷ the first variant's (the transform as it runs) in the same repeat. */
  readonly ratioToCurrent: Spread;
  /** DynamoDB writes per record over every repeat: what AWS bills, whatever moto's speed. */
  readonly writes: DynamoWrites;
  readonly writeUnitsPerRecord: number;
}

export interface TransformVariantResult {
  readonly name: string;
  readonly phases: { readonly [phase in TransformPhase]: PhaseFigure };
  readonly failures: number;
}

export interface TransformBenchResult {
  readonly manifestsPerRepeat: number;
  readonly recordsPerRepeat: number;
  readonly rawBytesPerRepeat: number;
  readonly repeats: number;
  /** Manifests transformed at once: a transform Lambda's batch, processed in parallel. */
  readonly concurrency: number;
  readonly floor: Throughput;
  readonly parseAndValidate: Throughput;
  /** The first is the transform as it runs; the others change one thing about its writes. */
  readonly variants: readonly TransformVariantResult[];
  /** Per manifest, one at a time, first load, the transform as it runs. */
  readonly steps: readonly StepFigure[];
}

/** Parses (and optionally validates and hashes, as the transform does) every body until `minMs` passed. */
function cpuOnly(
  bodies: readonly DemoPage[],
  validate: boolean,
  minMs: number,
): { records: number; bytes: number; ms: number } {
  const parser = findParser('demo-catalog');
  let records = 0;
  let bytes = 0;
  const started = now();
  while (now() - started < minMs) {
    for (const page of bodies) {
      const candidates = parser.parse(page.body, { finalUrl: page.url, contentType: page.contentType });
      if (validate) {
        for (const candidate of candidates) {
          const result = parser.record.safeParse(candidate.data);
          if (!result.success) throw new Error(`demo page failed validation: ${result.error.message}`);
          contentHashOf(result.data);
        }
      }
      records += candidates.length;
      bytes += page.body.byteLength;
    }
  }
  return { records, bytes, ms: now() - started };
}

/**
 * The stores with their calls timed as steps. Every argument is passed through as it came
 * (`...args`): a wrapper that dropped one changed what the benchmark measured once already.
 */
export function profiledStores(
  rawStore: RawStore,
  recordStore: RecordStore,
): { rawStore: RawStore; recordStore: RecordStore } {
  return {
    rawStore: {
      put: (...args) => rawStore.put(...args),
      get: (...args) =>
        timeStep(args[0].endsWith('/manifest.json') ? 'S3 get manifest' : 'S3 get raw body', () =>
          rawStore.get(...args),
        ),
    },
    recordStore: {
      get: (...args) => recordStore.get(...args),
      // Upserts run 8 at a time, so this sum is more than the time they took together.
      upsert: (...args) =>
        timeStep('record upserts (sum of each, 8 in flight)', () => recordStore.upsert(...args)),
    },
  };
}

/** One simulated transform container: its stores and what it keeps across manifests. */
export interface TransformContainer {
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
  readonly recordsTable: string;
  readonly recentWrites: RecentWrites;
}

export interface TransformVariant {
  readonly name: string;
  /** Transforms one manifest; returns the records written or confirmed unchanged. */
  transform(manifestKey: string, container: TransformContainer): Promise<number>;
}

/** The transform as its Lambda runs it: one RecentWrites per container, kept across manifests. */
export const AS_IT_RUNS: TransformVariant = {
  name: 'as the transform runs',
  async transform(key, container) {
    const { counts } = await transformOne(key, container);
    return counts.created + counts.updated + counts.unchanged;
  },
};

/** Before issue 16: every manifest's first writes are touches, whatever its source's last manifest needed. */
export const GUESS_PER_MANIFEST: TransformVariant = {
  name: 'each manifest starts with a touch (before)',
  async transform(key, container) {
    const { counts } = await transformOne(key, { ...container, recentWrites: new RecentWrites() });
    return counts.created + counts.updated + counts.unchanged;
  },
};

export async function benchTransform(options: {
  /** New products: every record a create. */
  readonly firstLoadKeys: readonly string[];
  /** The same pages observed later: every record unchanged. */
  readonly recollectionKeys: readonly string[];
  readonly pages: readonly DemoPage[];
  readonly rawStore: RawStore;
  /** A records store on a new, empty table, and that table's name. */
  readonly freshRecordStore: (label: string) => Promise<{ store: RecordStore; table: string }>;
  readonly writes: DynamoWriteCounter;
  /** The transform as it runs first; what-ifs after it. */
  readonly variants: readonly TransformVariant[];
  readonly concurrency: number;
  readonly repeats: number;
  readonly log: (line: string) => void;
}): Promise<TransformBenchResult> {
  const { firstLoadKeys, repeats, log } = options;
  if (options.recollectionKeys.length !== firstLoadKeys.length)
    throw new Error('the re-collection must observe exactly the first load again');
  // The same bytes the seeded manifests point at (seeding used index i → skuPrefix(i)).
  const bodies = firstLoadKeys.map((_, index) => {
    const page = options.pages[index % options.pages.length] as DemoPage;
    return { ...page, body: withSkuPrefix(page.body, skuPrefix(index)) };
  });
  const rawBytes = bodies.reduce((sum, b) => sum + b.body.byteLength, 0);

  cpuOnly(bodies.slice(0, 10), true, 200); // warm-up: JIT, cheerio and zod caches
  const floorRuns = Array.from({ length: repeats }, () => cpuOnly(bodies, false, 1500));
  const validateRuns = Array.from({ length: repeats }, () => cpuOnly(bodies, true, 1500));
  const throughput = (label: string, runs: { records: number; bytes: number; ms: number }[]): Throughput => ({
    label,
    recordsPerSecond: spread(runs.map((r) => (r.records / r.ms) * 1000)),
    rawMBPerSecond: spread(runs.map((r) => (r.bytes / 1024 ** 2 / r.ms) * 1000)),
  });

  const container = async (label: string): Promise<TransformContainer> => {
    const { store, table } = await options.freshRecordStore(label);
    return {
      rawStore: options.rawStore,
      recordStore: store,
      recordsTable: table,
      recentWrites: new RecentWrites(),
    };
  };

  // Warm-up of the full path on a throwaway table: SDK connections, moto's first table.
  const warm = await container('warmup');
  for (const variant of options.variants)
    await mapConcurrent(firstLoadKeys.slice(0, 4), 2, (key) => variant.transform(key, warm));

  // Per manifest, one at a time, on a table of its own: where a transform's time goes.
  const profiled = await container('profile');
  const profile = { ...profiled, ...profiledStores(profiled.rawStore, profiled.recordStore) };
  const allSteps: StepTimings[] = [];
  for (const key of firstLoadKeys.slice(0, Math.min(20, firstLoadKeys.length))) {
    const steps: StepTimings = new Map();
    await withSteps(steps, () =>
      timeStep('whole transform (transformManifest)', () => AS_IT_RUNS.transform(key, profile)),
    );
    allSteps.push(steps);
  }

  type Samples = { rates: number[]; writes: DynamoWrites[]; records: number };
  const samples = options.variants.map(() => ({
    firstLoad: { rates: [], writes: [], records: 0 } as Samples,
    recollection: { rates: [], writes: [], records: 0 } as Samples,
    failures: 0,
  }));
  let recordsPerRepeat = 0;
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    // Rotate the order each repeat, so no variant always runs first on a fresh moto table.
    const order = options.variants.map((_, i) => (i + repeat) % options.variants.length);
    for (const index of order) {
      const variant = options.variants[index] as TransformVariant;
      const mine = samples[index] as (typeof samples)[number];
      // A container's life: the first load, then the re-collection, on a table of their own.
      const state = await container(`v${index}r${repeat}`);
      const line: string[] = [];
      for (const phase of TRANSFORM_PHASES) {
        const keys = phase === 'firstLoad' ? firstLoadKeys : options.recollectionKeys;
        const before = options.writes.snapshot();
        let records = 0;
        const started = now();
        await mapConcurrent(keys, options.concurrency, async (key) => {
          try {
            // Awaited first: `records += await …` would read the total before the await and
            // lose the other manifests' additions.
            const written = await variant.transform(key, state);
            records += written;
          } catch (error) {
            mine.failures += 1;
            log(`  ${variant.name}: transform failed for ${key}: ${(error as Error).message}`);
          }
        });
        const rate = (records / (now() - started)) * 1000;
        mine[phase].rates.push(rate);
        mine[phase].writes.push(writesBetween(before, options.writes.snapshot()));
        mine[phase].records += records;
        if (index === 0 && phase === 'firstLoad') recordsPerRepeat = records;
        line.push(`${phase} ${rate.toFixed(0)} records/s`);
      }
      log(`  repeat ${repeat + 1}/${repeats}, ${variant.name}: ${line.join(', ')}`);
    }
  }

  const current = samples[0];
  const sum = (all: readonly DynamoWrites[]): DynamoWrites =>
    all.reduce(
      (a, b) => ({
        updates: a.updates + b.updates,
        failedUpdates: a.failedUpdates + b.failedUpdates,
        transactions: a.transactions + b.transactions,
        cancelledTransactions: a.cancelledTransactions + b.cancelledTransactions,
        committedTransactionItems: a.committedTransactionItems + b.committedTransactionItems,
      }),
      NO_WRITES,
    );
  const stepNames = [...new Set(allSteps.flatMap((s) => [...s.keys()]))];
  return {
    manifestsPerRepeat: firstLoadKeys.length,
    recordsPerRepeat,
    rawBytesPerRepeat: rawBytes,
    repeats,
    concurrency: options.concurrency,
    floor: throughput('bare parser (floor)', floorRuns),
    parseAndValidate: throughput('parse + validate + hash, in memory', validateRuns),
    variants: options.variants.map((variant, index) => {
      const mine = samples[index] as (typeof samples)[number];
      const phase = (name: TransformPhase): PhaseFigure => {
        const writes = sum(mine[name].writes);
        const base = current?.[name].rates ?? [];
        return {
          recordsPerSecond: spread(mine[name].rates),
          ratioToCurrent: spread(mine[name].rates.map((rate, r) => rate / (base[r] ?? rate))),
          writes,
          writeUnitsPerRecord: writeUnitsOf(writes) / Math.max(1, mine[name].records),
        };
      };
      return {
        name: variant.name,
        phases: { firstLoad: phase('firstLoad'), recollection: phase('recollection') },
        failures: mine.failures,
      };
    }),
    steps: stepNames.map((step) => {
      const values = allSteps.map((s) => s.get(step) ?? 0);
      return { step, medianMs: percentile(values, 50), p95Ms: percentile(values, 95) };
    }),
  };
}
