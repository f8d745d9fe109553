/**
 * Logger, metrics and tracer, configured once. Metric names, units and dimensions are constants because
 * alarms, the dashboard, the local CloudWatch bridge and `sluice status` are built from them
 * (infra/, local/ and cli/ import this module's constants).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * The default app's metrics namespace. Each deployment publishes under its own app name (the
 * stack sets POWERTOOLS_METRICS_NAMESPACE), so two copies in one region never mix their figures.
 */
export const METRICS_NAMESPACE = 'Sluice';

/** The namespace an app's metrics are published under. */
export function metricsNamespace(appName: string): string {
  return appName;
}
export const SERVICE_NAME = 'sluice';

/**
 * Every metric Sluice publishes. What a series costs is what decides its dimensions: CloudWatch
 * bills each distinct name + dimension set as one custom metric for every hour it receives data,
 * so only the SLIs an owner is paged on are published per source (dimensions `service`, `source`);
 * breakdowns that only explain them are published once for the whole fleet (`service` only).
 * `METRIC_SCOPES` says which is which; docs/deploying.md gives the bill it makes.
 */
export const MetricName = {
  /**
   * One value per job that ended (the playbook's successful run rate, job by job): 1 when its
   * records were written, 0 when it was dead-lettered (its budget spent, or nothing to retry) or
   * handed off to a person. Retries that end in records are a successful run. Average is the
   * success rate, SampleCount the jobs that ended, so one series per source carries the SLI.
   */
  JobSuccess: 'JobSuccess',
  /**
   * One value per attempt that ended, either stage: 1 when it failed transiently and will be
   * retried, 0 when it ended any other way. Fleet-wide: Average is the share of attempts retried
   * (the failure-spike signal), Sum the retries, SampleCount the attempts.
   */
  AttemptRetried: 'AttemptRetried',
  /** Milliseconds one collection attempt took (fetch, snapshots, raw writes): the execution latency SLI. */
  CollectionLatency: 'CollectionLatency',
  /** Milliseconds from the job's request to its records being written. */
  EndToEndLatency: 'EndToEndLatency',
  /** Seconds since the newest observation that became records (published by the freshness checker). */
  DataAge: 'DataAge',
  /**
   * The age in seconds of each open hand-off task, one value per task, published by the freshness
   * checker only while the source has open tasks: Maximum is the oldest task's age, SampleCount per
   * check the backlog. No open task, no data, no bill.
   */
  HandoffAge: 'HandoffAge',
  /** Attempts by how they ended, fleet-wide. A collector stored a job's raw response (the transform comes next). */
  JobCollected: 'JobCollected',
  /** A job's records were written: the job is done. */
  JobSucceeded: 'JobSucceeded',
  /** An attempt ended in a dead-letter queue. */
  JobDeadLettered: 'JobDeadLettered',
  /** An attempt stopped at a decision that needs a person. */
  JobHandedOff: 'JobHandedOff',
  RecordsWritten: 'RecordsWritten',
  RecordsUnchanged: 'RecordsUnchanged',
  RecordsStale: 'RecordsStale',
  RecordsInvalid: 'RecordsInvalid',
  /** Follow-up jobs enqueued (next pages, detail pages, a scheduled run's jobs). */
  FollowUpsEnqueued: 'FollowUpsEnqueued',
  /** Follow-ups a job asked for past its source's bounds or targets: refused, in the ledger. */
  FollowUpsRefused: 'FollowUpsRefused',
  /** RecordChanged events published to the change feed's bus. */
  ChangeEventsPublished: 'ChangeEventsPublished',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const MetricUnitOf = {
  JobSuccess: MetricUnit.Count,
  AttemptRetried: MetricUnit.Count,
  CollectionLatency: MetricUnit.Milliseconds,
  EndToEndLatency: MetricUnit.Milliseconds,
  DataAge: MetricUnit.Seconds,
  HandoffAge: MetricUnit.Seconds,
  JobCollected: MetricUnit.Count,
  JobSucceeded: MetricUnit.Count,
  JobDeadLettered: MetricUnit.Count,
  JobHandedOff: MetricUnit.Count,
  RecordsWritten: MetricUnit.Count,
  RecordsUnchanged: MetricUnit.Count,
  RecordsStale: MetricUnit.Count,
  RecordsInvalid: MetricUnit.Count,
  FollowUpsEnqueued: MetricUnit.Count,
  FollowUpsRefused: MetricUnit.Count,
  ChangeEventsPublished: MetricUnit.Count,
} as const satisfies { [name in MetricName]: (typeof MetricUnit)[keyof typeof MetricUnit] };

/** `source`: one series per source (`service`, `source`); `fleet`: one series in all (`service`). */
export type MetricScope = 'source' | 'fleet';

export const METRIC_SCOPES = {
  JobSuccess: ['source', 'fleet'],
  AttemptRetried: ['fleet'],
  CollectionLatency: ['source', 'fleet'],
  EndToEndLatency: ['fleet'],
  DataAge: ['source'],
  HandoffAge: ['source'],
  JobCollected: ['fleet'],
  JobSucceeded: ['fleet'],
  JobDeadLettered: ['fleet'],
  JobHandedOff: ['fleet'],
  RecordsWritten: ['fleet'],
  RecordsUnchanged: ['fleet'],
  RecordsStale: ['fleet'],
  RecordsInvalid: ['fleet'],
  FollowUpsEnqueued: ['fleet'],
  FollowUpsRefused: ['fleet'],
  ChangeEventsPublished: ['fleet'],
} as const satisfies { [name in MetricName]: readonly MetricScope[] };

/** The metrics published with a source dimension: what every source adds to the bill. */
export const PER_SOURCE_METRICS: readonly MetricName[] = (Object.keys(METRIC_SCOPES) as MetricName[]).filter(
  (name) => (METRIC_SCOPES[name] as readonly MetricScope[]).includes('source'),
);

/** The metrics published once for the whole fleet. */
export const FLEET_METRICS: readonly MetricName[] = (Object.keys(METRIC_SCOPES) as MetricName[]).filter(
  (name) => (METRIC_SCOPES[name] as readonly MetricScope[]).includes('fleet'),
);

/** How an attempt ended, as the handlers report it. */
export type AttemptOutcomeMetric = 'collected' | 'succeeded' | 'retried' | 'dead-lettered' | 'handed-off';

/**
 * The fleet-wide series whose Sum counts each outcome. A retry is counted in AttemptRetried,
 * which every attempt adds to (1 or 0), so that its Average is the share of attempts retried.
 */
export const OUTCOME_METRICS = {
  collected: MetricName.JobCollected,
  succeeded: MetricName.JobSucceeded,
  retried: MetricName.AttemptRetried,
  'dead-lettered': MetricName.JobDeadLettered,
  'handed-off': MetricName.JobHandedOff,
} as const satisfies { [outcome in AttemptOutcomeMetric]: MetricName };

/** The outcomes that end a job: its records written, or given up on, or left to a person. */
const JOB_ENDINGS: { readonly [outcome in AttemptOutcomeMetric]?: 0 | 1 } = {
  succeeded: 1,
  'dead-lettered': 0,
  'handed-off': 0,
};

/** Dimension names. Powertools adds `service` to every metric; Sluice adds `source`. */
export const Dimension = { Service: 'service', Source: 'source' } as const;

/** The exact dimensions of a per-source metric; CloudWatch matches dimension sets exactly. */
export function sourceDimensions(source: string): { [name: string]: string } {
  return { [Dimension.Service]: SERVICE_NAME, [Dimension.Source]: source };
}

/** The exact dimensions of a fleet-wide metric. */
export function fleetDimensions(): { [name: string]: string } {
  return { [Dimension.Service]: SERVICE_NAME };
}

/** The source dimension for work whose source could not be told (an unparseable message). */
export const UNKNOWN_SOURCE = 'unknown';

/** The keys every log line of one job's run carries, so filtering on a trace ID shows the whole run. */
export interface JobLogKeys {
  traceId?: string;
  jobKey?: string;
  source?: string;
  messageId?: string;
  attempt?: number;
  manifestKey?: string;
  /** The job's input, so any line of a run says what was asked for. */
  input?: unknown;
}

/*
 * Batches are processed in parallel (Powertools' default), so the job a line belongs to cannot live
 * in the logger's invocation-wide keys: each record runs in its own async context instead.
 */
const jobLogContext = new AsyncLocalStorage<JobLogKeys>();

class JobAwareLogger extends Logger {
  protected override createAndPopulateLogItem(
    logLevel: number,
    input: Parameters<Logger['info']>[0],
    extraInput: Parameters<Logger['info']>[1][],
  ): LogItem {
    const item = super.createAndPopulateLogItem(logLevel, input, extraInput as never);
    const keys = jobLogContext.getStore();
    if (keys === undefined) return item;
    const attributes = item.getAttributes();
    const missing = Object.entries(keys).filter(
      ([key, value]) => value !== undefined && !(key in attributes),
    );
    return missing.length === 0 ? item : item.addAttributes(Object.fromEntries(missing));
  }
}

export const logger: Logger = new JobAwareLogger({ serviceName: SERVICE_NAME });
/**
 * X-Ray subsegments for every AWS SDK call (functions/adapters/aws-clients.ts). The tracer turns
 * itself off outside Lambda (no AWS_EXECUTION_ENV: tests, the local environment, the CLI) and when
 * POWERTOOLS_TRACE_ENABLED is `false`, so nothing there looks for an X-Ray daemon.
 */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/** Runs `work` with every log line inside it tagged with `keys` (and whatever `addJobLogKeys` adds). */
export function withJobLogKeys<T>(keys: JobLogKeys, work: () => Promise<T>): Promise<T> {
  return jobLogContext.run({ ...keys }, work);
}

/** Adds keys learned along the way (the job key once the message is parsed) to the current job's lines. */
export function addJobLogKeys(keys: JobLogKeys): void {
  const current = jobLogContext.getStore();
  if (current === undefined) return;
  Object.assign(current, Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined)));
}

/**
 * Emits `values` of one metric at once (EMF on stdout), under the dimension sets its scope names,
 * independent of the batch's other records, so nothing waits for a flush at the end of the
 * invocation. One log line carries both sets; more than 100 values are split by Powertools.
 */
export function publishMetric(source: string, name: MetricName, ...values: number[]): void {
  if (values.length === 0) return;
  const scopes: readonly MetricScope[] = METRIC_SCOPES[name];
  const emitter = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
  });
  if (scopes.includes('source')) emitter.addDimension(Dimension.Source, source);
  // A set of no extra dimensions is `service` alone: the fleet-wide series.
  if (scopes.includes('fleet') && scopes.includes('source')) emitter.addDimensions({});
  for (const value of values) emitter.addMetric(name, MetricUnitOf[name], value);
  emitter.publishStoredMetrics();
}

export interface AttemptOptions {
  /**
   * Whether this attempt's ending is a job's run ending. A replay re-runs the transform of a job
   * that already ended: its attempts count fleet-wide, not in the source's success rate.
   * @default true
   */
  readonly endsJobRun?: boolean;
}

/**
 * Counts an attempt: by its outcome and in the retry share, fleet-wide; and, when it ends the
 * job (records written, dead-lettered, handed off), in the source's job success rate. A retry or
 * a collection is a step of a run, not its end.
 */
export function recordAttempt(
  source: string,
  outcome: AttemptOutcomeMetric,
  options: AttemptOptions = {},
): void {
  if (outcome !== 'retried') publishMetric(source, OUTCOME_METRICS[outcome], 1);
  publishMetric(source, MetricName.AttemptRetried, outcome === 'retried' ? 1 : 0);
  const ending = JOB_ENDINGS[outcome];
  if (ending !== undefined && options.endsJobRun !== false)
    publishMetric(source, MetricName.JobSuccess, ending);
}
