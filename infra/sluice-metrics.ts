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
 * Percentage of a source's job attempts that succeeded in each `period`: every attempt publishes
 * AttemptSuccess 1 or 0, so the average is the rate, from one metric. Periods without any attempt
 * have no value (the alarm treats them as fine).
 */
export function successRate(appName: string, source: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: '100 * success',
    usingMetrics: {
      success: sourceMetric(appName, source, Names.AttemptSuccess, { statistic: 'Average', period }),
    },
    label: 'success rate (%)',
    period,
  });
}

/** The same rate over every source's attempts. */
export function fleetSuccessRate(appName: string, period: Duration): MathExpression {
  return new MathExpression({
    expression: '100 * success',
    usingMetrics: { success: fleetMetric(appName, Names.AttemptSuccess, { statistic: 'Average', period }) },
    label: 'success rate (%)',
    period,
  });
}
