/**
 * Requirement 6: the whole local pipeline, as `npm start -- --jobs N` runs it — the real bundles in
 * local Lambda containers, pollers in place of event source mappings, moto — measured twice over,
 * because a backlog and a stream are different questions:
 *
 * - capacity: N jobs enqueued at once, drained; jobs per minute is what the pipeline can do. Each
 *   job's enqueue → record time here is mostly waiting behind the others (queueing, not latency).
 *   The cost model's inputs are recorded on the way: every invocation's duration, every SQS call
 *   the pollers make, the ledger's attempt items (per-job durations by stage and source), item sizes.
 * - latency: on a fresh environment, jobs arrive one by one at a steady rate below that capacity
 *   (open loop: each is sent at its time whatever the pipeline is doing), and enqueue → record is
 *   what a job sees. Once with the template's transform batching window, once with the other
 *   setting (a what-if, changed in the local poller only), to show what the window costs a job.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { demoBatch } from '../local/demo-batch.js';
import { type LocalEnvironment, startLocalEnvironment } from '../local/environment.js';
import { queueCounts } from '../local/queue-metrics.js';
import { enqueueJobs, summarizeRun, type TrackedJob, waitForOutcomes } from '../local/run-tracker.js';
import type { BatchReport, SqsEventSourcePoller } from '../local/sqs-poller.js';
import { motoResidentMiB } from './moto-workarounds.js';
import { now, percentile } from './stats.js';

export interface FunctionUsage {
  readonly logicalId: string;
  readonly entry: string;
  readonly memoryMB: number;
  readonly invocations: number;
  readonly messages: number;
  readonly coldStarts: number;
  /** Sum of invocation durations, init included for cold starts (Lambda bills INIT too). */
  readonly totalDurationMs: number;
  readonly durationMsP50: number;
  readonly durationMsP95: number;
  readonly logBytes: number;
}

export interface StageDurations {
  readonly source: string;
  readonly stage: string;
  readonly attempts: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly totalMs: number;
  /** DynamoDB item size (attribute names + values) of a typical attempt item, in bytes. */
  readonly attemptItemBytes: number;
}

export interface LatencyFigures {
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly max: number | undefined;
}

export interface SteadyRateResult {
  readonly name: string;
  /** The transform queue's batching window the local poller used. */
  readonly transformBatchingWindowSeconds: number;
  /** The arrival rate asked for: `utilisation` × the capacity measured in the same run. */
  readonly targetJobsPerMinute: number;
  readonly utilisation: number;
  /** Jobs sent before the measured ones (cold starts), not counted. */
  readonly warmupJobs: number;
  readonly jobs: number;
  /** Measured jobs sent per minute, from the first measured send to the last. */
  readonly arrivalsPerMinute: number;
  readonly succeeded: number;
  readonly unaccounted: number;
  /** Enqueue → record of every measured job that succeeded. */
  readonly latencyMs: LatencyFigures;
  /** p50 of the measured jobs in each third of the stream, in order: rising means a queue built up. */
  readonly p50ByThirdMs: readonly number[];
  readonly bySource: {
    readonly [source: string]: { readonly jobs: number; readonly p50Ms: number | undefined };
  };
}

export interface PipelineResult {
  /** Jobs enqueued at once for the capacity measurement. */
  readonly jobs: number;
  readonly succeeded: number;
  readonly deadLettered: number;
  readonly handedOff: number;
  readonly unaccounted: number;
  readonly deadLetterReasons: { readonly [reason: string]: number };
  readonly bySource: { readonly [source: string]: { readonly jobs: number; readonly succeeded: number } };
  readonly wallMs: number;
  /** Capacity: jobs that ended per minute while a backlog drained (a job ends when its follow-ups have). */
  readonly jobsPerMinute: number;
  /**
   * The follow-up jobs the enqueued jobs started (demo-shipments follows its pages), and how many
   * of them succeeded; counted within their jobs above. Absent from runs before it was recorded.
   */
  readonly followUpJobs?: { readonly jobs: number; readonly succeeded: number };
  /**
   * Manifests in the transform's DLQ at the end: notifications whose every receive failed (a
   * transform batch that timed out on an overloaded machine). Their jobs stay `collected`, and
   * count as unaccounted. Absent from runs before it was recorded.
   */
  readonly transformDeadLetters?: number;
  /** Enqueue → record while draining the backlog: time spent waiting behind other jobs, not latency. */
  readonly backlogWaitMs: LatencyFigures;
  /** Latency at steady arrival rates below capacity: the template as it is first, then the what-if. */
  readonly steady: readonly SteadyRateResult[];
  readonly functions: readonly FunctionUsage[];
  readonly stages: readonly StageDurations[];
  readonly sqsCalls: { readonly [command: string]: number };
  readonly sqsMessagesReceived: number;
  readonly recordItemBytes: { readonly [source: string]: number };
  readonly ledgerSummaryItemBytes: number;
  readonly ledgerItems: number;
  /** moto's resident memory when the run ended. */
  readonly motoMiBAtEnd: number;
}

/** DynamoDB's item size: UTF-8 lengths of attribute names and values (numbers approximated). */
export function dynamoItemBytes(value: unknown, name = ''): number {
  const own = Buffer.byteLength(name, 'utf8');
  if (value === null || value === undefined || typeof value === 'boolean') return own + 1;
  if (typeof value === 'string') return own + Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number')
    return own + Math.ceil(String(value).replace(/^-|\.|e.*$/g, '').length / 2) + 1;
  if (Array.isArray(value))
    return own + 3 + value.reduce((sum: number, v) => sum + dynamoItemBytes(v) + 1, 0);
  if (typeof value === 'object') {
    return own + 3 + Object.entries(value).reduce((sum, [k, v]) => sum + dynamoItemBytes(v, k) + 1, 0);
  }
  return own;
}

/** An item's size, without the map overhead a top-level item does not have. */
function itemBytes(item: { [key: string]: unknown }): number {
  return Object.entries(item).reduce((sum, [k, v]) => sum + dynamoItemBytes(v, k), 0);
}

const AttemptItem = z.object({
  kind: z.literal('attempt'),
  source: z.string().nullish(),
  stage: z.string(),
  durationMs: z.number(),
});

export interface SteadySettings {
  readonly jobs: number;
  readonly warmupJobs: number;
  /** The arrival rate as a share of the measured capacity. */
  readonly utilisation: number;
}

export async function benchPipeline(options: {
  readonly jobs: number;
  readonly steady: SteadySettings;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<PipelineResult> {
  const capacity = await measureCapacity(options);
  const targetJobsPerMinute = capacity.jobsPerMinute * options.steady.utilisation;
  const steady: SteadyRateResult[] = [];
  for (const variant of ['template', 'what-if'] as const) {
    steady.push(
      await measureSteadyRate({
        ...options.steady,
        targetJobsPerMinute,
        variant,
        timeoutMs: options.timeoutMs,
        log: options.log,
      }),
    );
  }
  return { ...capacity, steady };
}

async function measureCapacity(options: {
  readonly jobs: number;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<Omit<PipelineResult, 'steady'>> {
  const reports: BatchReport[] = [];
  const env = await startLocalEnvironment({
    synth: false,
    alarms: false,
    onBatch: (report) => reports.push(report),
  });
  try {
    // Every SQS call the pollers (our event source mappings) and the enqueue make, by command.
    const sqsCalls: { [command: string]: number } = {};
    let sqsMessagesReceived = 0;
    env.clients.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const command = context.commandName ?? 'unknown';
        const output = result.output as { Messages?: unknown[] };
        const received = command === 'ReceiveMessageCommand' ? (output.Messages?.length ?? 0) : undefined;
        const name = received === 0 ? 'ReceiveMessageCommand (empty)' : command;
        sqsCalls[name] = (sqsCalls[name] ?? 0) + 1;
        sqsMessagesReceived += received ?? 0;
        return result;
      },
      { step: 'initialize', name: 'benchCountSqsCalls' },
    );
    options.log(
      `  capacity: local environment up (moto ${env.emulatorVersion}); enqueueing ${options.jobs} demo jobs at once`,
    );
    const started = now();
    const jobs = demoBatch(options.jobs, env.runId);
    const tracked = await enqueueJobs(env, jobs);
    let lastLogged = 0;
    const summaries = await waitForOutcomes(env, tracked, {
      timeoutMs: options.timeoutMs,
      onIdle: (unfinished) =>
        options.log(
          `  ${unfinished} job(s) unfinished with no work left in any queue: counted as unaccounted`,
        ),
      onProgress: (progress) => {
        if (now() - lastLogged > 15_000) {
          lastLogged = now();
          options.log(
            `  ${progress.finished}/${progress.total} finished after ${((now() - started) / 1000).toFixed(0)} s`,
          );
        }
      },
    });
    const motoMiBAtEnd = motoResidentMiB(env.endpoint);
    const transformDeadLetters = (await queueCounts(env.clients.sqs, env.transformQueues.deadLetter.url))
      .visible;
    const firstEnqueue = Math.min(...tracked.map((t) => t.enqueuedAt.getTime()));
    const lastUpdate = Math.max(...[...summaries.values()].map((s) => new Date(s.updatedAt).getTime()));
    const summary = summarizeRun(tracked, summaries);
    const finished = summary.succeeded + summary.deadLettered + summary.handedOff;
    const wallMs = lastUpdate - firstEnqueue;

    const functions = [...env.functions.values()].map((fn): FunctionUsage => {
      const mappings = new Set(
        env.provisioned.eventSourceMappings
          .filter((m) => m.functionLogicalId === fn.name)
          .map((m) => m.logicalId),
      );
      const mine = reports.filter((r) => mappings.has(r.mapping));
      const durations = mine.map((r) => r.result.durationMs);
      let logBytes = 0;
      try {
        logBytes = statSync(join(env.logDir, `${fn.name}.log`)).size;
      } catch {
        // no log written
      }
      return {
        logicalId: fn.name,
        entry: fn.spec.entry,
        memoryMB: fn.spec.memorySize,
        invocations: mine.length,
        messages: mine.reduce((sum, r) => sum + r.size, 0),
        coldStarts: mine.filter((r) => r.result.coldStart).length,
        totalDurationMs: durations.reduce((a, b) => a + b, 0),
        durationMsP50: durations.length > 0 ? percentile(durations, 50) : 0,
        durationMsP95: durations.length > 0 ? percentile(durations, 95) : 0,
        logBytes,
      };
    });

    // The ledger: per-job durations by stage and source, and item sizes for write units.
    const ledgerItems: { [key: string]: unknown }[] = [];
    let startKey: { [key: string]: unknown } | undefined;
    do {
      const page = await env.clients.documents.send(
        new ScanCommand({ TableName: env.ledgerTable, ExclusiveStartKey: startKey }),
      );
      ledgerItems.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    const groups = new Map<string, { durations: number[]; sizes: number[] }>();
    for (const item of ledgerItems) {
      const attempt = AttemptItem.safeParse(item);
      if (!attempt.success) continue;
      const key = `${attempt.data.source ?? 'unknown'}|${attempt.data.stage}`;
      const group = groups.get(key) ?? { durations: [], sizes: [] };
      group.durations.push(attempt.data.durationMs);
      group.sizes.push(itemBytes(item));
      groups.set(key, group);
    }
    const stages = [...groups].map(([key, group]): StageDurations => {
      const [source = '', stage = ''] = key.split('|');
      return {
        source,
        stage,
        attempts: group.durations.length,
        medianMs: percentile(group.durations, 50),
        p95Ms: percentile(group.durations, 95),
        totalMs: group.durations.reduce((a, b) => a + b, 0),
        attemptItemBytes: percentile(group.sizes, 50),
      };
    });
    const summaryItems = ledgerItems.filter((i) => i.kind === 'job');
    // Every record (a few thousand at most), so each source's typical size is sampled.
    const recordItemBytes: { [source: string]: number[] } = {};
    let recordsKey: { [key: string]: unknown } | undefined;
    do {
      const page = await env.clients.documents.send(
        new ScanCommand({ TableName: env.recordsTable, ExclusiveStartKey: recordsKey }),
      );
      for (const item of page.Items ?? []) {
        const source = String(item.source);
        const sizes = recordItemBytes[source] ?? [];
        sizes.push(itemBytes(item));
        recordItemBytes[source] = sizes;
      }
      recordsKey = page.LastEvaluatedKey;
    } while (recordsKey !== undefined);
    return {
      jobs: summary.jobs,
      succeeded: summary.succeeded,
      deadLettered: summary.deadLettered,
      handedOff: summary.handedOff,
      unaccounted: summary.unaccounted,
      deadLetterReasons: summary.deadLetterReasons,
      bySource: Object.fromEntries(
        Object.entries(summary.bySource).map(([s, v]) => [s, { jobs: v.jobs, succeeded: v.succeeded }]),
      ),
      wallMs,
      jobsPerMinute: (finished / wallMs) * 60_000,
      followUpJobs: {
        jobs: Object.values(summary.followUps).reduce((sum, f) => sum + f.jobs, 0),
        succeeded: Object.values(summary.followUps).reduce((sum, f) => sum + f.succeeded, 0),
      },
      transformDeadLetters,
      backlogWaitMs: summary.latencyMs,
      functions,
      stages,
      sqsCalls,
      sqsMessagesReceived,
      recordItemBytes: Object.fromEntries(
        Object.entries(recordItemBytes).map(([s, v]) => [s, percentile(v, 50)]),
      ),
      ledgerSummaryItemBytes: summaryItems.length > 0 ? percentile(summaryItems.map(itemBytes), 50) : 0,
      ledgerItems: ledgerItems.length,
      motoMiBAtEnd,
    };
  } finally {
    await env.stop();
  }
}

/** The local poller of the transform queue's event source mapping. */
function transformPoller(env: LocalEnvironment): SqsEventSourcePoller {
  const poller = env.pollers.find(
    (p) => env.functions.get(p.mapping.functionLogicalId)?.spec.entry === 'functions/transform/handler.ts',
  );
  if (poller === undefined) throw new Error('the local environment has no transform poller');
  return poller;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Jobs sent one by one at `targetJobsPerMinute` (evenly spaced, open loop: a send never waits for
 * the pipeline), on a fresh local environment; enqueue → record of each. `what-if` runs the
 * transform poller with the other batching window than the template's.
 */
async function measureSteadyRate(
  options: SteadySettings & {
    readonly targetJobsPerMinute: number;
    readonly variant: 'template' | 'what-if';
    readonly timeoutMs: number;
    readonly log: (line: string) => void;
  },
): Promise<SteadyRateResult> {
  const env = await startLocalEnvironment({ synth: false, alarms: false });
  try {
    const poller = transformPoller(env);
    const templateWindow = poller.mapping.maxBatchingWindowSeconds;
    const window = options.variant === 'template' ? templateWindow : templateWindow === 0 ? 1 : 0;
    // A what-if of the template's setting, in the local poller only (it reads the mapping at
    // every receive); the bundles and the template are unchanged.
    (poller.mapping as { maxBatchingWindowSeconds: number }).maxBatchingWindowSeconds = window;
    const name =
      options.variant === 'template'
        ? `as the template says: transform batching window ${window} s`
        : `what-if: transform batching window ${window} s`;
    const intervalMs = 60_000 / options.targetJobsPerMinute;
    const total = options.warmupJobs + options.jobs;
    options.log(
      `  steady rate, ${name}: ${total} jobs at ${options.targetJobsPerMinute.toFixed(0)}/min (${options.warmupJobs} warm-up)`,
    );
    const jobs = demoBatch(total, `${env.runId}-steady`);
    const tracked: TrackedJob[] = [];
    const started = now();
    for (const [index, job] of jobs.entries()) {
      await sleep(started + index * intervalMs - now());
      tracked.push(...(await enqueueJobs(env, [job])));
    }
    const measured = tracked.slice(options.warmupJobs);
    const summaries = await waitForOutcomes(env, tracked, { timeoutMs: options.timeoutMs });
    const latencies = measured.map((t) => {
      const summary = summaries.get(t.jobKey);
      return summary?.status === 'transformed'
        ? new Date(summary.updatedAt).getTime() - t.enqueuedAt.getTime()
        : undefined;
    });
    const done = latencies.filter((l): l is number => l !== undefined);
    const thirds = [0, 1, 2].map((third) => {
      const slice = latencies
        .slice(Math.floor((third * latencies.length) / 3), Math.floor(((third + 1) * latencies.length) / 3))
        .filter((l): l is number => l !== undefined);
      return slice.length === 0 ? Number.NaN : percentile(slice, 50);
    });
    const bySource: { [source: string]: { jobs: number; p50Ms: number | undefined } } = {};
    for (const source of new Set(measured.map((t) => t.job.source))) {
      const mine = measured
        .map((t, i) => ({ t, latency: latencies[i] }))
        .filter((x) => x.t.job.source === source);
      const values = mine.map((x) => x.latency).filter((l): l is number => l !== undefined);
      bySource[source] = {
        jobs: mine.length,
        p50Ms: values.length === 0 ? undefined : percentile(values, 50),
      };
    }
    const first = measured[0]?.enqueuedAt.getTime() ?? 0;
    const last = measured.at(-1)?.enqueuedAt.getTime() ?? first;
    const figures = (values: number[]): LatencyFigures =>
      values.length === 0
        ? { p50: undefined, p95: undefined, max: undefined }
        : { p50: percentile(values, 50), p95: percentile(values, 95), max: percentile(values, 100) };
    const result: SteadyRateResult = {
      name,
      transformBatchingWindowSeconds: window,
      targetJobsPerMinute: options.targetJobsPerMinute,
      utilisation: options.utilisation,
      warmupJobs: options.warmupJobs,
      jobs: measured.length,
      arrivalsPerMinute: last > first ? ((measured.length - 1) / (last - first)) * 60_000 : Number.NaN,
      succeeded: done.length,
      unaccounted: measured.length - done.length,
      latencyMs: figures(done),
      p50ByThirdMs: thirds,
      bySource,
    };
    options.log(
      `  ${name}: p50 ${result.latencyMs.p50 ?? '—'} ms, p95 ${result.latencyMs.p95 ?? '—'} ms; p50 by third ${thirds.map((t) => t.toFixed(0)).join(' → ')} ms`,
    );
    return result;
  } finally {
    await env.stop();
  }
}
