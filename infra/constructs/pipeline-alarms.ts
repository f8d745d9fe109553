import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Operation, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  alarmName,
  DURATION_ALARM_SHARE,
  PIPELINE_ALARM_ENTRIES,
  type PipelineAlarmKind,
} from '../alarm-catalogue.js';
import type { PipelineFunction } from './pipeline-function.js';
import { describe } from './source-alarms.js';

export interface WatchedFunction {
  /** Short name used in alarm names and on the dashboard, e.g. `transform`, `Sources-01-http-collector`. */
  readonly name: string;
  readonly fn: PipelineFunction;
}

export interface WatchedTable {
  readonly name: string;
  readonly table: TableV2;
  /**
   * The operations Sluice performs on the table. An alarm's metric math takes at most 10 metrics,
   * so the throttling alarm watches these rather than every operation DynamoDB has.
   */
  readonly operations: readonly Operation[];
}

export interface PipelineAlarmsProps {
  readonly appName: string;
  readonly functions: readonly WatchedFunction[];
  /** @default - none */
  readonly tables?: readonly WatchedTable[];
  readonly topic: ITopic;
  readonly runbookBaseUrl: string;
}

/** Alarms on what every source shares: function errors, throttles and duration; table throttling. */
export class PipelineAlarms extends Construct {
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const alarms: Alarm[] = [];
    const add = (
      constructId: string,
      kind: PipelineAlarmKind,
      subject: string,
      settings: { metric: IMetric; threshold: number; evaluationPeriods: number; datapointsToAlarm: number },
    ) => {
      const entry = PIPELINE_ALARM_ENTRIES[kind];
      const alarm = new Alarm(this, constructId, {
        alarmName: alarmName(props.appName, subject, kind),
        alarmDescription: describe(
          { ...entry, summary: `${subject}: ${entry.summary}` },
          props.runbookBaseUrl,
        ),
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...settings,
      });
      alarm.addAlarmAction(new SnsAction(props.topic));
      alarms.push(alarm);
    };
    const fiveMinutes = Duration.minutes(5);
    const twoOfThree = { evaluationPeriods: 3, datapointsToAlarm: 2 };

    for (const { name, fn } of props.functions) {
      const id = pascalCase(name);
      add(`${id}ErrorsAlarm`, 'function-errors', name, {
        metric: fn.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        ...twoOfThree,
      });
      add(`${id}ThrottlesAlarm`, 'function-throttles', name, {
        metric: fn.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        ...twoOfThree,
      });
      const timeout = fn.function.timeout;
      if (timeout === undefined) throw new Error(`function ${name} has no timeout to alarm against`);
      add(`${id}DurationAlarm`, 'function-duration', name, {
        metric: fn.function.metricDuration({ period: fiveMinutes, statistic: 'p99' }),
        threshold: Math.round(timeout.toMilliseconds() * DURATION_ALARM_SHARE),
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      });
    }
    for (const watched of props.tables ?? []) {
      add(`${pascalCase(watched.name)}ThrottlingAlarm`, 'table-throttling', watched.name, {
        metric: throttledRequests(watched, fiveMinutes),
        threshold: 1,
        ...twoOfThree,
      });
    }
    this.alarms = alarms;
  }
}

/**
 * A table's throttled requests over the operations Sluice performs, summed. DynamoDB publishes
 * ThrottledRequests per operation only when that operation is throttled, so each operand is
 * FILLed with 0: without it, one operation with no data in a period would leave the whole sum
 * without a value (CDK's metricThrottledRequestsForOperations adds them bare). `idPrefix` keeps
 * metric IDs apart when several tables share one graph.
 */
export function throttledRequests(watched: WatchedTable, period: Duration, idPrefix = ''): MathExpression {
  const usingMetrics = Object.fromEntries(
    watched.operations.map((operation) => [
      `${idPrefix}${operation.toLowerCase()}`,
      watched.table.metricThrottledRequestsForOperation(operation, { period, statistic: 'Sum' }),
    ]),
  );
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label: `${watched.name} throttled requests`,
    period,
  });
}

export function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
