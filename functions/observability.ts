/**
 * Logger, metrics and tracer, configured once. Metric names, units and dimensions are constants because
 * alarms, the dashboard, the local CloudWatch bridge and `sluice status` are built from them
 * (infra/, local/ and cli/ import this module's constants).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const METRICS_NAMESPACE = 'Sluice';
export const SERVICE_NAME = 'sluice';

/**
 * Every metric Sluice publishes, per source. "Job" metrics count attempts by how they ended, at
 * either stage, so the success rate is `JobSucceeded / (JobSucceeded + JobRetried +
 * JobDeadLettered + JobHandedOff)`; `JobCollected` is an intermediate step and is not in it.
 */
export const MetricName = {
  /** A collector stored a job's raw response and manifest (the transform comes next). */
  JobCollected: 'JobCollected',
  /** A job's records were written: the job is done. */
  JobSucceeded: 'JobSucceeded',
  /** An attempt failed transiently and will be retried. */
  JobRetried: 'JobRetried',
  /** An attempt ended in a dead-letter queue. */
  JobDeadLettered: 'JobDeadLettered',
  /** An attempt stopped at a decision that needs a person. */
  JobHandedOff: 'JobHandedOff',
  /** Milliseconds one collection attempt took (fetch, snapshots, raw writes). */
  CollectionLatency: 'CollectionLatency',
  /** Milliseconds from the job's request to its records being written. */
  EndToEndLatency: 'EndToEndLatency',
  RecordsWritten: 'RecordsWritten',
  RecordsUnchanged: 'RecordsUnchanged',
  RecordsStale: 'RecordsStale',
  RecordsInvalid: 'RecordsInvalid',
  /** Seconds since the newest observation that became records (published by the freshness checker). */
  DataAge: 'DataAge',
  /** Hand-off tasks waiting for a person. */
  HandoffBacklog: 'HandoffBacklog',
  /** Seconds the oldest open hand-off task has been waiting. */
  OldestHandoffAge: 'OldestHandoffAge',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const MetricUnitOf = {
  JobCollected: MetricUnit.Count,
  JobSucceeded: MetricUnit.Count,
  JobRetried: MetricUnit.Count,
  JobDeadLettered: MetricUnit.Count,
  JobHandedOff: MetricUnit.Count,
  CollectionLatency: MetricUnit.Milliseconds,
  EndToEndLatency: MetricUnit.Milliseconds,
  RecordsWritten: MetricUnit.Count,
  RecordsUnchanged: MetricUnit.Count,
  RecordsStale: MetricUnit.Count,
  RecordsInvalid: MetricUnit.Count,
  DataAge: MetricUnit.Seconds,
  HandoffBacklog: MetricUnit.Count,
  OldestHandoffAge: MetricUnit.Seconds,
} as const satisfies { [name in MetricName]: (typeof MetricUnit)[keyof typeof MetricUnit] };

/** The attempt outcomes the success rate is made of; success first. */
export const SUCCESS_RATE_METRICS = {
  succeeded: MetricName.JobSucceeded,
  failed: [MetricName.JobRetried, MetricName.JobDeadLettered, MetricName.JobHandedOff],
} as const;

/** Dimension names. Powertools adds `service` to every metric; Sluice adds `source`. */
export const Dimension = { Service: 'service', Source: 'source' } as const;

/** The exact dimensions of a per-source metric; CloudWatch matches dimension sets exactly. */
export function sourceDimensions(source: string): { [name: string]: string } {
  return { [Dimension.Service]: SERVICE_NAME, [Dimension.Source]: source };
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
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
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
 * Emits one metric with the source dimension at once (EMF on stdout), independent of the batch's
 * other records, so nothing waits for a flush at the end of the invocation.
 */
export function publishForSource(source: string, name: MetricName, value: number): void {
  const metric = metrics.singleMetric();
  metric.addDimension(Dimension.Source, source);
  metric.addMetric(name, MetricUnitOf[name], value);
}

export function countForSource(source: string, name: MetricName, value = 1): void {
  publishForSource(source, name, value);
}

export function timeForSource(source: string, name: MetricName, milliseconds: number): void {
  publishForSource(source, name, milliseconds);
}
