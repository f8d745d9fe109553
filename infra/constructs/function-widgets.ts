/** Graphs of a set of Sluice functions: errors, throttles, and p99 duration as a share of the timeout. */
import {
  GraphWidget,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
} from 'aws-cdk-lib/aws-cloudwatch';
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

/**
 * The failure-spike signal per source: attempts retried in the last hours, by source and reason,
 * read from the functions' logs (every attempt's log line carries its source, outcome and reason).
 * A per-source retry metric would cost every source a custom metric for a signal nobody is paged
 * on per source (the fleet-wide retry-spike alarm is); Logs Insights bills only when it is read.
 */
export function retryBreakdown(
  title: string,
  functions: readonly WatchedFunction[],
  height: number,
): TitledWidget {
  return {
    title,
    widget: new LogQueryWidget({
      title,
      logGroupNames: functions.map(({ fn }) => fn.logGroup.logGroupName),
      queryLines: [
        'fields source, reason',
        'filter outcome = "retrying"',
        'stats count() as retries by source, reason',
        'sort retries desc',
        'limit 20',
      ],
      view: LogQueryVisualizationType.TABLE,
      width: 24,
      height,
    }),
  };
}
