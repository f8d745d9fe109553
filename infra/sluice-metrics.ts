/** Sluice's own CloudWatch metrics, bound to the names and dimensions the functions publish. */
import type { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import {
  METRICS_NAMESPACE,
  type MetricName,
  SUCCESS_RATE_METRICS,
  sourceDimensions,
} from '../functions/observability.js';

export function sourceMetric(source: string, name: MetricName, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: sourceDimensions(source),
    ...options,
  });
}

/**
 * Percentage of a source's job attempts that succeeded in each `period`. Periods without any
 * attempt have no value (the alarm treats them as fine); FILL makes a missing outcome count as 0.
 */
export function successRate(source: string, period: Duration): MathExpression {
  const [retried, deadLettered, handedOff] = SUCCESS_RATE_METRICS.failed;
  const sum = (name: MetricName) => sourceMetric(source, name, { statistic: 'Sum', period });
  const total = 'FILL(ok, 0) + FILL(retried, 0) + FILL(deadLettered, 0) + FILL(handedOff, 0)';
  return new MathExpression({
    expression: `IF((${total}) > 0, 100 * FILL(ok, 0) / (${total}), 100)`,
    usingMetrics: {
      ok: sum(SUCCESS_RATE_METRICS.succeeded),
      retried: sum(retried),
      deadLettered: sum(deadLettered),
      handedOff: sum(handedOff),
    },
    label: 'success rate (%)',
    period,
  });
}
