/**
 * What the app's monitoring costs in CloudWatch each month, counted from the synthesized
 * templates (alarms and the metrics each one evaluates, composite alarms, dashboards) and from the
 * series the functions publish (functions/observability.ts). Every custom series is counted as if
 * it received data every hour, the most it can cost; per-source latency and success series bill
 * only the hours a source runs jobs, and HandoffAge only while it has open hand-off tasks.
 */
import { z } from 'zod';
import { FLEET_METRICS, PER_SOURCE_METRICS } from '../functions/observability.js';
import type { AssemblyStack } from '../local/cloud-assembly.js';

/**
 * CloudWatch list prices, us-east-1, first tier, from the CloudWatch pricing page on
 * PRICES_AS_OF (the same date as bench/cost-model.ts): a custom metric, a standard-resolution
 * alarm per metric it evaluates, a composite alarm, a dashboard (the first three are free).
 */
export const CLOUDWATCH_PRICES_AS_OF = '2026-11-27';
export const CLOUDWATCH_PRICES = {
  customMetricMonth: 0.3,
  alarmMetricMonth: 0.1,
  compositeAlarmMonth: 0.5,
  dashboardMonth: 3,
  freeDashboards: 3,
} as const;

export interface CloudWatchCost {
  readonly sources: number;
  readonly counts: {
    readonly perSourceSeries: number;
    readonly fleetSeries: number;
    readonly alarms: number;
    readonly alarmMetrics: number;
    readonly compositeAlarms: number;
    readonly dashboards: number;
  };
  /** Dollars a month. */
  readonly monthly: {
    readonly metrics: number;
    readonly alarms: number;
    readonly compositeAlarms: number;
    readonly dashboards: number;
    readonly total: number;
  };
  /** Dollars a month per source: the total over the number of sources. */
  readonly perSource: number;
  /** What one more source adds (its series and its alarms), leaving shared costs aside. */
  readonly marginalPerSource: number;
}

const AlarmMetrics = z.array(z.object({ MetricStat: z.unknown().optional() })).optional();
const Tags = z.array(z.object({ Key: z.string(), Value: z.unknown() })).catch([]);

export function cloudWatchCost(stacks: readonly AssemblyStack[], sources: number): CloudWatchCost {
  let alarms = 0;
  let alarmMetrics = 0;
  let compositeAlarms = 0;
  let dashboards = 0;
  let sourceAlarmMetrics = 0;
  for (const { template } of stacks) {
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type === 'AWS::CloudWatch::Alarm') {
        alarms += 1;
        const metrics = AlarmMetrics.parse(resource.Properties?.Metrics);
        // A metric math alarm is billed per metric it reads; a plain alarm reads one.
        const read = metrics === undefined ? 1 : metrics.filter((m) => m.MetricStat !== undefined).length;
        alarmMetrics += read;
        if (Tags.parse(resource.Properties?.Tags).some((t) => t.Key === 'sluice:source'))
          sourceAlarmMetrics += read;
      } else if (resource.Type === 'AWS::CloudWatch::CompositeAlarm') compositeAlarms += 1;
      else if (resource.Type === 'AWS::CloudWatch::Dashboard') dashboards += 1;
    }
  }
  const p = CLOUDWATCH_PRICES;
  const perSourceSeries = PER_SOURCE_METRICS.length;
  const fleetSeries = FLEET_METRICS.length;
  const monthly = {
    metrics: (perSourceSeries * sources + fleetSeries) * p.customMetricMonth,
    alarms: alarmMetrics * p.alarmMetricMonth,
    compositeAlarms: compositeAlarms * p.compositeAlarmMonth,
    dashboards: Math.max(0, dashboards - p.freeDashboards) * p.dashboardMonth,
  };
  const total = monthly.metrics + monthly.alarms + monthly.compositeAlarms + monthly.dashboards;
  const alarmMetricsPerSource = sources === 0 ? 0 : sourceAlarmMetrics / sources;
  return {
    sources,
    counts: { perSourceSeries, fleetSeries, alarms, alarmMetrics, compositeAlarms, dashboards },
    monthly: { ...monthly, total },
    perSource: sources === 0 ? 0 : total / sources,
    marginalPerSource: perSourceSeries * p.customMetricMonth + alarmMetricsPerSource * p.alarmMetricMonth,
  };
}
