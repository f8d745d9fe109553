/**
 * Requirement 3: the transform — S3 reads, parse, validate, conditional upserts into a real
 * records table (moto) — against the bare parser on the same bytes, the floor no transform can
 * beat on this machine.
 */
import { contentHashOf } from '../functions/core/transform-manifest.js';
import type { StepFigure } from './collection.js';
import type { DemoPage } from './raw-seed.js';
import { skuPrefix, withSkuPrefix } from './raw-seed.js';
import type { RawStore, RecordStore } from './sluice-ports.js';
import { findParser, transformOne } from './sluice-ports.js';
import { mapConcurrent, now, percentile, type Spread, spread } from './stats.js';
import { type StepTimings, timeStep, withSteps } from './step-profile.js';

export interface Throughput {
  readonly label: string;
  readonly recordsPerSecond: Spread;
  readonly rawMBPerSecond: Spread;
}

export interface TransformBenchResult {
  readonly manifestsPerRepeat: number;
  readonly recordsPerRepeat: number;
  readonly rawBytesPerRepeat: number;
  readonly repeats: number;
  readonly floor: Throughput;
  readonly parseAndValidate: Throughput;
  readonly full: readonly (Throughput & { readonly concurrency: number })[];
  readonly steps: readonly StepFigure[];
  readonly failures: number;
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

function profiledStores(
  rawStore: RawStore,
  recordStore: RecordStore,
): { rawStore: RawStore; recordStore: RecordStore } {
  return {
    rawStore: {
      put: (key, body, options) => rawStore.put(key, body, options),
      get: (key) =>
        timeStep(key.endsWith('/manifest.json') ? 'S3 get manifest' : 'S3 get raw body', () =>
          rawStore.get(key),
        ),
    },
    recordStore: {
      get: (pk) => recordStore.get(pk),
      // Upserts run 8 at a time, so this sum is more than the time they took together.
      upsert: (observation) =>
        timeStep('record upserts (sum of each, 8 in flight)', () => recordStore.upsert(observation)),
    },
  };
}

export async function benchTransform(options: {
  readonly manifestKeys: readonly string[];
  readonly pages: readonly DemoPage[];
  readonly rawStore: RawStore;
  readonly freshRecordStore: (label: string) => Promise<RecordStore>;
  readonly concurrencies: readonly number[];
  readonly repeats: number;
  readonly log: (line: string) => void;
}): Promise<TransformBenchResult> {
  const { manifestKeys, repeats, log } = options;
  // The same bytes the seeded manifests point at (seeding used index i → skuPrefix(i)).
  const bodies = manifestKeys.map((_, index) => {
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

  // Warm-up of the full path on a throwaway table: SDK connections, moto's first table.
  const warmStores = profiledStores(options.rawStore, await options.freshRecordStore('warmup'));
  await mapConcurrent(manifestKeys.slice(0, 10), 2, (key) => transformOne(key, warmStores));

  let recordsPerRepeat = 0;
  let failures = 0;
  const allSteps: StepTimings[] = [];
  const full: (Throughput & { concurrency: number })[] = [];
  for (const concurrency of options.concurrencies) {
    const runs: { records: number; bytes: number; ms: number }[] = [];
    for (let repeat = 0; repeat < repeats; repeat += 1) {
      const stores = profiledStores(
        options.rawStore,
        await options.freshRecordStore(`c${concurrency}r${repeat}`),
      );
      let records = 0;
      const started = now();
      await mapConcurrent(manifestKeys, concurrency, async (key) => {
        const steps: StepTimings = new Map();
        try {
          const result = await withSteps(steps, () =>
            timeStep('whole transform (transformManifest)', () => transformOne(key, stores)),
          );
          records += result.counts.created + result.counts.updated + result.counts.unchanged;
          if (concurrency === 1) allSteps.push(steps);
        } catch (error) {
          failures += 1;
          log(`  transform failed for ${key}: ${(error as Error).message}`);
        }
      });
      runs.push({ records, bytes: rawBytes, ms: now() - started });
      recordsPerRepeat = records;
      log(
        `  concurrency ${concurrency}, repeat ${repeat + 1}/${repeats}: ${((records / (now() - started)) * 1000).toFixed(0)} records/s`,
      );
    }
    full.push({ ...throughput(`full transform, ${concurrency} at a time`, runs), concurrency });
  }
  const stepNames = [...new Set(allSteps.flatMap((s) => [...s.keys()]))];
  return {
    manifestsPerRepeat: manifestKeys.length,
    recordsPerRepeat,
    rawBytesPerRepeat: rawBytes,
    repeats,
    floor: throughput('bare parser (floor)', floorRuns),
    parseAndValidate: throughput('parse + validate + hash, in memory', validateRuns),
    full,
    steps: stepNames.map((step) => {
      const samples = allSteps.map((s) => s.get(step) ?? 0);
      return { step, medianMs: percentile(samples, 50), p95Ms: percentile(samples, 95) };
    }),
    failures,
  };
}
