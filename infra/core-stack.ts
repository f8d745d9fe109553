import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TASKS_BY_STATUS_INDEX } from '../functions/adapters/handoff-tasks.js';
import { LEDGER_EXPIRY_ATTRIBUTE } from '../functions/adapters/job-ledger.js';
import { MANIFEST_NAME, RAW_PREFIX } from '../functions/core/raw-layout.js';
import { transformQueueName } from '../functions/core/resource-names.js';
import { TRANSFORM_MAX_RECEIVE_COUNT } from '../functions/core/transform-budget.js';
import type { SourceDefinition } from '../sources/define.js';
import { findParser } from '../sources/parsers.js';
import { alarmOwners, deadLetterAlarmName, PIPELINE_OWNER } from './alarm-catalogue.js';
import { AlarmTopic } from './constructs/alarm-topic.js';
import { ChangeFeed } from './constructs/change-feed.js';
import { FUNCTION_SETTINGS } from './constructs/collector-function.js';
import { Operations } from './constructs/operations.js';
import { pascalCase } from './constructs/pipeline-alarms.js';
import { PipelineFunction } from './constructs/pipeline-function.js';
import { RawBucket } from './constructs/raw-bucket.js';
import { WorkQueue } from './constructs/work-queue.js';
import {
  grantFollowUps,
  grantHandoff,
  grantItems,
  pipelineEnvironment,
  type SharedResources,
} from './shared-resources.js';
import type { SourceStackPlan } from './source-stacks.js';

export interface CoreStackProps extends StackProps {
  /** The deployment's name (context `sluice:appName`): every physical name starts with it. */
  readonly appName: string;
  /** Every source of the app, in registry order: owners, tags and the freshness checker read them. */
  readonly sources: readonly SourceDefinition[];
  /** The source stacks, for the overview dashboard's roll-ups and links. */
  readonly sourceStacks: readonly SourceStackPlan[];
  /** Where `runbooks/` is published, e.g. the repository's blob URL; alarm descriptions link into it. */
  readonly runbookBaseUrl: string;
  /** @default - no break-glass role, no default Object Lock retention */
  readonly rawStorage?: RawStorageSettings;
  /** @default DEFAULT_LEDGER_RETENTION_DAYS */
  readonly ledgerRetentionDays?: number;
  /**
   * DynamoDB deletion protection on the tables. Off by default: CloudFormation cannot delete a
   * protected table, so a failed first deploy could not roll back cleanly. Turn it on once the
   * app has deployed (context `sluice:tableDeletionProtection`). @default false
   */
  readonly tableDeletionProtection?: boolean;
  /** The app holds the test-fixture sources (context `sluice:fixtureSources`; local only). @default false */
  readonly fixtureSources?: boolean;
}

/** Settings of the raw bucket that differ between deployments (see RawBucketProps). */
export interface RawStorageSettings {
  /** @default - nobody may delete raw objects */
  readonly breakGlassRoleArn?: string;
  /** @default - no default retention */
  readonly objectLockGovernanceDays?: number;
}

/** Ledger items expire this many days after their job's last write, unless configured otherwise. */
export const DEFAULT_LEDGER_RETENTION_DAYS = 400;

/**
 * The core stack: what every source shares. Raw storage, the records, ledger and hand-off tables,
 * the hand-off topic and one alarm topic per owner, the transform stage, and operations (the
 * freshness checker, the shared pipeline's alarms, the overview dashboard). It changes when an
 * owner appears or a source stack opens, not when a source is added to an existing stack.
 */
export class CoreStack extends Stack {
  readonly appName: string;
  /** Every source of the app. */
  readonly sources: readonly SourceDefinition[];
  readonly rawBucket: RawBucket;
  readonly recordsTable: TableV2;
  readonly ledgerTable: TableV2;
  readonly tasksTable: TableV2;
  readonly handoffTopic: Topic;
  /** One topic per owner an alarm notifies, by owner. */
  readonly alarmTopics: ReadonlyMap<string, AlarmTopic>;
  readonly transformQueue: WorkQueue;
  readonly transform: PipelineFunction;
  readonly operations: Operations;
  /** RecordChanged events for every record created or changed (the records table's stream). */
  readonly changeFeed: ChangeFeed;
  /** What the source stacks are given. */
  readonly shared: SharedResources;

  /** Every Sluice function of this stack (the transform and the freshness checker). */
  get pipelineFunctions(): PipelineFunction[] {
    return [this.transform, this.operations.freshnessChecker.function, this.changeFeed.function];
  }

  /** Every dead-letter queue of this stack: the transform's, the freshness schedule's, the change feed's. */
  get deadLetterQueues(): Queue[] {
    return [
      this.transformQueue.deadLetterQueue,
      this.operations.freshnessChecker.scheduleDeadLetterQueue,
      this.changeFeed.deadLetterQueue,
    ];
  }

  constructor(scope: Construct, id: string, props: CoreStackProps) {
    super(scope, id, props);
    const { appName, sources, runbookBaseUrl } = props;
    this.appName = appName;
    this.sources = sources;
    const ledgerRetentionDays = props.ledgerRetentionDays ?? DEFAULT_LEDGER_RETENTION_DAYS;

    // ---- Storage -------------------------------------------------------------------------------
    // Stateful resources are kept when the stack is updated or deleted, but removed when the
    // deploy that created them fails: a failed first deploy leaves nothing behind.
    const accessLogs = new Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    this.rawBucket = new RawBucket(this, 'RawBucket', {
      serverAccessLogsBucket: accessLogs,
      ...props.rawStorage,
    });

    Tags.of(this.rawBucket).add('sluice:role', 'raw');
    Tags.of(accessLogs).add('sluice:role', 'access-logs');

    const tableDefaults = {
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      // Also what brings back a table deleted by mistake: DynamoDB keeps a backup of it for 35 days.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.tableDeletionProtection ?? false,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    } as const;
    this.recordsTable = new TableV2(this, 'RecordsTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      // The change feed reads every write with its before and after (infra/constructs/change-feed.ts).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    this.ledgerTable = new TableV2(this, 'JobLedgerTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      // Job items expire after the retention (functions/adapters/job-ledger.ts); freshness marks never.
      timeToLiveAttribute: LEDGER_EXPIRY_ATTRIBUTE,
      globalSecondaryIndexes: [
        {
          indexName: 'byTrace',
          partitionKey: { name: 'traceId', type: AttributeType.STRING },
          sortKey: { name: 'sk', type: AttributeType.STRING },
        },
      ],
    });

    // Hand-off tasks: decisions that need a person, one per job and stage, announced on a topic.
    this.tasksTable = new TableV2(this, 'HandoffTasksTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: TASKS_BY_STATUS_INDEX,
          partitionKey: { name: 'status', type: AttributeType.STRING },
          sortKey: { name: 'createdAt', type: AttributeType.STRING },
        },
      ],
    });
    this.handoffTopic = new Topic(this, 'HandoffTopic', {
      displayName: 'Sluice hand-off tasks',
      enforceSSL: true,
    });
    Tags.of(this.recordsTable).add('sluice:role', 'records');
    Tags.of(this.ledgerTable).add('sluice:role', 'ledger');
    Tags.of(this.ledgerTable).add('sluice:retention-days', String(ledgerRetentionDays));
    Tags.of(this.tasksTable).add('sluice:role', 'tasks');
    Tags.of(this.handoffTopic).add('sluice:role', 'handoff');

    this.shared = {
      appName,
      runbookBaseUrl,
      rawBucket: this.rawBucket,
      ledgerTable: this.ledgerTable,
      tasksTable: this.tasksTable,
      handoffTopic: this.handoffTopic,
      ledgerRetentionDays,
    };

    // ---- Alarm topics, one per owner; source stacks find them by name ---------------------------
    const alarmTopics = new Map<string, AlarmTopic>();
    for (const owner of alarmOwners(sources)) {
      alarmTopics.set(owner, new AlarmTopic(this, `AlarmTopic${pascalCase(owner)}`, { appName, owner }));
    }
    this.alarmTopics = alarmTopics;
    const topicFor = (owner: string) => {
      const topic = alarmTopics.get(owner);
      if (topic === undefined) throw new Error(`no alarm topic for owner ${owner}`);
      return topic.topic;
    };

    // ---- Transform stage -----------------------------------------------------------------------
    this.transformQueue = new WorkQueue(this, 'TransformQueue', {
      queueName: transformQueueName(appName),
      purpose: 'transform',
      stage: 'transform',
      consumerTimeout: FUNCTION_SETTINGS.transform.timeout,
      maxReceiveCount: TRANSFORM_MAX_RECEIVE_COUNT,
      owner: PIPELINE_OWNER,
      alarmTopic: topicFor(PIPELINE_OWNER),
      deadLetterAlarmName: deadLetterAlarmName(appName, 'transform'),
      runbookBaseUrl,
    });
    this.transform = new PipelineFunction(this, 'Transform', {
      appName,
      entry: 'functions/transform/handler.ts',
      description: 'Sluice transform: raw manifest → parse → validate → conditional upsert',
      ...FUNCTION_SETTINGS.transform,
      environment: {
        ...pipelineEnvironment(this.shared),
        RECORDS_TABLE_NAME: this.recordsTable.tableName,
      },
    });
    this.rawBucket.grantReadRaw(this.transform.function);
    grantItems(this.recordsTable, this.transform.function, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    grantItems(this.ledgerTable, this.transform.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.transformQueue.grantDeadLetter(this.transform.function);
    // The follow-ups parsers read in raw bodies: the queues their sources name, in any stack.
    grantFollowUps(
      this.transform.function,
      appName,
      sources.flatMap((s) =>
        findParser(s.name)?.followUps === undefined ? [] : (s.followUps?.targets ?? []),
      ),
    );
    grantHandoff(this.shared, this.transform.function);
    this.transform.function.addEventSource(
      new SqsEventSource(this.transformQueue.queue, {
        batchSize: 10,
        // No batching window: a manifest is transformed as soon as a poller receives it, instead of
        // waiting up to the window for nine more (docs/benchmarks.md, "Decisions").
        reportBatchItemFailures: true,
        maxConcurrency: 10,
      }),
    );
    this.rawBucket.addEventNotification(
      EventType.OBJECT_CREATED,
      new SqsDestination(this.transformQueue.queue),
      {
        prefix: RAW_PREFIX,
        suffix: MANIFEST_NAME,
      },
    );

    // ---- Change feed --------------------------------------------------------------------------
    this.changeFeed = new ChangeFeed(this, 'ChangeFeed', {
      appName,
      recordsTable: this.recordsTable,
      alarmTopic: topicFor(PIPELINE_OWNER),
      runbookBaseUrl,
    });

    // ---- Operations: freshness checker, alarms, overview dashboard, owner tags ----------------
    this.operations = new Operations(this, 'Operations', {
      changeFeed: this.changeFeed,
      appName,
      sources,
      sourceStacks: props.sourceStacks,
      transformQueue: this.transformQueue,
      transform: this.transform,
      recordsTable: this.recordsTable,
      ledgerTable: this.ledgerTable,
      tasksTable: this.tasksTable,
      rawBucket: this.rawBucket,
      alarmTopic: topicFor(PIPELINE_OWNER),
      runbookBaseUrl,
      includeFixtureSources: props.fixtureSources ?? false,
    });
  }
}
