import { Duration, Tags } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  FRESHNESS_CHECK_MINUTES,
  fleetAlarmName,
  PIPELINE_ALARM_ENTRIES,
  PIPELINE_OWNER,
  RETRY_SPIKE_MIN_ATTEMPTS,
  RETRY_SPIKE_PERCENT,
  RETRY_SPIKE_PERIOD_MINUTES,
} from '../alarm-catalogue.js';
import { OWNER_TAG } from '../ownership.js';
import { fleetRetryShare } from '../sluice-metrics.js';
import type { PipelineFunction } from './pipeline-function.js';
import { describe } from './source-alarms.js';

export interface FleetAlarmsProps {
  readonly appName: string;
  /** The freshness checker, whose runs the heartbeat alarm counts. */
  readonly freshnessChecker: PipelineFunction;
  /** The pipeline owner's topic. */
  readonly topic: ITopic;
  readonly runbookBaseUrl: string;
}

/**
 * The fleet's own alarms, one each however many sources there are, paging the pipeline owner:
 * a spike in retried attempts (the failure-spike signal; its per-source breakdown is on the
 * source stacks' dashboards), and a freshness checker that stopped running.
 */
export class FleetAlarms extends Construct {
  readonly retrySpike: Alarm;
  readonly freshnessChecksMissing: Alarm;

  constructor(scope: Construct, id: string, props: FleetAlarmsProps) {
    super(scope, id);
    const { appName } = props;
    const entry = PIPELINE_ALARM_ENTRIES;

    this.retrySpike = new Alarm(this, 'RetrySpikeAlarm', {
      alarmName: fleetAlarmName(appName, 'retry-spike'),
      alarmDescription: describe(entry['retry-spike'], props.runbookBaseUrl),
      metric: fleetRetryShare(
        appName,
        Duration.minutes(RETRY_SPIKE_PERIOD_MINUTES),
        RETRY_SPIKE_MIN_ATTEMPTS,
      ),
      threshold: RETRY_SPIKE_PERCENT,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      // No attempts at all is a quiet fleet, not a spike.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.retrySpike.addAlarmAction(new SnsAction(props.topic));

    // A heartbeat: Lambda counts an invocation every run, and publishes nothing while the checker
    // does not run. Missing data is `missing`, so the alarm goes to INSUFFICIENT_DATA when the
    // runs stop, and that state notifies. A new alarm starts in INSUFFICIENT_DATA, and a state it
    // starts in is no change, so a fresh deploy pages nobody before the first run.
    this.freshnessChecksMissing = new Alarm(this, 'FreshnessChecksMissingAlarm', {
      alarmName: fleetAlarmName(appName, 'freshness-checks-missing'),
      alarmDescription: describe(entry['freshness-checks-missing'], props.runbookBaseUrl),
      metric: props.freshnessChecker.function.metricInvocations({
        period: Duration.minutes(FRESHNESS_CHECK_MINUTES),
        statistic: 'Sum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.MISSING,
    });
    this.freshnessChecksMissing.addAlarmAction(new SnsAction(props.topic));
    this.freshnessChecksMissing.addInsufficientDataAction(new SnsAction(props.topic));

    for (const alarm of [this.retrySpike, this.freshnessChecksMissing]) {
      Tags.of(alarm).add(OWNER_TAG.pagedOwner, PIPELINE_OWNER);
    }
  }

  get alarms(): Alarm[] {
    return [this.retrySpike, this.freshnessChecksMissing];
  }
}
