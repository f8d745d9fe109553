/**
 * The figures of the local report beyond the run summary: per source, outcomes, retries,
 * hand-offs, latency and freshness, follow-up jobs, scheduled runs and change events, and a
 * latency histogram — what local-report.html charts.
 */
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { readChangeLog } from '../cli/change-log.js';

import { DynamoHandoffTaskList } from '../functions/adapters/handoff-tasks.js';
import { DynamoJobLedger } from '../functions/adapters/job-ledger.js';
import { DynamoSourceFreshness } from '../functions/adapters/source-freshness.js';
import type { SourceDefinition } from '../sources/define.js';
import type { AlarmStatus } from './alarms/alarm-monitor.js';
import type { LocalEnvironment } from './environment.js';
import { type LedgerSummary, percentile, type RunSummary, type TrackedJob } from './run-tracker.js';

export interface SourceFigures {
  readonly title: string;
  readonly jobs: number;
  readonly succeeded: number;
  readonly deadLettered: number;
  readonly handedOff: number;
  readonly unaccounted: number;
  /** Attempts that failed transiently and were tried again (either stage). */
  readonly retries: number;
  readonly latencyMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly max: number | null;
  };
  /** Seconds since the source's newest observation that became records; null when it has none. */
  readonly dataAgeSeconds: number | null;
  readonly freshnessSlaMinutes: number;
  readonly openHandoffTasks: number;
  /** Follow-up jobs of this source the ledger holds (next pages; a scheduled run's jobs too). */
  readonly followUpJobs: number;
  /** Runs its schedule started (it fires on the local clock while `npm start` runs). */
  readonly scheduledRuns: number;
  /** RecordChanged events published for its records (distinct event IDs), and how many were meaningful. */
  readonly changeEvents: number;
  readonly meaningfulChangeEvents: number;
}

export interface LatencyHistogram {
  /** Upper bound of each bucket in ms; the last bucket (null) holds everything above. */
  readonly upperBoundsMs: readonly (number | null)[];
  readonly counts: { readonly [source: string]: readonly number[] };
}

export interface ReportDetails {
  readonly sources: { readonly [source: string]: SourceFigures };
  readonly latencyHistogram: LatencyHistogram;
}

/** What the scenario of the run expected of the alarms, and how it went. */
export interface ScenarioReport {
  readonly name: string;
  /** The alarms the scenario must end with in ALARM (derived from its plan and the catalogue). */
  readonly expectedAlarms: readonly string[];
  readonly unexpectedAlarms: readonly string[];
  readonly missingAlarms: readonly string[];
  /** Poison messages sent, and how each ended. */
  readonly poison: readonly { readonly source: string; readonly jobKey: string; readonly status?: string }[];
}

/** The full local-report.json: the run summary plus the details the HTML report charts. */
export type LocalReport = RunSummary &
  ReportDetails & {
    readonly runId: string;
    readonly finishedAt: string;
    readonly wallTimeMs: number;
    readonly timeScale: number;
    readonly emulator: { readonly name: string; readonly version: string };
    readonly demoSiteRequests: number;
    /**
     * Every alarm of the app at the end of the run, evaluated as CloudWatch would at the local
     * time scale (local/alarms/): those in ALARM first.
     */
    readonly alarms: readonly Pick<AlarmStatus, 'name' | 'state' | 'reason' | 'firing' | 'since'>[];
    readonly scenario: ScenarioReport;
  };

export const LATENCY_BUCKETS_MS: readonly (number | null)[] = [
  500,
  1000,
  2000,
  5000,
  10_000,
  30_000,
  60_000,
  null,
];

export interface DetailsInput {
  readonly sources: readonly SourceDefinition[];
  readonly tracked: readonly TrackedJob[];
  readonly summaries: ReadonlyMap<string, LedgerSummary>;
  /** Retried attempts per job key. */
  readonly retries: ReadonlyMap<string, number>;
  readonly dataAgeSeconds: ReadonlyMap<string, number>;
  readonly openHandoffTasks: ReadonlyMap<string, number>;
  /** By source. @default - none */
  readonly followUpJobs?: ReadonlyMap<string, number>;
  readonly scheduledRuns?: ReadonlyMap<string, number>;
  readonly changeEvents?: ReadonlyMap<string, { readonly all: number; readonly meaningful: number }>;
}

export function reportDetails(input: DetailsInput): ReportDetails {
  const sources: { [source: string]: SourceFigures } = {};
  const counts: { [source: string]: number[] } = {};
  for (const source of input.sources) {
    const jobs = input.tracked.filter((t) => t.job.source === source.name);
    const latencies: number[] = [];
    const figures = { succeeded: 0, deadLettered: 0, handedOff: 0, unaccounted: 0, retries: 0 };
    const histogram = LATENCY_BUCKETS_MS.map(() => 0);
    for (const { jobKey, enqueuedAt } of jobs) {
      figures.retries += input.retries.get(jobKey) ?? 0;
      const summary = input.summaries.get(jobKey);
      switch (summary?.status) {
        case 'transformed': {
          figures.succeeded += 1;
          const latency = new Date(summary.updatedAt).getTime() - enqueuedAt.getTime();
          latencies.push(latency);
          const bucket = LATENCY_BUCKETS_MS.findIndex((bound) => bound === null || latency <= bound);
          histogram[bucket] = (histogram[bucket] ?? 0) + 1;
          break;
        }
        case 'dead-lettered':
          figures.deadLettered += 1;
          break;
        case 'handed-off':
          figures.handedOff += 1;
          break;
        default:
          figures.unaccounted += 1;
      }
    }
    counts[source.name] = histogram;
    sources[source.name] = {
      title: source.title,
      jobs: jobs.length,
      ...figures,
      latencyMs: {
        p50: percentile(latencies, 50) ?? null,
        p95: percentile(latencies, 95) ?? null,
        max: percentile(latencies, 100) ?? null,
      },
      dataAgeSeconds: input.dataAgeSeconds.get(source.name) ?? null,
      freshnessSlaMinutes: source.freshnessSlaMinutes,
      openHandoffTasks: input.openHandoffTasks.get(source.name) ?? 0,
      followUpJobs: input.followUpJobs?.get(source.name) ?? 0,
      scheduledRuns: input.scheduledRuns?.get(source.name) ?? 0,
      changeEvents: input.changeEvents?.get(source.name)?.all ?? 0,
      meaningfulChangeEvents: input.changeEvents?.get(source.name)?.meaningful ?? 0,
    };
  }
  return { sources, latencyHistogram: { upperBoundsMs: LATENCY_BUCKETS_MS, counts } };
}

/** Reads what the details need from the local environment: attempts, freshness marks, open tasks. */
export async function gatherReportDetails(
  env: LocalEnvironment,
  sources: readonly SourceDefinition[],
  tracked: readonly TrackedJob[],
  summaries: ReadonlyMap<string, LedgerSummary>,
): Promise<ReportDetails> {
  const ledger = new DynamoJobLedger(env.clients.documents, env.ledgerTable);
  const retries = new Map<string, number>();
  // A few at a time: the emulator is single-threaded.
  for (let start = 0; start < tracked.length; start += 8) {
    await Promise.all(
      tracked.slice(start, start + 8).map(async ({ jobKey }) => {
        const items = await ledger.history(jobKey);
        retries.set(jobKey, items.filter((i) => i.kind === 'attempt' && i.outcome === 'retrying').length);
      }),
    );
  }
  const now = Date.now();
  const marks = await new DynamoSourceFreshness(env.clients.documents, env.ledgerTable).newest(
    sources.map((s) => s.name),
  );
  const dataAgeSeconds = new Map(
    [...marks].map(([source, mark]) => [
      source,
      Math.max(0, Math.floor((now - mark.newestObservedAt.getTime()) / 1000)),
    ]),
  );
  const open = await new DynamoHandoffTaskList(env.clients.documents, env.tasksTable).list('open');
  const openHandoffTasks = new Map<string, number>();
  for (const task of open) openHandoffTasks.set(task.source, (openHandoffTasks.get(task.source) ?? 0) + 1);
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const followUpJobs = new Map<string, number>();
  const scheduledRuns = new Map<string, number>();
  for await (const page of paginateScan(
    { client: env.clients.documents },
    {
      TableName: env.ledgerTable,
      FilterExpression: 'kind = :job',
      ExpressionAttributeValues: { ':job': 'job' },
    },
  )) {
    for (const item of page.Items ?? []) {
      if (typeof item.parentJobKey === 'string') count(followUpJobs, String(item.source));
      if (item.status === 'scheduled') count(scheduledRuns, String(item.source));
    }
  }
  const changeEvents = new Map<string, { all: number; meaningful: number }>();
  const seen = new Set<string>();
  for (const { detail } of await readChangeLog(env.clients.logs, env.changeLogGroup)) {
    if (seen.has(detail.eventId)) continue;
    seen.add(detail.eventId);
    const figures = changeEvents.get(detail.source) ?? { all: 0, meaningful: 0 };
    figures.all += 1;
    if (detail.meaningful) figures.meaningful += 1;
    changeEvents.set(detail.source, figures);
  }
  return reportDetails({
    sources,
    tracked,
    summaries,
    retries,
    dataAgeSeconds,
    openHandoffTasks,
    followUpJobs,
    scheduledRuns,
    changeEvents,
  });
}
