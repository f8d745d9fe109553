import { Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { Grant, PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnResourcePolicy, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RECORD_CHANGED } from '../../functions/core/record-changes.js';
import { changeBusName, changeLogGroupName } from '../../functions/core/resource-names.js';
import { alarmName, PIPELINE_ALARM_ENTRIES } from '../alarm-catalogue.js';
import { PipelineFunction } from './pipeline-function.js';
import { describe } from './source-alarms.js';

export interface ChangeFeedProps {
  readonly appName: string;
  /** Its stream (new and old images) is what the change feed reads. */
  readonly recordsTable: TableV2;
  /** The pipeline owner's topic: the change feed's alarms notify it. */
  readonly alarmTopic: ITopic;
  readonly runbookBaseUrl: string;
}

/** How far behind the stream the change feed may fall before someone is told. */
export const CHANGE_FEED_LAG_ALARM_MINUTES = 15;
/** DynamoDB keeps a stream's records 24 hours: a change not published by then is gone from it. */
const STREAM_RETENTION = Duration.hours(24);

/**
 * The change feed: the records table's stream, read by a function that publishes a RecordChanged
 * event to the app's bus (`<app>-records`) for every record created or changed
 * (functions/core/record-changes.ts). Lambda's event source mapping retries a batch from its first
 * unpublished record, bisects a batch that keeps failing, and sends what it still cannot publish
 * to a dead-letter queue (with the stream position to republish from) before the stream forgets
 * it; both that queue and the feed's lag page the pipeline owner. A rule copies every event into
 * a log group, so `sluice changes` shows what was published (14 days).
 */
export class ChangeFeed extends Construct {
  readonly bus: EventBus;
  readonly function: PipelineFunction;
  readonly deadLetterQueue: Queue;
  readonly log: LogGroup;
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: ChangeFeedProps) {
    super(scope, id);
    const { appName } = props;
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: changeBusName(appName),
      description: `${appName}: a RecordChanged event for every record created or changed`,
    });
    this.function = new PipelineFunction(this, 'Function', {
      appName,
      entry: 'functions/change-feed/handler.ts',
      description: 'Sluice change feed: records table stream → RecordChanged events',
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: { CHANGE_BUS_NAME: this.bus.eventBusName },
    });
    // PutEvents to this bus alone (EventBus.grantPutEventsTo names the bus too).
    Grant.addToPrincipal({
      grantee: this.function.function,
      actions: ['events:PutEvents'],
      resourceArns: [this.bus.eventBusArn],
    });
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.function.function.addEventSource(
      new DynamoEventSource(props.recordsTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        // Events are published in stream order; a failed one is retried before anything after it.
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        // Keep trying for as long as the stream holds the record, then hand it to the DLQ.
        retryAttempts: 10_000,
        maxRecordAge: STREAM_RETENTION,
        onFailure: new SqsDlq(this.deadLetterQueue),
        parallelizationFactor: 1,
      }),
    );

    // What was published, readable with `sluice changes` (EventBridge keeps no event itself).
    this.log = new LogGroup(this, 'Log', {
      logGroupName: changeLogGroupName(appName),
      retention: RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // EventBridge writes to a log group only with a resource policy allowing it; CDK's log group
    // target makes that policy with a custom-resource function, a plain resource needs none.
    new CfnResourcePolicy(this, 'LogPolicy', {
      policyName: `${appName}-record-changes-log`,
      policyDocument: Stack.of(this).toJsonString(
        new PolicyDocument({
          statements: [
            new PolicyStatement({
              principals: [new ServicePrincipal('events.amazonaws.com')],
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.log.logGroupArn],
              conditions: {
                ArnEquals: {
                  'aws:SourceArn': `arn:${Stack.of(this).partition}:events:${Stack.of(this).region}:${Stack.of(this).account}:rule/${changeBusName(appName)}/*`,
                },
              },
            }),
          ],
        }).toJSON(),
      ),
    });
    // How the CLI and the local environment find the log, and the bus, among the app's resources.
    Tags.of(this.log).add('sluice:role', 'change-log');
    Tags.of(this.bus).add('sluice:role', 'change-bus');
    const logTarget: IRuleTarget = { bind: () => ({ arn: this.log.logGroupArn }) };
    new Rule(this, 'LogRule', {
      eventBus: this.bus,
      description: 'Copies every RecordChanged event into the change log (sluice changes)',
      eventPattern: { source: [RECORD_CHANGED.source], detailType: [RECORD_CHANGED.detailType] },
      targets: [logTarget],
    });

    const alarm = (
      constructId: string,
      kind: 'change-feed-dead-letters' | 'change-feed-lag',
      settings: Pick<ConstructorParameters<typeof Alarm>[2], 'metric' | 'threshold' | 'evaluationPeriods'>,
    ) => {
      const created = new Alarm(this, constructId, {
        alarmName: alarmName(appName, 'change-feed', kind.replace(/^change-feed-/, '')),
        alarmDescription: describe(PIPELINE_ALARM_ENTRIES[kind], props.runbookBaseUrl),
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...settings,
      });
      created.addAlarmAction(new SnsAction(props.alarmTopic));
      return created;
    };
    this.alarms = [
      alarm('DeadLettersAlarm', 'change-feed-dead-letters', {
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
      alarm('LagAlarm', 'change-feed-lag', {
        metric: this.function.function.metric('IteratorAge', {
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: CHANGE_FEED_LAG_ALARM_MINUTES * 60_000,
        evaluationPeriods: 1,
      }),
    ];
  }
}
