import { describe, expect, it } from 'vitest';
import {
  alarmDatapoints,
  evaluateCompositeAlarm,
  evaluateMetricAlarm,
  type Sample,
  type SampleSource,
  statistic,
} from '../../../local/alarms/alarm-evaluator.js';
import {
  type AlarmState,
  type CompositeAlarmDefinition,
  compositeAlarmFrom,
  type MetricAlarmDefinition,
  type MetricIdentity,
  type MissingDataTreatment,
  metricAlarmFrom,
} from '../../../local/alarms/alarm-model.js';

const AT = Date.parse('2026-12-01T12:00:00.000Z');
const MINUTE = 60_000;
const metric: MetricIdentity = { namespace: 'Test', metricName: 'Value', dimensions: { source: 'a' } };

/** Samples keyed by metric name; every metric here has dimensions `{ source: 'a' }` unless given. */
function sourceOf(samples: { readonly [metricName: string]: readonly Sample[] }): SampleSource {
  return (m, from, to) =>
    m.dimensions.source === 'a' || m.namespace !== 'Test'
      ? (samples[m.metricName] ?? []).filter((s) => s.at >= from && s.at < to)
      : [];
}

/**
 * One sample per period for a pattern written oldest first, as in the CloudWatch guide's tables:
 * `X` breaching (10 against a threshold of 5), `0` fine (1), `-` missing. The last character is
 * the period ending at AT.
 */
function pattern(text: string, periodMs = MINUTE): Sample[] {
  const marks = text.split(' ');
  return marks.flatMap((mark, index) => {
    const periodStart = AT - (marks.length - index) * periodMs;
    if (mark === '-') return [];
    return [{ at: periodStart + periodMs / 2, value: mark === 'X' ? 10 : 1 }];
  });
}

function alarm(overrides: Partial<MetricAlarmDefinition> = {}): MetricAlarmDefinition {
  return {
    kind: 'metric',
    name: 'test-alarm',
    id: 'Stack.TestAlarm',
    comparison: 'GreaterThanThreshold',
    threshold: 5,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: 'missing',
    periodSeconds: 60,
    metric: { metric, stat: 'Maximum', periodSeconds: 60 },
    lowSampleCountPercentile: 'evaluate',
    notifiesOn: ['ALARM'],
    description: '',
    ...overrides,
  };
}

const stateFor = (
  text: string,
  treatMissingData: MissingDataTreatment,
  datapointsToAlarm: number,
  current: AlarmState = 'OK',
) =>
  evaluateMetricAlarm(alarm({ treatMissingData, datapointsToAlarm }), sourceOf({ Value: pattern(text) }), {
    at: AT,
    current,
  }).state;

/** The state for each treatment; `retain` when the alarm keeps whatever state it was in. */
const row = (text: string, datapointsToAlarm: number) =>
  (['missing', 'ignore', 'breaching', 'notBreaching'] as const).map((treatment) => {
    const fromOk = stateFor(text, treatment, datapointsToAlarm, 'OK');
    const fromAlarm = stateFor(text, treatment, datapointsToAlarm, 'ALARM');
    return fromOk === fromAlarm ? fromOk : fromOk === 'OK' && fromAlarm === 'ALARM' ? 'retain' : '?';
  });

describe('statistic', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);

  it('computes the five basic statistics', () => {
    expect(
      ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'].map((s) => statistic(s, [2, 4, 9])),
    ).toEqual([3, 15, 5, 2, 9]);
  });

  it('computes a percentile by nearest rank', () => {
    expect(statistic('p99', values)).toBe(99);
    expect(statistic('p50', values)).toBe(50);
    expect(statistic('p99', [120, 5])).toBe(120);
    expect(statistic('p99.9', values)).toBe(100);
  });

  it('has no value without samples, and refuses a statistic it does not know', () => {
    expect(statistic('Average', [])).toBeUndefined();
    expect(() => statistic('tm99', values)).toThrow('tm99 is not evaluated locally');
  });
});

// The tables of "How alarm state is evaluated when data is missing" (Datapoints to Alarm and
// Evaluation Periods 3, then 2 of 3; CloudWatch retrieves 5 periods). `current` is OK.
describe('an alarm with 3 of 3 datapoints to alarm, by missing-data treatment', () => {
  it.each([
    ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
    ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - -', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
    ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ])('%s: missing %s, ignore %s, breaching %s, notBreaching %s', (text, ...expected) => {
    expect(row(text, 3)).toEqual(expected);
  });
});

describe('an alarm with 2 of 3 datapoints to alarm (M out of N)', () => {
  it.each([
    ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ])('%s: missing %s, ignore %s, breaching %s, notBreaching %s', (text, ...expected) => {
    expect(row(text, 2)).toEqual(expected);
  });

  it('evaluates the most recent three datapoints when more exist: X X 0 0 X is OK', () => {
    expect(stateFor('X X 0 0 X', 'notBreaching', 2)).toBe('OK');
  });
});

describe('periods', () => {
  it('aggregate the samples of each period with the statistic', () => {
    const samples = [
      { at: AT - 50_000, value: 3 },
      { at: AT - 10_000, value: 7 },
      { at: AT - 70_000, value: 100 },
    ];
    const a = alarm({
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      metric: { metric, stat: 'Sum', periodSeconds: 60 },
    });

    expect(alarmDatapoints(a, sourceOf({ Value: samples }), AT)).toEqual([undefined, 100, 10]);
  });

  it('run at the local time scale: a 15-minute period is 15 seconds at 1/60', () => {
    const a = alarm({
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      periodSeconds: 900,
      metric: { metric, stat: 'Maximum', periodSeconds: 900 },
    });
    const samples = [
      { at: AT - 14_000, value: 9 },
      { at: AT - 16_000, value: 1 },
    ];

    expect(alarmDatapoints(a, sourceOf({ Value: samples }), AT, 1 / 60)).toEqual([undefined, 1, 9]);
  });
});

describe('metric math', () => {
  const throttles = (operands: string) =>
    metricAlarmFrom('Core.TableThrottling', {
      AlarmName: 'table-throttling',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: [
        { Id: 'expr', Expression: operands, ReturnData: true },
        ...['put', 'query'].map((id) => ({
          Id: id,
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'Test', MetricName: id, Dimensions: [{ Name: 'source', Value: 'a' }] },
            Period: 60,
            Stat: 'Sum',
          },
        })),
      ],
    });
  // Two throttled puts in the last minute; queries were never throttled, so never published.
  const data = sourceOf({ put: [{ at: AT - 1000, value: 2 }] });

  it('loses the sum where one operand has no datapoint', () => {
    const evaluation = evaluateMetricAlarm(throttles('put + query'), data, { at: AT });

    expect(evaluation.datapoints).toEqual([undefined, undefined, undefined]);
    expect(evaluation.state).toBe('OK');
  });

  it('keeps the sum with FILL, and alarms on it', () => {
    const evaluation = evaluateMetricAlarm(throttles('FILL(put, 0) + FILL(query, 0)'), data, { at: AT });

    expect(evaluation.datapoints).toEqual([0, 0, 2]);
    expect(evaluation.state).toBe('ALARM');
  });

  it('computes the retry share with IF, only over periods with enough attempts', () => {
    const retryShare = metricAlarmFrom('Core.RetrySpike', {
      AlarmName: 'retry-spike',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 25,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: [
        { Id: 'share', Expression: 'IF(attempts >= 20, 100 * retried / attempts, 0)', ReturnData: true },
        ...[
          ['retried', 'Sum'],
          ['attempts', 'SampleCount'],
        ].map(([id, stat]) => ({
          Id: id,
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'Test',
              MetricName: 'Retried',
              Dimensions: [{ Name: 'source', Value: 'a' }],
            },
            Period: 60,
            Stat: stat,
          },
        })),
      ],
    });
    // Three minutes: 10 attempts with 5 retried (too few to count), 40 with 12 (30 %), 20 with 4 (20 %).
    const minute = (minutesAgo: number, attempts: number, retried: number): Sample[] =>
      Array.from({ length: attempts }, (_, i) => ({
        at: AT - minutesAgo * MINUTE + 100 + i,
        value: i < retried ? 1 : 0,
      }));
    const samples = [...minute(3, 10, 5), ...minute(2, 40, 12), ...minute(1, 20, 4)];

    const evaluation = evaluateMetricAlarm(retryShare, sourceOf({ Retried: samples }), { at: AT });

    expect(evaluation.datapoints).toEqual([undefined, undefined, 0, 30, 20]);
    expect(evaluation.state).toBe('OK');
    const spike = [...samples, ...minute(4, 40, 20)];
    expect(evaluateMetricAlarm(retryShare, sourceOf({ Retried: spike }), { at: AT }).datapoints).toEqual([
      undefined,
      50,
      0,
      30,
      20,
    ]);
  });

  it('refuses SEARCH and other graph-only functions, naming them', () => {
    expect(() => evaluateMetricAlarm(throttles("SEARCH('{Test} x', 'Sum', 60)"), data, { at: AT })).toThrow(
      /unsupported character/,
    );
    expect(() => evaluateMetricAlarm(throttles('ANOMALY_DETECTION_BAND(put)'), data, { at: AT })).toThrow(
      'ANOMALY_DETECTION_BAND is not evaluated locally',
    );
  });
});

describe('special rules', () => {
  it('ignores missing data for AWS/DynamoDB metrics whatever the alarm says', () => {
    const dynamo = alarm({
      treatMissingData: 'breaching',
      metric: {
        metric: { namespace: 'AWS/DynamoDB', metricName: 'ThrottledRequests', dimensions: {} },
        stat: 'Sum',
        periodSeconds: 60,
      },
    });

    expect(evaluateMetricAlarm(dynamo, () => [], { at: AT, current: 'OK' }).state).toBe('OK');
  });

  it('waits for enough samples before a percentile counts, when told to ignore low counts', () => {
    const slow = [{ at: AT - 1000, value: 900 }];
    const p99 = (lowSampleCountPercentile: 'evaluate' | 'ignore') =>
      alarm({
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: 'notBreaching',
        threshold: 500,
        lowSampleCountPercentile,
        metric: { metric, stat: 'p99', periodSeconds: 60 },
      });

    expect(evaluateMetricAlarm(p99('evaluate'), sourceOf({ Value: slow }), { at: AT }).state).toBe('ALARM');
    expect(evaluateMetricAlarm(p99('ignore'), sourceOf({ Value: slow }), { at: AT }).state).toBe('OK');
  });

  it('says in its reason what it saw', () => {
    const evaluation = evaluateMetricAlarm(
      alarm({ treatMissingData: 'notBreaching', datapointsToAlarm: 2 }),
      sourceOf({ Value: pattern('- - 0 X X') }),
      { at: AT },
    );

    expect(evaluation.reason).toBe(
      '2 of the last 3 datapoint(s) [1, 10, 10] were greater than the threshold (5); 2 needed for ALARM.',
    );
  });
});

describe('composite alarms', () => {
  const composite = (rule: string): CompositeAlarmDefinition =>
    compositeAlarmFrom('Stack.Rollup', { AlarmName: 'rollup', AlarmRule: rule });
  const states = new Map<string, AlarmState>([
    ['a', 'ALARM'],
    ['b', 'OK'],
    ['c', 'INSUFFICIENT_DATA'],
  ]);
  const stateOf = (name: string) => states.get(name);

  it('is in ALARM while its rule holds over its children, named by ARN or name', () => {
    expect(
      evaluateCompositeAlarm(
        composite('(ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a") OR ALARM("b"))'),
        stateOf,
      ),
    ).toEqual({ state: 'ALARM', reason: 'the rule holds; in ALARM: a.' });
  });

  it('combines AND, OR, NOT and the three states', () => {
    const state = (rule: string) => evaluateCompositeAlarm(composite(rule), stateOf).state;

    expect(state('ALARM(a) AND OK(b)')).toBe('ALARM');
    expect(state('ALARM(a) AND NOT OK(b)')).toBe('OK');
    expect(state('INSUFFICIENT_DATA(c) AND (ALARM(b) OR TRUE)')).toBe('ALARM');
    expect(state('ALARM(missing-child)')).toBe('OK');
  });

  it('refuses what it does not evaluate', () => {
    expect(() => evaluateCompositeAlarm(composite('AT_LEAST(2, ALARM, (a, b))'), stateOf)).toThrow(
      'AT_LEAST is not evaluated locally',
    );
  });
});

describe('alarm definitions', () => {
  it('default DatapointsToAlarm to EvaluationPeriods and TreatMissingData to missing, like CloudWatch', () => {
    const parsed = metricAlarmFrom('S.A', {
      AlarmName: 'x',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: 'q' }],
      Period: 300,
      Statistic: 'Maximum',
      AlarmActions: ['arn:topic'],
      InsufficientDataActions: ['arn:topic'],
    });

    expect(parsed).toMatchObject({
      datapointsToAlarm: 2,
      treatMissingData: 'missing',
      notifiesOn: ['ALARM', 'INSUFFICIENT_DATA'],
    });
  });

  it('refuse metric math whose metrics differ in period', () => {
    expect(() =>
      metricAlarmFrom('S.A', {
        AlarmName: 'x',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
        Metrics: [
          { Id: 'e', Expression: 'a + b', ReturnData: true },
          {
            Id: 'a',
            ReturnData: false,
            MetricStat: { Metric: { Namespace: 'N', MetricName: 'a' }, Period: 60, Stat: 'Sum' },
          },
          {
            Id: 'b',
            ReturnData: false,
            MetricStat: { Metric: { Namespace: 'N', MetricName: 'b' }, Period: 300, Stat: 'Sum' },
          },
        ],
      }),
    ).toThrow('every metric of an alarm uses one period, got 60, 300');
  });
});
