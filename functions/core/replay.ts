/**
 * Replay and backfill (DESIGN.md decision 1): re-run transforms over raw storage for a source and
 * a range of days, without fetching anything from the source.
 *
 * `replayRange` lists the manifests under `raw/source=<s>/dt=<day>/` and sends each through the
 * transform queue as an S3-shaped notification — in AWS and locally the same way — at a bounded
 * rate, remembering the last key sent per day so an interrupted run resumes where it stopped.
 * Running it twice is safe: the conditional upsert turns a repeat into `unchanged`.
 *
 * `planReplay` is the dry run: it applies the transform and the upsert rules in-process to the
 * same manifests and reports what would be new, changed, unchanged, stale or invalid, with sample
 * diffs. It reads raw objects and records and writes nothing.
 */
import { PermanentError } from './errors.js';
import type {
  DayProgress,
  RawCatalog,
  RecordStore,
  ReplayCheckpointStore,
  TransformQueueSender,
} from './ports.js';
import { MANIFEST_NAME, RAW_PREFIX } from './raw-layout.js';
import type { FieldChange, RecordState } from './record-upsert.js';
import {
  emptyCounts,
  InvalidOutputError,
  planManifest,
  type RecordCounts,
  recordStateOf,
  type TransformReadDeps,
} from './transform-manifest.js';

export interface ReplayRange {
  readonly source: string;
  /** First day, `yyyy-mm-dd` (UTC, as in the `dt=` partitions). */
  readonly from: string;
  /** Last day, inclusive. */
  readonly to: string;
}

/** The most days one replay covers; a longer backfill is several runs, each resumable. */
export const MAX_REPLAY_DAYS = 400;
/** SQS takes at most 10 messages per SendMessageBatch. */
const BATCH_SIZE = 10;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(name: string, text: string): Date {
  const date = new Date(`${text}T00:00:00.000Z`);
  if (!DAY.test(text) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) {
    throw new RangeError(`${name} must be a day as yyyy-mm-dd, got ${text}`);
  }
  return date;
}

/** Every day from `from` to `to`, inclusive, as `yyyy-mm-dd`. */
export function daysInRange(from: string, to: string): string[] {
  const start = parseDay('from', from);
  const end = parseDay('to', to);
  if (end < start) throw new RangeError(`to (${to}) must not be before from (${from})`);
  const count = Math.round((end.getTime() - start.getTime()) / 86_400_000) + 1;
  if (count > MAX_REPLAY_DAYS) {
    throw new RangeError(`a replay covers at most ${MAX_REPLAY_DAYS} days, got ${count} (${from}..${to})`);
  }
  return Array.from({ length: count }, (_, i) =>
    new Date(start.getTime() + i * 86_400_000).toISOString().slice(0, 10),
  );
}

export function dayPrefix(source: string, day: string): string {
  return `${RAW_PREFIX}source=${source}/dt=${day}/`;
}

function isManifest(key: string): boolean {
  return key.endsWith(`/${MANIFEST_NAME}`);
}

/** One checkpoint per source and range, so two different replays never share progress. */
export function checkpointId(range: ReplayRange): string {
  return `${range.source}_${range.from}_${range.to}`;
}

export interface ReplayOptions extends ReplayRange {
  /** Messages sent per second, at most; `Infinity` for as fast as SQS takes them. */
  readonly messagesPerSecond: number;
  /** Ignore a checkpoint left by an interrupted run and start from the first day. @default false */
  readonly fresh?: boolean;
}

export interface ReplayProgress {
  readonly day: string;
  readonly sent: number;
  readonly total: number;
}

export interface ReplayDeps {
  readonly catalog: RawCatalog;
  readonly queue: TransformQueueSender;
  readonly checkpoints: ReplayCheckpointStore;
  /** Milliseconds, monotonic enough for pacing. */
  readonly now: () => number;
  readonly sleep: (milliseconds: number) => Promise<void>;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayReport extends ReplayRange {
  readonly mode: 'replay';
  /** Manifests sent by this run. */
  readonly sent: number;
  /** Manifests an interrupted earlier run had already sent, skipped by this one. */
  readonly alreadySent: number;
  readonly byDay: { readonly [day: string]: number };
  readonly resumed: boolean;
  readonly elapsedMs: number;
}

/** Sends every manifest of the range through the transform queue; resumable, rate-limited. */
export async function replayRange(options: ReplayOptions, deps: ReplayDeps): Promise<ReplayReport> {
  if (!(options.messagesPerSecond > 0)) {
    throw new RangeError(`messagesPerSecond must be positive, got ${options.messagesPerSecond}`);
  }
  const days = daysInRange(options.from, options.to);
  const id = checkpointId(options);
  const previous = options.fresh === true ? undefined : await deps.checkpoints.load(id);
  const progress: { [day: string]: DayProgress } = { ...previous?.days };
  const save = () =>
    deps.checkpoints.save(id, {
      source: options.source,
      from: options.from,
      to: options.to,
      days: { ...progress },
    });

  const startedAt = deps.now();
  let sent = 0;
  const alreadySent = Object.values(progress).reduce((total, day) => total + day.sent, 0);
  const byDay: { [day: string]: number } = {};
  for (const day of days) {
    const before = progress[day] ?? { sent: 0, done: false };
    byDay[day] = 0;
    if (before.done) continue;
    let lastKey = before.lastKey;
    let daySent = before.sent;
    for await (const page of deps.catalog.listKeys(dayPrefix(options.source, day), lastKey)) {
      const manifests = page.filter(isManifest);
      for (let start = 0; start < manifests.length; start += BATCH_SIZE) {
        const batch = manifests.slice(start, start + BATCH_SIZE);
        // Pace by the total sent so far: over a run, never faster than the rate.
        const due = startedAt + (sent / options.messagesPerSecond) * 1000;
        const wait = due - deps.now();
        if (wait > 0) await deps.sleep(wait);
        await deps.queue.send(batch);
        sent += batch.length;
        daySent += batch.length;
        byDay[day] = (byDay[day] ?? 0) + batch.length;
        lastKey = batch.at(-1);
        progress[day] = { ...(lastKey === undefined ? {} : { lastKey }), sent: daySent, done: false };
        await save();
        deps.onProgress?.({ day, sent: daySent, total: sent });
      }
    }
    progress[day] = { ...(lastKey === undefined ? {} : { lastKey }), sent: daySent, done: true };
    await save();
  }
  // A finished replay leaves nothing to resume; running it again replays everything (harmlessly).
  await deps.checkpoints.clear(id);
  return {
    mode: 'replay',
    source: options.source,
    from: options.from,
    to: options.to,
    sent,
    alreadySent,
    byDay,
    resumed: previous !== undefined,
    elapsedMs: deps.now() - startedAt,
  };
}

export interface ChangedSample {
  readonly pk: string;
  readonly rawKey: string;
  readonly changes: readonly FieldChange[];
}

export interface InvalidSample {
  readonly rawKey: string;
  readonly reason: string;
  readonly issues: readonly string[];
}

export interface FailedSample {
  readonly manifestKey: string;
  readonly reason: string;
  readonly message: string;
}

export interface DryRunReport extends ReplayRange {
  readonly mode: 'dry-run';
  readonly manifests: number;
  /** Records by what the replay would do to them; `created` is "new", `updated` is "changed". */
  readonly records: RecordCounts;
  /** Raw objects whose output fails validation: nothing from them would be written. */
  readonly invalid: number;
  /** Manifests the transform would dead-letter (unreadable manifest, checksum mismatch, ...). */
  readonly failed: number;
  readonly samples: {
    readonly changed: readonly ChangedSample[];
    readonly invalid: readonly InvalidSample[];
    readonly failed: readonly FailedSample[];
  };
}

export interface DryRunDeps extends TransformReadDeps {
  readonly catalog: RawCatalog;
  readonly records: Pick<RecordStore, 'get'>;
  readonly onProgress?: (progress: { readonly day: string; readonly manifests: number }) => void;
}

/**
 * What a replay of the range would do, worked out in-process with the transform's own rules,
 * writing nothing. Manifests are planned in listing order and the plan sees its own hypothetical
 * writes, so an entity observed twice counts once as changed, not twice.
 */
export async function planReplay(
  range: ReplayRange,
  deps: DryRunDeps,
  options: { readonly samples?: number } = {},
): Promise<DryRunReport> {
  const days = daysInRange(range.from, range.to);
  async function* manifestKeys(): AsyncIterable<readonly string[]> {
    let manifests = 0;
    for (const day of days) {
      for await (const page of deps.catalog.listKeys(dayPrefix(range.source, day))) {
        const keys = page.filter(isManifest);
        yield keys;
        manifests += keys.length;
      }
      deps.onProgress?.({ day, manifests });
    }
  }
  return planManifests(range, manifestKeys(), deps, options);
}

/**
 * What replaying `manifestKeys` (pages of them, in order) would do: the dry run of a range, or
 * of one job's collections (`sluice replay <source> --job <jobKey> --dry-run`). Writes nothing.
 */
export async function planManifests(
  range: ReplayRange,
  manifestKeys: AsyncIterable<readonly string[]>,
  deps: Omit<DryRunDeps, 'catalog' | 'onProgress'>,
  options: { readonly samples?: number } = {},
): Promise<DryRunReport> {
  const sampleLimit = options.samples ?? 5;
  const assumed = new Map<string, RecordState | undefined>();
  const records = {
    async current(pk: string): Promise<RecordState | undefined> {
      if (assumed.has(pk)) return assumed.get(pk);
      const item = await deps.records.get(pk);
      return item === undefined ? undefined : recordStateOf(item);
    },
    assume(pk: string, state: RecordState | undefined): void {
      assumed.set(pk, state);
    },
  };
  const counts = emptyCounts();
  const changed: ChangedSample[] = [];
  const invalidSamples: InvalidSample[] = [];
  const failedSamples: FailedSample[] = [];
  let manifests = 0;
  let invalid = 0;
  let failed = 0;
  for await (const page of manifestKeys) {
    for (const manifestKey of page) {
      manifests += 1;
      try {
        const plan = await planManifest(manifestKey, { ...deps, records });
        for (const outcome of Object.keys(counts) as (keyof RecordCounts)[])
          counts[outcome] += plan.counts[outcome];
        for (const record of plan.records) {
          if (record.decision.outcome === 'updated' && changed.length < sampleLimit) {
            changed.push({ pk: record.pk, rawKey: plan.rawKey, changes: record.changes });
          }
        }
      } catch (error) {
        if (error instanceof InvalidOutputError) {
          invalid += 1;
          if (invalidSamples.length < sampleLimit) {
            invalidSamples.push({
              rawKey: error.rawKey,
              reason: error.reason,
              issues: error.issues.slice(0, 5),
            });
          }
        } else if (error instanceof PermanentError) {
          failed += 1;
          if (failedSamples.length < sampleLimit) {
            failedSamples.push({ manifestKey, reason: error.reason, message: error.message });
          }
        } else {
          throw error;
        }
      }
    }
  }
  return {
    mode: 'dry-run',
    ...range,
    manifests,
    records: counts,
    invalid,
    failed,
    samples: { changed, invalid: invalidSamples, failed: failedSamples },
  };
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/** The report as an operator reads it in a terminal. */
export function formatReplayReport(report: ReplayReport | DryRunReport): string {
  const range = `${report.source} ${report.from}..${report.to}`;
  if (report.mode === 'replay') {
    const seconds = report.elapsedMs / 1000;
    const rate = seconds > 0 ? (report.sent / seconds).toFixed(1) : '—';
    return [
      `replay ${range}: sent ${report.sent} manifest(s) to the transform queue in ${seconds.toFixed(1)} s (${rate}/s)` +
        (report.resumed ? `, resumed after ${report.alreadySent} already sent` : ''),
      ...Object.entries(report.byDay)
        .filter(([, count]) => count > 0)
        .map(([day, count]) => `  ${day}  ${count}`),
    ].join('\n');
  }
  const { records } = report;
  const lines = [
    `dry run ${range}: ${report.manifests} manifest(s); nothing was written`,
    `  records   new ${records.created} · changed ${records.updated} · unchanged ${records.unchanged} · stale ${records.stale}`,
    `  raw objects with invalid output ${report.invalid} · failing manifests ${report.failed}`,
  ];
  if (report.samples.changed.length > 0) lines.push('  sample changes:');
  for (const sample of report.samples.changed) {
    lines.push(`    ${sample.pk}  (${sample.rawKey})`);
    for (const change of sample.changes) {
      lines.push(`      ${change.field}: ${show(change.before)} → ${show(change.after)}`);
    }
  }
  if (report.samples.invalid.length > 0) lines.push('  sample invalid output:');
  for (const sample of report.samples.invalid) {
    lines.push(`    ${sample.rawKey} (${sample.reason})`);
    for (const issue of sample.issues) lines.push(`      ${issue}`);
  }
  if (report.samples.failed.length > 0) lines.push('  sample failing manifests:');
  for (const sample of report.samples.failed)
    lines.push(`    ${sample.manifestKey} (${sample.reason}): ${sample.message}`);
  return lines.join('\n');
}
