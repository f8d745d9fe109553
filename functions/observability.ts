/**
 * Logger and metrics, configured once. Metric names and dimensions are constants because alarms
 * and dashboards are built from them (infra/ imports this module's constants).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'Sluice';
export const SERVICE_NAME = 'sluice';

export const MetricName = {
  JobSucceeded: 'JobSucceeded',
  JobRetried: 'JobRetried',
  JobDeadLettered: 'JobDeadLettered',
  JobHandedOff: 'JobHandedOff',
  CollectionLatency: 'CollectionLatency',
  RecordsWritten: 'RecordsWritten',
  RecordsUnchanged: 'RecordsUnchanged',
  RecordsStale: 'RecordsStale',
  RecordsInvalid: 'RecordsInvalid',
  EndToEndLatency: 'EndToEndLatency',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const Dimension = { Source: 'source' } as const;

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/**
 * Emits one metric with the source dimension at once (EMF on stdout), independent of the batch's
 * other records, so nothing waits for a flush at the end of the invocation.
 */
export function countForSource(source: string, name: MetricName, value = 1): void {
  const metric = metrics.singleMetric();
  metric.addDimension(Dimension.Source, source);
  metric.addMetric(name, MetricUnit.Count, value);
}

export function timeForSource(source: string, name: MetricName, milliseconds: number): void {
  const metric = metrics.singleMetric();
  metric.addDimension(Dimension.Source, source);
  metric.addMetric(name, MetricUnit.Milliseconds, milliseconds);
}
