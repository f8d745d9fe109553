import { Duration, Tags } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MetricName } from '../../functions/observability.js';
import type { SourceDefinition } from '../../sources/define.js';
import {
  type AlarmEntry,
  alarmName,
  FRESHNESS_CHECK_MINUTES,
  type SourceAlarmKind,
  SUCCESS_RATE_THRESHOLD,
  SUCCESS_RATE_WINDOW_MINUTES,
  sourceAlarmEntries,
} from '../alarm-catalogue.js';
import { OWNER_TAG } from '../ownership.js';
import { runbookDescription } from '../runbook-links.js';
import { sourceMetric, successRate } from '../sluice-metrics.js';
import type { WorkQueue } from './work-queue.js';

export interface SourceAlarmsProps {
  readonly appName: string;
  readonly source: SourceDefinition;
  /** The source's jobs queue; its DLQ alarm is the WorkQueue's own. */
  readonly jobs: WorkQueue;
  /** The SNS topic that notifies `owner`. */
  readonly topicFor: (owner: string) => ITopic;
  readonly runbookBaseUrl: string;
}

/**
 * A source's SLI alarms: success rate, oldest queued job, data age, hand-off backlog; with its
 * jobs queue's DLQ alarm, every alarm the catalogue lists for a source.
 */
export class SourceAlarms extends Construct {
  /** Every alarm of the source by kind, the DLQ alarm (the WorkQueue's own) included. */
  readonly alarms: ReadonlyMap<SourceAlarmKind, Alarm>;

  constructor(scope: Construct, id: string, props: SourceAlarmsProps) {
    super(scope, id);
    const { source } = props;
    const slaSeconds = source.freshnessSlaMinutes * 60;
    const entries = new Map(sourceAlarmEntries(source).map((e) => [e.kind, e]));
    const entry = (kind: SourceAlarmKind) => {
      const found = entries.get(kind);
      if (found === undefined) throw new Error(`the alarm catalogue has no ${kind} alarm`);
      return found;
    };
    const { appName } = props;
    const alarms = new Map<SourceAlarmKind, Alarm>([['dead-letters', props.jobs.deadLetterAlarm]]);
    const add = (
      constructId: string,
      kind: SourceAlarmKind,
      settings: {
        metric: IMetric;
        threshold: number;
        comparisonOperator: ComparisonOperator;
        treatMissingData: TreatMissingData;
      },
    ) => {
      const catalogued = entry(kind);
      const alarm = new Alarm(this, constructId, {
        alarmName: alarmName(appName, source.name, kind),
        alarmDescription: describe(catalogued, props.runbookBaseUrl),
        evaluationPeriods: 1,
        ...settings,
      });
      alarm.addAlarmAction(new SnsAction(props.topicFor(catalogued.owner)));
      // Above the source's own tags: the owner paged by this alarm may not be its collection owner.
      Tags.of(alarm).add(OWNER_TAG.pagedOwner, catalogued.owner, { priority: 200 });
      alarms.set(kind, alarm);
    };

    add('SuccessRateAlarm', 'success-rate', {
      metric: successRate(appName, source.name, Duration.minutes(SUCCESS_RATE_WINDOW_MINUTES)),
      threshold: SUCCESS_RATE_THRESHOLD,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // A window in which no job ended says nothing either way: the alarm keeps its state. So it
      // never clears only because upstream stopped sending (a source whose every job fails, once
      // an hour, stays in ALARM rather than flapping), and clears when a window of jobs succeeds;
      // a new source starts in INSUFFICIENT_DATA and pages nobody.
      treatMissingData: TreatMissingData.IGNORE,
    });
    add('OldestJobAlarm', 'oldest-job', {
      metric: props.jobs.metricOldestMessageAge({ period: Duration.minutes(5) }),
      threshold: slaSeconds / 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    add('DataAgeAlarm', 'data-age', {
      // Three checker runs per period, so one late run does not look like missing data.
      metric: sourceMetric(appName, source.name, MetricName.DataAge, {
        statistic: 'Maximum',
        period: Duration.minutes(FRESHNESS_CHECK_MINUTES * 3),
      }),
      threshold: slaSeconds,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // The checker publishes an age for every source it tracks, records or not (a new source
      // ages from its first check), so missing data means only that the checker is not running:
      // the pipeline owner's freshness-checks-missing alarm says that once, instead of every
      // source's owner being told their data is stale. And a fresh deploy, whose alarms may be
      // evaluated before the first check, pages nobody.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    add('HandoffBacklogAlarm', 'handoff-backlog', {
      // Published only while tasks are open: no data is no backlog.
      metric: sourceMetric(appName, source.name, MetricName.HandoffAge, {
        statistic: 'Maximum',
        period: Duration.minutes(FRESHNESS_CHECK_MINUTES * 3),
      }),
      threshold: slaSeconds / 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarms = alarms;
  }
}

export function describe(entry: AlarmEntry<string>, runbookBaseUrl: string): string {
  return runbookDescription({
    summary: `${entry.summary}\nAlarms when: ${entry.condition}.`,
    owner: entry.owner,
    runbook: entry.runbook,
    baseUrl: runbookBaseUrl,
  });
}
