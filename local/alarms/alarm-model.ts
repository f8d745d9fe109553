/**
 * CloudWatch alarms as the synthesized templates declare them (their properties, intrinsics
 * resolved), in the shape the local evaluator works on. Parsing is strict about what decides an
 * alarm's state: an alarm with a setting the evaluator does not model is refused with its name,
 * never evaluated approximately.
 */
import { z } from 'zod';

export const COMPARISONS = [
  'GreaterThanThreshold',
  'GreaterThanOrEqualToThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const MISSING_DATA_TREATMENTS = ['breaching', 'notBreaching', 'ignore', 'missing'] as const;
export type MissingDataTreatment = (typeof MISSING_DATA_TREATMENTS)[number];

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface MetricIdentity {
  readonly namespace: string;
  readonly metricName: string;
  /** Exactly these dimensions: CloudWatch matches a metric's dimension set as a whole. */
  readonly dimensions: { readonly [name: string]: string };
}

/** One metric with its statistic (`Sum`, `Average`, `p99`, ...) over periods of `periodSeconds`. */
export interface MetricStat {
  readonly metric: MetricIdentity;
  readonly stat: string;
  readonly periodSeconds: number;
}

/** One query of a metric-math alarm: a metric, or an expression over the other queries. */
export type MetricQuery =
  | { readonly id: string; readonly returnData: boolean; readonly metricStat: MetricStat }
  | { readonly id: string; readonly returnData: boolean; readonly expression: string };

export interface MetricAlarmDefinition {
  readonly kind: 'metric';
  readonly name: string;
  /** `<stack>.<logical ID>`. */
  readonly id: string;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: MissingDataTreatment;
  /** The alarm's period: its metric's, or its expression's metrics' (all the same). */
  readonly periodSeconds: number;
  /** A single metric, or metric math: then `queries` holds exactly one with returnData. */
  readonly metric?: MetricStat;
  readonly queries?: readonly MetricQuery[];
  /** For percentile statistics: `ignore` waits for enough samples. @default 'evaluate' */
  readonly lowSampleCountPercentile: 'evaluate' | 'ignore';
  /** The states whose entry notifies someone (an action is set for them). */
  readonly notifiesOn: readonly AlarmState[];
  readonly description: string;
}

export interface CompositeAlarmDefinition {
  readonly kind: 'composite';
  readonly name: string;
  readonly id: string;
  readonly rule: string;
  readonly notifiesOn: readonly AlarmState[];
  readonly description: string;
}

export type AlarmDefinition = MetricAlarmDefinition | CompositeAlarmDefinition;

const Dimensions = z
  .array(z.object({ Name: z.string(), Value: z.string() }))
  .default([])
  .transform((list) => Object.fromEntries(list.map((d) => [d.Name, d.Value])));

const Actions = z.array(z.unknown()).default([]);

const MetricAlarmProperties = z
  .object({
    AlarmName: z.string().min(1),
    AlarmDescription: z.string().default(''),
    ComparisonOperator: z.enum(COMPARISONS),
    Threshold: z.coerce.number(),
    EvaluationPeriods: z.coerce.number().int().positive(),
    DatapointsToAlarm: z.coerce.number().int().positive().optional(),
    // CloudFormation's (and CloudWatch's) default.
    TreatMissingData: z.enum(MISSING_DATA_TREATMENTS).default('missing'),
    Namespace: z.string().optional(),
    MetricName: z.string().optional(),
    Dimensions,
    Period: z.coerce.number().int().positive().optional(),
    Statistic: z.enum(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']).optional(),
    ExtendedStatistic: z.string().optional(),
    EvaluateLowSampleCountPercentile: z.enum(['evaluate', 'ignore']).default('evaluate'),
    Metrics: z
      .array(
        z.object({
          Id: z.string().min(1),
          ReturnData: z.boolean().default(true),
          Expression: z.string().optional(),
          MetricStat: z
            .object({
              Metric: z.object({ Namespace: z.string(), MetricName: z.string(), Dimensions }),
              Period: z.coerce.number().int().positive(),
              Stat: z.string(),
            })
            .optional(),
        }),
      )
      .optional(),
    AlarmActions: Actions,
    OKActions: Actions,
    InsufficientDataActions: Actions,
    ActionsEnabled: z.boolean().default(true),
    ThresholdMetricId: z.string().optional(),
  })
  .strip();

const CompositeAlarmProperties = z
  .object({
    AlarmName: z.string().min(1),
    AlarmDescription: z.string().default(''),
    AlarmRule: z.string().min(1),
    AlarmActions: Actions,
    OKActions: Actions,
    InsufficientDataActions: Actions,
    ActionsEnabled: z.boolean().default(true),
  })
  .strip();

function notifiesOn(p: {
  AlarmActions: unknown[];
  OKActions: unknown[];
  InsufficientDataActions: unknown[];
  ActionsEnabled: boolean;
}): AlarmState[] {
  if (!p.ActionsEnabled) return [];
  return [
    ...(p.AlarmActions.length > 0 ? (['ALARM'] as const) : []),
    ...(p.OKActions.length > 0 ? (['OK'] as const) : []),
    ...(p.InsufficientDataActions.length > 0 ? (['INSUFFICIENT_DATA'] as const) : []),
  ];
}

/** A metric alarm from its resolved template properties; throws, naming the alarm, on what it cannot model. */
export function metricAlarmFrom(id: string, properties: unknown): MetricAlarmDefinition {
  const parsed = MetricAlarmProperties.safeParse(properties);
  if (!parsed.success) throw new Error(`alarm ${id}: ${parsed.error.message}`);
  const p = parsed.data;
  const refuse = (why: string): never => {
    throw new Error(`alarm ${p.AlarmName} (${id}): ${why}`);
  };
  if (p.ThresholdMetricId !== undefined) refuse('anomaly-detection alarms are not evaluated locally');
  const common = {
    kind: 'metric' as const,
    name: p.AlarmName,
    id,
    comparison: p.ComparisonOperator,
    threshold: p.Threshold,
    evaluationPeriods: p.EvaluationPeriods,
    datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
    treatMissingData: p.TreatMissingData,
    lowSampleCountPercentile: p.EvaluateLowSampleCountPercentile,
    notifiesOn: notifiesOn(p),
    description: p.AlarmDescription,
  };
  if (common.datapointsToAlarm > common.evaluationPeriods) {
    refuse(
      `DatapointsToAlarm ${common.datapointsToAlarm} exceeds EvaluationPeriods ${common.evaluationPeriods}`,
    );
  }
  if (p.Metrics !== undefined) {
    const queries: MetricQuery[] = p.Metrics.map((m) => {
      if (m.MetricStat !== undefined) {
        return {
          id: m.Id,
          returnData: m.ReturnData,
          metricStat: {
            metric: {
              namespace: m.MetricStat.Metric.Namespace,
              metricName: m.MetricStat.Metric.MetricName,
              dimensions: m.MetricStat.Metric.Dimensions,
            },
            stat: m.MetricStat.Stat,
            periodSeconds: m.MetricStat.Period,
          },
        };
      }
      if (m.Expression === undefined) return refuse(`query ${m.Id} has neither a metric nor an expression`);
      return { id: m.Id, returnData: m.ReturnData, expression: m.Expression };
    });
    const returned = queries.filter((q) => q.returnData);
    if (returned.length !== 1) refuse(`exactly one query must return data, got ${returned.length}`);
    const periods = new Set(queries.flatMap((q) => ('metricStat' in q ? [q.metricStat.periodSeconds] : [])));
    if (periods.size !== 1)
      refuse(`every metric of an alarm uses one period, got ${[...periods].join(', ')}`);
    return { ...common, periodSeconds: [...periods][0] as number, queries };
  }
  const stat = p.Statistic ?? p.ExtendedStatistic;
  if (
    p.Namespace === undefined ||
    p.MetricName === undefined ||
    p.Period === undefined ||
    stat === undefined
  ) {
    return refuse('a metric alarm needs Namespace, MetricName, Period and a statistic, or Metrics');
  }
  return {
    ...common,
    periodSeconds: p.Period,
    metric: {
      metric: { namespace: p.Namespace, metricName: p.MetricName, dimensions: p.Dimensions },
      stat,
      periodSeconds: p.Period,
    },
  };
}

export function compositeAlarmFrom(id: string, properties: unknown): CompositeAlarmDefinition {
  const parsed = CompositeAlarmProperties.safeParse(properties);
  if (!parsed.success) throw new Error(`composite alarm ${id}: ${parsed.error.message}`);
  const p = parsed.data;
  return {
    kind: 'composite',
    name: p.AlarmName,
    id,
    rule: p.AlarmRule,
    notifiesOn: notifiesOn(p),
    description: p.AlarmDescription,
  };
}

/** Every metric an alarm reads. */
export function metricsOf(alarm: MetricAlarmDefinition): MetricStat[] {
  if (alarm.metric !== undefined) return [alarm.metric];
  return (alarm.queries ?? []).flatMap((q) => ('metricStat' in q ? [q.metricStat] : []));
}
