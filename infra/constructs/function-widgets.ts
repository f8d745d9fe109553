/** Graphs of a set of Sluice functions: errors, throttles, and p99 duration as a share of the timeout. */
import { GraphWidget, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { DURATION_ALARM_SHARE } from '../alarm-catalogue.js';
import { PERIOD, type TitledWidget } from './dashboard-rows.js';
import type { WatchedFunction } from './pipeline-alarms.js';

/** Three graphs, eight columns each. */
export function functionRows(functions: readonly WatchedFunction[], height: number): TitledWidget[] {
  const graph = (title: string, options: ConstructorParameters<typeof GraphWidget>[0]): TitledWidget => ({
    title,
    widget: new GraphWidget({ width: 8, height, period: PERIOD, ...options, title }),
  });
  const durationShare = functions.map(({ name, fn }, index) => {
    const timeoutMs = fn.function.timeout?.toMilliseconds() ?? 3000;
    // Metric IDs must be unique within one graph.
    const id = `p99of${index}`;
    return new MathExpression({
      expression: `100 * ${id} / ${timeoutMs}`,
      usingMetrics: { [id]: fn.function.metricDuration({ statistic: 'p99', period: PERIOD }) },
      label: name,
      period: PERIOD,
    });
  });
  return [
    graph('functions · errors', {
      left: functions.map(({ name, fn }) => fn.function.metricErrors({ period: PERIOD, label: name })),
    }),
    graph('functions · throttles', {
      left: functions.map(({ name, fn }) => fn.function.metricThrottles({ period: PERIOD, label: name })),
    }),
    graph('functions · p99 duration (% of timeout)', {
      left: durationShare,
      leftYAxis: { min: 0, max: 100 },
      leftAnnotations: [{ value: DURATION_ALARM_SHARE * 100, label: 'alarm' }],
    }),
  ];
}
