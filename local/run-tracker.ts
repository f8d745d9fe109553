/**
 * Follows a batch of jobs through the local pipeline: enqueues them, watches the job ledger until
 * every job — and every follow-up job it started, its tree — reaches an end (records written,
 * dead-lettered, handed off), and sums up the run.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { BatchGetCommand, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { jobPartitionKey } from '../functions/adapters/job-ledger.js';
import type { CollectJob } from '../functions/core/contracts.js';
import { deriveJobKey } from '../functions/core/job-key.js';
import { findSource } from '../sources/registry.js';
import type { LocalEnvironment } from './environment.js';
import { queueCounts } from './queue-metrics.js';

export interface TrackedJob {
  readonly jobKey: string;
  readonly job: CollectJob;
  readonly enqueuedAt: Date;
}

export const LedgerSummary = z.object({
  jobKey: z.string(),
  source: z.string(),
  status: z.enum(['collected', 'retrying', 'dead-lettered', 'handed-off', 'transformed', 'scheduled']),
  traceId: z.string(),
  updatedAt: z.iso.datetime(),
  attempts: z.number(),
  lastStage: z.enum(['collect', 'transform']),
  lastReason: z.string().nullish(),
  lastCounts: z.record(z.string(), z.number()).nullish(),
  /** The follow-up jobs it enqueued (a string set in the table). */
  followUpKeys: z
    .union([z.set(z.string()), z.array(z.string())])
    .transform((keys) => [...keys].sort())
    .optional(),
  parentJobKey: z.string().optional(),
});
export type LedgerSummary = z.infer<typeof LedgerSummary>;

/** Statuses after which nothing more happens to a job without an operator. */
const FINAL = new Set<LedgerSummary['status']>(['transformed', 'dead-lettered', 'handed-off', 'scheduled']);

/** The keys of every follow-up job under `root` that the ledger knows of, breadth first. */
export function descendantsOf(root: string, summaries: ReadonlyMap<string, LedgerSummary>): string[] {
  const found: string[] = [];
  const seen = new Set([root]);
  for (let queue = [root]; queue.length > 0; ) {
    const next: string[] = [];
    for (const key of queue) {
      for (const child of summaries.get(key)?.followUpKeys ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        found.push(child);
        next.push(child);
      }
    }
    queue = next;
  }
  return found;
}

/** Whether a job and every follow-up under it have ended. */
export function treeFinished(root: string, summaries: ReadonlyMap<string, LedgerSummary>): boolean {
  return [root, ...descendantsOf(root, summaries)].every((key) => {
    const status = summaries.get(key)?.status;
    return status !== undefined && FINAL.has(status);
  });
}

export async function enqueueJobs(env: LocalEnvironment, jobs: readonly CollectJob[]): Promise<TrackedJob[]> {
  const tracked: TrackedJob[] = [];
  const bySource = new Map<string, CollectJob[]>();
  for (const job of jobs) bySource.set(job.source, [...(bySource.get(job.source) ?? []), job]);
  for (const [sourceName, sourceJobs] of bySource) {
    const source = findSource(sourceName);
    if (source === undefined) throw new Error(`unknown source ${sourceName}`);
    const queue = env.sourceQueues(sourceName).jobs;
    for (let start = 0; start < sourceJobs.length; start += 10) {
      const chunk = sourceJobs.slice(start, start + 10);
      const enqueuedAt = new Date();
      const response = await env.clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: chunk.map((job, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) })),
        }),
      );
      if ((response.Failed ?? []).length > 0) {
        throw new Error(`enqueue failed: ${JSON.stringify(response.Failed)}`);
      }
      for (const job of chunk) {
        const jobKey = deriveJobKey(job, {
          dedupeWindowSeconds: source.dedupeWindowSeconds,
          fallbackRequestedAt: enqueuedAt,
        });
        tracked.push({ jobKey, job, enqueuedAt });
      }
    }
  }
  return tracked;
}

export async function readSummaries(
  env: LocalEnvironment,
  jobKeys: readonly string[],
): Promise<Map<string, LedgerSummary>> {
  const summaries = new Map<string, LedgerSummary>();
  for (let start = 0; start < jobKeys.length; start += 100) {
    let keys: { [key: string]: unknown }[] | undefined = jobKeys
      .slice(start, start + 100)
      .map((jobKey) => ({ pk: jobPartitionKey(jobKey), sk: 'job' }));
    while (keys !== undefined && keys.length > 0) {
      const response: BatchGetCommandOutput = await env.clients.documents.send(
        new BatchGetCommand({ RequestItems: { [env.ledgerTable]: { Keys: keys } } }),
      );
      for (const item of response.Responses?.[env.ledgerTable] ?? []) {
        // moto applies an update to a new item in steps, so a read racing the first write can
        // see the item with its key alone; it is read again on the next poll.
        const summary = LedgerSummary.safeParse(item);
        if (summary.success) summaries.set(summary.data.jobKey, summary.data);
      }
      keys = response.UnprocessedKeys?.[env.ledgerTable]?.Keys;
    }
  }
  return summaries;
}

export interface Progress {
  readonly total: number;
  readonly finished: number;
  readonly byStatus: { readonly [status: string]: number };
}

export function progressOf(
  tracked: readonly TrackedJob[],
  summaries: ReadonlyMap<string, LedgerSummary>,
): Progress {
  const byStatus: { [status: string]: number } = {};
  let finished = 0;
  for (const { jobKey } of tracked) {
    const status = summaries.get(jobKey)?.status ?? 'queued';
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (treeFinished(jobKey, summaries)) finished += 1;
  }
  return { total: tracked.length, finished, byStatus };
}

/** Messages waiting, in flight or delayed in every queue a function consumes, and deliveries in progress. */
export async function workInQueues(env: LocalEnvironment): Promise<number> {
  let total = 0;
  for (const poller of env.pollers) {
    const queue = env.provisioned.queues.get(poller.mapping.queueLogicalId);
    if (queue === undefined) continue;
    const counts = await queueCounts(env.clients.sqs, queue.url);
    total += counts.visible + counts.notVisible + counts.delayed + poller.deliveriesInFlight;
  }
  return total;
}

/**
 * How long the queues must stay empty, with jobs still unfinished, before the wait gives up on
 * them: long enough for a message between two queues (a follow-up being sent, a manifest's
 * notification) to show up in its next queue.
 */
const IDLE_BEFORE_GIVING_UP_MS = 20_000;

/**
 * Reads the ledger until every job's tree has ended, the deadline passes, or nothing is left to
 * happen: no message in any queue a function consumes and no delivery in progress, while some
 * jobs have not ended (a manifest the transform's retries gave up on waits in its DLQ, and its
 * job stays `collected`). What has not ended then is the run's unaccounted.
 */
export async function waitForOutcomes(
  env: LocalEnvironment,
  tracked: readonly TrackedJob[],
  options: {
    readonly timeoutMs: number;
    readonly onProgress?: (progress: Progress) => void;
    /** Told once, when the wait stops with nothing left to do and `unfinished` jobs not ended. */
    readonly onIdle?: (unfinished: number) => void;
  },
): Promise<Map<string, LedgerSummary>> {
  const deadline = Date.now() + options.timeoutMs;
  let summaries = new Map<string, LedgerSummary>();
  let idleSince: number | undefined;
  let finishedBefore = -1;
  for (;;) {
    // The trees grow as jobs enqueue follow-ups: read every key known so far.
    const keys = tracked.flatMap((t) => [t.jobKey, ...descendantsOf(t.jobKey, summaries)]);
    summaries = await readSummaries(env, keys);
    const progress = progressOf(tracked, summaries);
    options.onProgress?.(progress);
    if (progress.finished === progress.total || Date.now() > deadline) return summaries;
    // The queues are asked only while no job ends: a run that is finishing jobs is not idle, and
    // polling every queue twice a second would load the emulator the run is measured on.
    const stalled = progress.finished === finishedBefore;
    finishedBefore = progress.finished;
    if (!stalled || (await workInQueues(env)) > 0) idleSince = undefined;
    else if (idleSince === undefined) idleSince = Date.now();
    else if (Date.now() - idleSince >= IDLE_BEFORE_GIVING_UP_MS) {
      options.onIdle?.(progress.total - progress.finished);
      return summaries;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Nearest-rank percentile of `values` (milliseconds); undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface RunSummary {
  readonly jobs: number;
  readonly succeeded: number;
  readonly deadLettered: number;
  readonly handedOff: number;
  /** Jobs with no final outcome: still in flight at the deadline, or lost. */
  readonly unaccounted: number;
  readonly unaccountedJobKeys: readonly string[];
  readonly records: {
    readonly created: number;
    readonly updated: number;
    readonly unchanged: number;
    readonly stale: number;
  };
  readonly latencyMs: {
    readonly p50: number | undefined;
    readonly p95: number | undefined;
    readonly max: number | undefined;
  };
  readonly bySource: {
    readonly [source: string]: {
      readonly jobs: number;
      readonly succeeded: number;
      readonly deadLettered: number;
      readonly handedOff: number;
    };
  };
  readonly deadLetterReasons: { readonly [reason: string]: number };
  /** The follow-up jobs the batch's jobs started (next pages), by their source and how each ended. */
  readonly followUps: {
    readonly [source: string]: {
      readonly jobs: number;
      readonly succeeded: number;
      readonly deadLettered: number;
      readonly handedOff: number;
      readonly unaccounted: number;
    };
  };
}

export function summarizeRun(
  tracked: readonly TrackedJob[],
  summaries: ReadonlyMap<string, LedgerSummary>,
): RunSummary {
  const records = { created: 0, updated: 0, unchanged: 0, stale: 0 };
  const latencies: number[] = [];
  const bySource: {
    [source: string]: { jobs: number; succeeded: number; deadLettered: number; handedOff: number };
  } = {};
  const deadLetterReasons: { [reason: string]: number } = {};
  const unaccountedJobKeys: string[] = [];
  let succeeded = 0;
  let deadLettered = 0;
  let handedOff = 0;
  for (const { jobKey, job, enqueuedAt } of tracked) {
    const perSource = bySource[job.source] ?? { jobs: 0, succeeded: 0, deadLettered: 0, handedOff: 0 };
    bySource[job.source] = perSource;
    perSource.jobs += 1;
    const summary = summaries.get(jobKey);
    switch (summary?.status) {
      case 'transformed': {
        succeeded += 1;
        perSource.succeeded += 1;
        latencies.push(new Date(summary.updatedAt).getTime() - enqueuedAt.getTime());
        for (const key of Object.keys(records) as (keyof typeof records)[]) {
          records[key] += summary.lastCounts?.[key] ?? 0;
        }
        break;
      }
      case 'dead-lettered': {
        deadLettered += 1;
        perSource.deadLettered += 1;
        const reason = summary.lastReason ?? 'unknown';
        deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;
        break;
      }
      case 'handed-off':
        handedOff += 1;
        perSource.handedOff += 1;
        break;
      default:
        unaccountedJobKeys.push(jobKey);
    }
  }
  const followUps: {
    [source: string]: {
      jobs: number;
      succeeded: number;
      deadLettered: number;
      handedOff: number;
      unaccounted: number;
    };
  } = {};
  for (const { jobKey } of tracked) {
    for (const key of descendantsOf(jobKey, summaries)) {
      const summary = summaries.get(key);
      const source = summary?.source ?? 'unknown';
      const figures = followUps[source] ?? {
        jobs: 0,
        succeeded: 0,
        deadLettered: 0,
        handedOff: 0,
        unaccounted: 0,
      };
      followUps[source] = figures;
      figures.jobs += 1;
      if (summary?.status === 'transformed') {
        figures.succeeded += 1;
        for (const name of Object.keys(records) as (keyof typeof records)[]) {
          records[name] += summary.lastCounts?.[name] ?? 0;
        }
      } else if (summary?.status === 'dead-lettered') figures.deadLettered += 1;
      else if (summary?.status === 'handed-off') figures.handedOff += 1;
      else {
        figures.unaccounted += 1;
        unaccountedJobKeys.push(key);
      }
    }
  }
  return {
    jobs: tracked.length,
    succeeded,
    deadLettered,
    handedOff,
    unaccounted: unaccountedJobKeys.length,
    unaccountedJobKeys,
    records,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: percentile(latencies, 100),
    },
    bySource,
    deadLetterReasons,
    followUps,
  };
}

/** Waits until the change feed has handed every record write it has read to its function (or `timeoutMs`). */
export async function waitForChangeFeed(env: LocalEnvironment, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let quiet = 0; Date.now() < deadline; ) {
    quiet = env.streamPollers.every((p) => p.pending === 0) ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}
