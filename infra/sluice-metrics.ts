/** Sluice's own CloudWatch metrics, bound to the names, dimensions and namespace the functions publish. */
import type { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import {
  fleetDimensions,
  type MetricName,
  metricsNamespace,
  MetricName as Names,
  sourceDimensions,
} from '../functions/observability.js';

/** A per-source series (see METRIC_SCOPES in functions/observability.ts). */
export function sourceMetric(
  appName: string,
  source: string,
  name: MetricName,
  options: MetricOptions = {},
): Metric {
  return new Metric({
    namespace: metricsNamespace(appName),
    metricName: name,
    dimensionsMap: sourceDimensions(source),
    ...options,
  });
}

/** A fleet-wide series. */
export function fleetMetric(appName: string, name: MetricName, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: metricsNamespace(appName),
    metricName: name,
    dimensionsMap: fleetDimensions(),
    ...options,
  });
}

/**
 * Percentage of a source's jobs that ended in each `period` and wrote their records: every job
 * that ends publishes JobSuccess 1 (records) or 0 (dead-lettered, handed off), so the average is
 * the rate, from one metric. Periods in which no job ended have no value.
 */
export function successRate(appName: string, source: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: '100 * success',
    usingMetrics: {
      success: sourceMetric(appName, source, Names.JobSuccess, { statistic: 'Average', period }),
    },
    label: 'job success rate (%)',
    period,
  });
}

/** The same rate over every source's jobs. */
export function fleetSuccessRate(appName: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: '100 * success',
    usingMetrics: { success: fleetMetric(appName, Names.JobSuccess, { statistic: 'Average', period }) },
    label: 'job success rate (%)',
    period,
  });
}

/**
 * Percentage of the fleet's attempts (either stage) that failed transiently and were retried, in
 * each `period` with at least `minAttempts` attempts; 0 in quieter periods, where a couple of
 * retries say nothing. AttemptRetried is 1 or 0 per attempt: its Sum counts retries, its
 * SampleCount attempts.
 */
export function fleetRetryShare(appName: string, period: Duration, minAttempts: number): MathExpression {
  return new MathExpression({
    expression: `IF(attempts >= ${minAttempts}, 100 * retried / attempts, 0)`,
    usingMetrics: {
      retried: fleetMetric(appName, Names.AttemptRetried, { statistic: 'Sum', period }),
      attempts: fleetMetric(appName, Names.AttemptRetried, { statistic: 'SampleCount', period }),
    },
    label: 'retried attempts (%)',
    period,
  });
}
