/**
 * Evaluates a CloudWatch alarm the way CloudWatch does, from raw data points: pure, so its tests
 * hand-compute every case. What it follows (Amazon CloudWatch User Guide, "Using Amazon
 * CloudWatch alarms", "How alarm state is evaluated when data is missing"):
 *
 * - The alarm looks at its periods ending now: the datapoint of a period is the statistic of the
 *   samples in it (or, for metric math, the expression over its metrics' datapoints); a period
 *   without samples has no datapoint.
 * - It retrieves more periods than it evaluates: the evaluation range, here EvaluationPeriods + 2
 *   (the guide's tables show 5 for 3).
 * - If at least EvaluationPeriods datapoints exist in the range, the most recent EvaluationPeriods
 *   of them decide, whatever the missing-data setting; ALARM when DatapointsToAlarm of them breach.
 * - If fewer exist: `breaching` / `notBreaching` fill the shortfall with breaching / fine values
 *   (as few as possible) and decide as above. `missing` and `ignore` decide on the existing
 *   datapoints alone: ALARM if DatapointsToAlarm of them breach, OK if any of them is fine, and
 *   otherwise (only breaching ones, too few) INSUFFICIENT_DATA for `missing`, the current state
 *   for `ignore`. (The guide's table has one row, "X - - - -" with `missing`, giving ALARM; the
 *   row before it, "- - - - X", gives INSUFFICIENT_DATA; Sluice has no alarm that could tell.)
 * - With no datapoint in the range: ALARM (`breaching`), OK (`notBreaching`), INSUFFICIENT_DATA
 *   (`missing`), the current state (`ignore`).
 * - Alarms on AWS/DynamoDB metrics always ignore missing data, whatever they say.
 * - Percentiles with fewer than 10/(1-p) samples (10/p below p50) count as no datapoint when the
 *   alarm says `EvaluateLowSampleCountPercentile: ignore`.
 *
 * Local time runs faster than the template's (see DEFAULT_TIME_SCALE): every period is
 * `periodSeconds * timeScale` real seconds long.
 */
import type {
  AlarmState,
  Comparison,
  CompositeAlarmDefinition,
  MetricAlarmDefinition,
  MetricIdentity,
  MetricStat,
} from './alarm-model.js';
import { alarmsOfRule, parseCompositeRule, ruleHolds } from './composite-rule.js';
import { evaluateMetricMath, type MathValue, parseMetricMath, type Series } from './metric-math.js';

export interface Sample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly value: number;
}

/** The raw samples of one metric (exact dimension set) in [from, to). */
export type SampleSource = (metric: MetricIdentity, from: number, to: number) => readonly Sample[];

export interface Evaluation {
  readonly state: AlarmState;
  readonly reason: string;
  /** The datapoints of the evaluation range, oldest first (undefined: missing). */
  readonly datapoints: readonly (number | undefined)[];
}

export interface EvaluateOptions {
  /** Evaluation time, ms since the epoch. */
  readonly at: number;
  /** @default 1 */
  readonly timeScale?: number;
  /** The alarm's state before this evaluation. @default 'INSUFFICIENT_DATA' */
  readonly current?: AlarmState;
}

/** How many more periods than it evaluates an alarm retrieves. */
export const EXTRA_PERIODS_RETRIEVED = 2;

/** A statistic of raw values: SampleCount, Sum, Average, Minimum, Maximum, or a percentile `pNN(.N)`. */
export function statistic(stat: string, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
  }
  const percentile = /^p(\d{1,2}(\.\d+)?|100)$/.exec(stat);
  if (percentile === null) throw new Error(`the statistic ${stat} is not evaluated locally`);
  // Nearest rank: the smallest value with at least p % of the samples at or below it.
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((Number(percentile[1]) / 100) * sorted.length));
  return sorted[rank - 1];
}

function percentileOf(stat: string): number | undefined {
  const match = /^p(\d{1,2}(\.\d+)?|100)$/.exec(stat);
  return match === null ? undefined : Number(match[1]) / 100;
}

/** Too few samples for a percentile to mean much (CloudWatch's rule for `ignore`). */
function lowSampleCount(stat: string, count: number): boolean {
  const p = percentileOf(stat);
  if (p === undefined) return false;
  const needed = p >= 0.5 ? 10 / (1 - p) : 10 / p;
  return p < 1 && count < needed;
}

export function breaches(comparison: Comparison, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

const COMPARISON_WORDS: { readonly [c in Comparison]: string } = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** The datapoints of one metric stat over `periods` periods of `periodMs` ending at `at`, oldest first. */
function datapointsOf(
  stat: MetricStat,
  source: SampleSource,
  at: number,
  periodMs: number,
  periods: number,
  ignoreLowSamples: boolean,
): (number | undefined)[] {
  const from = at - periods * periodMs;
  const samples = source(stat.metric, from, at);
  return Array.from({ length: periods }, (_, i) => {
    const start = from + i * periodMs;
    const values = samples.filter((s) => s.at >= start && s.at < start + periodMs).map((s) => s.value);
    if (ignoreLowSamples && lowSampleCount(stat.stat, values.length)) return undefined;
    return statistic(stat.stat, values);
  });
}

/** The alarm's datapoints over its evaluation range, oldest first. */
export function alarmDatapoints(
  alarm: MetricAlarmDefinition,
  source: SampleSource,
  at: number,
  timeScale = 1,
): Series {
  const periods = alarm.evaluationPeriods + EXTRA_PERIODS_RETRIEVED;
  const periodMs = alarm.periodSeconds * 1000 * timeScale;
  const ignoreLow = alarm.lowSampleCountPercentile === 'ignore';
  if (alarm.metric !== undefined) return datapointsOf(alarm.metric, source, at, periodMs, periods, ignoreLow);
  const queries = new Map((alarm.queries ?? []).map((q) => [q.id, q]));
  const computed = new Map<string, Series>();
  const seriesOf = (id: string, seen: readonly string[] = []): MathValue => {
    const cached = computed.get(id);
    if (cached !== undefined) return cached;
    const query = queries.get(id);
    if (query === undefined)
      throw new Error(`alarm ${alarm.name}: its expression names ${id}, no query of the alarm`);
    if (seen.includes(id)) throw new Error(`alarm ${alarm.name}: query ${id} refers to itself`);
    const series =
      'metricStat' in query
        ? datapointsOf(query.metricStat, source, at, periodMs, periods, ignoreLow)
        : evaluateMetricMath(
            parseMetricMath(query.expression),
            (ref) => seriesOf(ref, [...seen, id]),
            periods,
          );
    computed.set(id, series);
    return series;
  };
  const returned = (alarm.queries ?? []).find((q) => q.returnData);
  if (returned === undefined) throw new Error(`alarm ${alarm.name}: no query returns data`);
  return seriesOf(returned.id) as Series;
}

function readsDynamoDb(alarm: MetricAlarmDefinition): boolean {
  const stats =
    alarm.metric !== undefined
      ? [alarm.metric]
      : (alarm.queries ?? []).flatMap((q) => ('metricStat' in q ? [q.metricStat] : []));
  return stats.some((s) => s.metric.namespace === 'AWS/DynamoDB');
}

/** The state a metric alarm is in at `options.at`, with CloudWatch-like reasons. */
export function evaluateMetricAlarm(
  alarm: MetricAlarmDefinition,
  source: SampleSource,
  options: EvaluateOptions,
): Evaluation {
  const current = options.current ?? 'INSUFFICIENT_DATA';
  const datapoints = alarmDatapoints(alarm, source, options.at, options.timeScale ?? 1);
  const n = alarm.evaluationPeriods;
  const m = alarm.datapointsToAlarm;
  const treatment = readsDynamoDb(alarm) ? 'ignore' : alarm.treatMissingData;
  const existing = datapoints.filter((d): d is number => d !== undefined);
  const breaching = (value: number) => breaches(alarm.comparison, value, alarm.threshold);
  const threshold = format(alarm.threshold);
  const words = COMPARISON_WORDS[alarm.comparison];
  const listed = (values: readonly number[]) => `[${values.map(format).join(', ')}]`;
  const decide = (evaluated: readonly number[], filled: number, filledBreaching: boolean): Evaluation => {
    const count = evaluated.filter(breaching).length + (filledBreaching ? filled : 0);
    const state: AlarmState = count >= m ? 'ALARM' : 'OK';
    const fill =
      filled === 0
        ? ''
        : ` and ${filled} missing treated as ${filledBreaching ? 'breaching' : 'not breaching'}`;
    return {
      state,
      reason: `${count} of the last ${n} datapoint(s) ${listed(evaluated)}${fill} ${count === 1 ? 'was' : 'were'} ${words} the threshold (${threshold}); ${m} needed for ALARM.`,
      datapoints,
    };
  };

  if (existing.length >= n) return decide(existing.slice(-n), 0, false);
  if (existing.length === 0) {
    const none = `no datapoint in the last ${datapoints.length} period(s)`;
    switch (treatment) {
      case 'breaching':
        return { state: 'ALARM', reason: `${none}; missing data is treated as breaching.`, datapoints };
      case 'notBreaching':
        return { state: 'OK', reason: `${none}; missing data is treated as not breaching.`, datapoints };
      case 'missing':
        return {
          state: 'INSUFFICIENT_DATA',
          reason: `${none}; missing data is treated as missing.`,
          datapoints,
        };
      case 'ignore':
        return {
          state: current,
          reason: `${none}; missing data is ignored: the state stays ${current}.`,
          datapoints,
        };
    }
  }
  if (treatment === 'breaching' || treatment === 'notBreaching') {
    return decide(existing, n - existing.length, treatment === 'breaching');
  }
  const count = existing.filter(breaching).length;
  if (count >= m || existing.some((v) => !breaching(v))) return decide(existing, 0, false);
  return treatment === 'missing'
    ? {
        state: 'INSUFFICIENT_DATA',
        reason: `only ${existing.length} datapoint(s) ${listed(existing)}, all breaching, of the ${n} needed; missing data is treated as missing.`,
        datapoints,
      }
    : {
        state: current,
        reason: `only ${existing.length} datapoint(s) ${listed(existing)}, all breaching, of the ${n} needed; missing data is ignored: the state stays ${current}.`,
        datapoints,
      };
}

/** A composite alarm's state: ALARM while its rule holds over its children's states, else OK. */
export function evaluateCompositeAlarm(
  alarm: CompositeAlarmDefinition,
  stateOf: (alarm: string) => AlarmState | undefined,
): Omit<Evaluation, 'datapoints'> {
  const rule = parseCompositeRule(alarm.rule);
  const holds = ruleHolds(rule, stateOf);
  const children = [...new Set(alarmsOfRule(rule))];
  const inAlarm = children.filter((child) => stateOf(child) === 'ALARM');
  return {
    state: holds ? 'ALARM' : 'OK',
    reason: holds
      ? `the rule holds; in ALARM: ${inAlarm.join(', ') || 'none'}.`
      : `the rule does not hold; ${inAlarm.length} of its ${children.length} alarm(s) in ALARM.`,
  };
}
