/**
 * Requirements 1 and 2: Sluice's collectors against Crawlee on the same demo pages, in the same
 * run, at the same concurrency. Sluice's figure is a whole collection — fetch (or render), raw
 * artifacts and manifest into S3 (moto), the attempt into the job ledger — driven through the
 * collector's core (collectJob) with the real adapters, in this process.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectJob } from '../functions/core/contracts.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, RATE_BOARDS } from '../local/demo-site/data.js';
import type { Baseline } from './crawlee-baselines.js';
import type { Collector, CollectorLedger, RawStore } from './sluice-ports.js';
import { collectOne, findSource, jobMessage, outcomeProblem } from './sluice-ports.js';
import { mapConcurrent, now, percentile, type Spread, spread } from './stats.js';
import { profiledLedger, profiledRawStore, type StepTimings, timeStep, withSteps } from './step-profile.js';

export interface CollectionSettings {
  readonly pagesPerRepeat: number;
  readonly repeats: number;
  readonly warmupPages: number;
  readonly concurrency: number;
}

export interface StepFigure {
  readonly step: string;
  readonly medianMs: number;
  readonly p95Ms: number;
}

export interface CollectionResult {
  readonly source: string;
  readonly kind: 'browser' | 'http';
  readonly settings: CollectionSettings;
  readonly baselineName: string;
  /** Pages per minute, one sample per repeat. */
  readonly sluice: Spread;
  /** Sluice's collector alone (collector.collect(), nothing stored), at the same concurrency. */
  readonly sluiceFetchOnly: Spread;
  readonly baseline: Spread;
  /** Sluice ÷ baseline, per pair of repeats run back to back. */
  readonly ratio: Spread;
  readonly sluiceFailures: number;
  readonly baselineFailures: number;
  readonly failureSamples: readonly string[];
  /** Per job, over every measured Sluice job. */
  readonly steps: readonly StepFigure[];
  readonly sluiceBytesPerPage: number;
  /** S3 PUTs per collected page: its artifacts and its manifest. */
  readonly sluicePutsPerPage: number;
  readonly baselineBytesPerPage: number;
}

/** Input for the `index`-th job of a demo source, cycling through every page the demo site has. */
export function demoInput(source: string, index: number): { [key: string]: unknown } {
  if (source === 'demo-rates') return { board: RATE_BOARDS[index % RATE_BOARDS.length] };
  if (source === 'demo-catalog') {
    const category = CATALOG_CATEGORIES[index % CATALOG_CATEGORIES.length];
    return { category, page: (Math.floor(index / CATALOG_CATEGORIES.length) % CATALOG_PAGES) + 1 };
  }
  throw new Error(`no demo input for source ${source}`);
}

/** The URL the collector would fetch for `input`, on the demo site. */
export function demoUrl(source: string, input: unknown, demoSiteOrigin: string): string {
  const definition = findSource(source);
  const path = definition.kind === 'browser' ? definition.browse(input).path : definition.request(input).path;
  return new URL(path, demoSiteOrigin).href;
}

export function directorySize(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? directorySize(full) : statSync(full).size;
  }
  return total;
}

interface SluiceBatch {
  readonly ok: number;
  readonly failed: number;
  readonly wallMs: number;
  readonly steps: readonly StepTimings[];
  readonly errors: readonly string[];
}

/** `count` Sluice collections of `source`, `concurrency` at a time, each profiled step by step. */
export async function runSluiceBatch(options: {
  readonly source: string;
  readonly count: number;
  readonly jobIdPrefix: string;
  readonly concurrency: number;
  readonly collector: Collector;
  readonly rawStore: RawStore;
  readonly ledger: CollectorLedger;
}): Promise<SluiceBatch> {
  const { source, collector, rawStore } = options;
  const ledger = profiledLedger(options.ledger);
  const errors: string[] = [];
  const steps: StepTimings[] = [];
  let ok = 0;
  const started = now();
  await mapConcurrent(
    Array.from({ length: options.count }, (_, i) => i),
    options.concurrency,
    async (index) => {
      const job: CollectJob = {
        source,
        input: demoInput(source, index),
        jobId: `${options.jobIdPrefix}-${index}`,
        traceId: randomUUID(),
        priority: 'normal',
      };
      const timings: StepTimings = new Map();
      const outcome = await withSteps(timings, () =>
        timeStep('whole collection (collectJob)', () =>
          collectOne(jobMessage(job, randomUUID()), {
            collect: (definition, request) =>
              timeStep('collector.collect()', () => collector.collect(definition, request)),
            rawStore,
            ledger,
          }),
        ),
      );
      if (outcome.status === 'collected') {
        ok += 1;
        steps.push(timings);
      } else {
        errors.push(outcomeProblem(outcome));
      }
    },
  );
  return { ok, failed: options.count - ok, wallMs: now() - started, steps, errors };
}

export function stepFigures(allSteps: readonly StepTimings[]): StepFigure[] {
  const stepNames = [...new Set(allSteps.flatMap((s) => [...s.keys()]))];
  return stepNames.map((step) => {
    const samples = allSteps.map((s) => s.get(step) ?? 0);
    return { step, medianMs: percentile(samples, 50), p95Ms: percentile(samples, 95) };
  });
}

export interface VariantResult {
  readonly name: string;
  readonly pagesPerMinute: Spread;
  /** Each variant ÷ the first (the collector as it is), per repeat. */
  readonly ratioToCurrent: Spread;
  readonly steps: readonly StepFigure[];
  readonly failures: number;
}

/**
 * What-if measurements: the same Sluice collection with one setting changed (through the
 * benchmark's wrappers, not by editing the collector), interleaved with the collector as it is.
 */
export async function compareVariants(options: {
  readonly source: string;
  readonly settings: CollectionSettings;
  readonly variants: readonly {
    readonly name: string;
    readonly collector: Collector;
    /** Changes how the ledger is used, from outside it. @default - the ledger as it is */
    readonly ledger?: (ledger: CollectorLedger) => CollectorLedger;
  }[];
  readonly rawStore: RawStore;
  readonly ledgerForBatch: (label: string) => Promise<CollectorLedger>;
  /** Brings the emulator back to the same state before every batch (see compareCollection). */
  readonly beforeBatch: () => Promise<void>;
  readonly log: (line: string) => void;
}): Promise<VariantResult[]> {
  const { settings, log } = options;
  const rawStore = profiledRawStore(options.rawStore);
  const runTag = randomUUID().slice(0, 8);
  const rates = options.variants.map(() => [] as number[]);
  const steps = options.variants.map(() => [] as StepTimings[]);
  const failures = options.variants.map(() => 0);
  const run = async (index: number, count: number, tag: string) => {
    const variant = options.variants[index];
    if (variant === undefined) throw new Error(`no variant ${index}`);
    await options.beforeBatch();
    return runSluiceBatch({
      source: options.source,
      count,
      jobIdPrefix: `variant-${runTag}-${index}-${tag}`,
      concurrency: settings.concurrency,
      collector: variant.collector,
      rawStore,
      ledger: (variant.ledger ?? ((l: CollectorLedger) => l))(
        await options.ledgerForBatch(`v${index}-${tag}`),
      ),
    });
  };
  for (let index = 0; index < options.variants.length; index += 1)
    await run(index, settings.warmupPages, 'warmup');
  for (let repeat = 0; repeat < settings.repeats; repeat += 1) {
    // Rotate the order each repeat, so no variant always runs first.
    const order = options.variants.map((_, i) => (i + repeat) % options.variants.length);
    for (const index of order) {
      const batch = await run(index, settings.pagesPerRepeat, `r${repeat}`);
      rates[index]?.push((batch.ok / batch.wallMs) * 60_000);
      steps[index]?.push(...batch.steps);
      failures[index] = (failures[index] ?? 0) + batch.failed;
    }
    log(
      `  variants, repeat ${repeat + 1}/${settings.repeats}: ` +
        options.variants.map((v, i) => `${v.name} ${(rates[i]?.at(-1) ?? 0).toFixed(0)}`).join(' · '),
    );
  }
  const current = rates[0] ?? [];
  return options.variants.map((variant, index) => ({
    name: variant.name,
    pagesPerMinute: spread(rates[index] ?? []),
    ratioToCurrent: spread((rates[index] ?? []).map((rate, repeat) => rate / (current[repeat] ?? rate))),
    steps: stepFigures(steps[index] ?? []),
    failures: failures[index] ?? 0,
  }));
}

export async function compareCollection(options: {
  readonly source: string;
  readonly settings: CollectionSettings;
  readonly collector: Collector;
  readonly rawStore: RawStore;
  /** A ledger for one measured batch (see moto-workarounds.ts). */
  readonly ledgerForBatch: (label: string) => Promise<CollectorLedger>;
  /**
   * Brings the emulator back to the same state before every batch: each manifest Sluice stores
   * sends an S3 notification to the transform queue, which nothing consumes here, and moto's
   * S3 PUTs slow down as that queue grows — without this a later batch is measured on a slower
   * emulator than an earlier one.
   */
  readonly beforeBatch: () => Promise<void>;
  readonly baseline: Baseline;
  readonly baselineStorageDir: string;
  readonly demoSiteOrigin: string;
  readonly log: (line: string) => void;
}): Promise<CollectionResult> {
  const { source, settings, collector, baseline, log } = options;
  const kind = findSource(source).kind;
  const rawStore = profiledRawStore(options.rawStore);
  const runTag = randomUUID().slice(0, 8);

  const sluiceBatch = async (count: number, tag: string) => {
    await options.beforeBatch();
    return runSluiceBatch({
      source,
      count,
      jobIdPrefix: `bench-${runTag}-${tag}`,
      concurrency: settings.concurrency,
      collector,
      rawStore,
      ledger: await options.ledgerForBatch(tag),
    });
  };

  async function fetchOnlyBatch(count: number, tag: string): Promise<number> {
    let ok = 0;
    const started = now();
    await mapConcurrent(
      Array.from({ length: count }, (_, i) => i),
      settings.concurrency,
      async (index) => {
        const definition = findSource(source);
        await collector
          .collect(definition, {
            input: demoInput(source, index),
            traceId: randomUUID(),
            jobKey: `fetch-${tag}-${index}`,
          })
          .then(() => {
            ok += 1;
          })
          .catch(() => undefined);
      },
    );
    return (ok / (now() - started)) * 60_000;
  }

  const urls = (count: number) =>
    Array.from({ length: count }, (_, i) => demoUrl(source, demoInput(source, i), options.demoSiteOrigin));

  log(`  warm-up: ${settings.warmupPages} pages each (not counted)`);
  const warmSluice = await sluiceBatch(settings.warmupPages, 'warmup');
  const warmBaseline = await baseline.crawl(urls(settings.warmupPages), `warmup-${runTag}`);
  if (warmSluice.failed > 0 || warmBaseline.failed > 0) {
    log(
      `  warm-up failures: sluice ${warmSluice.errors[0] ?? '-'}; baseline ${warmBaseline.errors[0] ?? '-'}`,
    );
  }
  const bytesBefore = rawStore.bytesPut();
  const objectsBefore = rawStore.objectsPut();

  const sluiceRates: number[] = [];
  const fetchOnlyRates: number[] = [];
  const baselineRates: number[] = [];
  const ratios: number[] = [];
  const allSteps: StepTimings[] = [];
  const failureSamples: string[] = [];
  let sluiceFailures = 0;
  let baselineFailures = 0;
  let sluicePages = 0;
  for (let repeat = 0; repeat < settings.repeats; repeat += 1) {
    // Alternate who goes first, so a drift in the machine's load does not favour either side.
    const runSluice = async () => {
      const batch = await sluiceBatch(settings.pagesPerRepeat, `r${repeat}`);
      sluiceFailures += batch.failed;
      sluicePages += batch.ok;
      failureSamples.push(...batch.errors.slice(0, 2));
      allSteps.push(...batch.steps);
      return (batch.ok / batch.wallMs) * 60_000;
    };
    const runBaseline = async () => {
      const batch = await baseline.crawl(urls(settings.pagesPerRepeat), `r${repeat}-${runTag}`);
      baselineFailures += batch.failed;
      failureSamples.push(...batch.errors.slice(0, 2));
      return (batch.ok / batch.wallMs) * 60_000;
    };
    let sluiceRate: number;
    let baselineRate: number;
    if (repeat % 2 === 0) {
      sluiceRate = await runSluice();
      baselineRate = await runBaseline();
    } else {
      baselineRate = await runBaseline();
      sluiceRate = await runSluice();
    }
    fetchOnlyRates.push(await fetchOnlyBatch(settings.pagesPerRepeat, `r${repeat}`));
    sluiceRates.push(sluiceRate);
    baselineRates.push(baselineRate);
    ratios.push(sluiceRate / baselineRate);
    log(
      `  repeat ${repeat + 1}/${settings.repeats}: Sluice ${sluiceRate.toFixed(0)} pages/min, ` +
        `${baseline.name} ${baselineRate.toFixed(0)} pages/min; Sluice fetch only ` +
        `${(fetchOnlyRates.at(-1) ?? 0).toFixed(0)} pages/min`,
    );
  }

  const steps = stepFigures(allSteps);
  const baselinePages = settings.warmupPages + settings.repeats * settings.pagesPerRepeat;
  return {
    source,
    kind,
    settings,
    baselineName: baseline.name,
    sluice: spread(sluiceRates),
    sluiceFetchOnly: spread(fetchOnlyRates),
    baseline: spread(baselineRates),
    ratio: spread(ratios),
    sluiceFailures,
    baselineFailures,
    failureSamples: failureSamples.slice(0, 5),
    steps,
    sluiceBytesPerPage: sluicePages === 0 ? 0 : (rawStore.bytesPut() - bytesBefore) / sluicePages,
    sluicePutsPerPage: sluicePages === 0 ? 0 : (rawStore.objectsPut() - objectsBefore) / sluicePages,
    baselineBytesPerPage: directorySize(options.baselineStorageDir) / baselinePages,
  };
}

/**
 * What-if: the claim given up by a write of its own after the ledger's, as collectJob did before
 * issue 16 (the ledger as it is folds it into the collection's transaction). From outside: the
 * release is taken off the record and made separately, after it.
 */
export function releaseAfterRecord(ledger: CollectorLedger): CollectorLedger {
  return {
    claim: (request) => ledger.claim(request),
    release: (jobKey, owner) => ledger.release(jobKey, owner),
    history: (jobKey) => ledger.history(jobKey),
    async recordAttempt(entry) {
      const { releasesClaimOf, ...record } = entry;
      await ledger.recordAttempt(record);
      if (releasesClaimOf !== undefined) await ledger.release(entry.jobKey, releasesClaimOf);
    },
  };
}
