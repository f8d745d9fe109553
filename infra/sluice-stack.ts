import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TASKS_BY_STATUS_INDEX } from '../functions/adapters/handoff-tasks.js';
import { MANIFEST_NAME, RAW_PREFIX } from '../functions/core/raw-layout.js';
import { maxReceiveCountFor } from '../functions/core/retry-policy.js';
import { TRANSFORM_MAX_RECEIVE_COUNT } from '../functions/core/transform-budget.js';
import type { CollectorKind, SourceDefinition } from '../sources/define.js';
import { alarmOwners, PIPELINE_OWNER } from './alarm-catalogue.js';
import { Operations } from './constructs/operations.js';
import { PipelineFunction } from './constructs/pipeline-function.js';
import { RawBucket } from './constructs/raw-bucket.js';
import { WorkQueue } from './constructs/work-queue.js';
import { retryBudgetProblem } from './retry-budget-check.js';

export interface SluiceStackProps extends StackProps {
  readonly sources: readonly SourceDefinition[];
  /** Where `runbooks/` is published, e.g. the repository's blob URL; alarm descriptions link into it. */
  readonly runbookBaseUrl: string;
  /** @default - no break-glass role, no default Object Lock retention */
  readonly rawStorage?: RawStorageSettings;
}

/** Settings of the raw bucket that differ between deployments (see RawBucketProps). */
export interface RawStorageSettings {
  /** @default - nobody may delete raw objects */
  readonly breakGlassRoleArn?: string;
  /** @default - no default retention */
  readonly objectLockGovernanceDays?: number;
}

/** Function sizing per stage; the queues' visibility timeouts are derived from these timeouts. */
export const FUNCTION_SETTINGS = {
  http: { timeout: Duration.seconds(60), memorySize: 512 },
  browser: { timeout: Duration.seconds(120), memorySize: 2048 },
  transform: { timeout: Duration.seconds(60), memorySize: 1024 },
} as const;

/**
 * A browser job's own watchdog: the function timeout minus what the handler needs afterwards
 * (snapshots, raw writes, the ledger), so a hung browser is caught and the job retried cleanly
 * instead of the whole invocation being killed.
 */
export const BROWSER_JOB_TIMEOUT = Duration.seconds(FUNCTION_SETTINGS.browser.timeout.toSeconds() - 20);

/**
 * Item actions on a table itself. TableV2.grant adds `<table>/index/*` as well, where no item is
 * ever written; a function that queries an index is granted that index by name.
 */
function grantItems(table: TableV2, grantee: IGrantable, ...actions: string[]): Grant {
  return Grant.addToPrincipal({ grantee, actions, resourceArns: [table.tableArn] });
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}

export class SluiceStack extends Stack {
  /** The sources this stack collects, as the registry (and the fixture flag) gave them. */
  readonly sources: readonly SourceDefinition[];
  readonly rawBucket: RawBucket;
  readonly recordsTable: TableV2;
  readonly ledgerTable: TableV2;
  readonly tasksTable: TableV2;
  readonly handoffTopic: Topic;
  readonly transformQueue: WorkQueue;
  readonly sourceQueues: ReadonlyMap<string, WorkQueue>;
  /** The login secret of each source that signs in, by source name. */
  readonly sourceCredentials: ReadonlyMap<string, Secret>;
  readonly collectors: ReadonlyMap<CollectorKind, PipelineFunction>;
  readonly transform: PipelineFunction;
  readonly operations: Operations;

  /** Every Sluice function (collectors, transform, freshness checker). */
  get pipelineFunctions(): PipelineFunction[] {
    return [...this.queueConsumers, this.operations.freshnessChecker.function];
  }

  /** The functions an SQS event source mapping invokes. */
  get queueConsumers(): PipelineFunction[] {
    return [...this.collectors.values(), this.transform];
  }

  /** Every dead-letter queue: per source, the transform's, and the freshness schedule's. */
  get deadLetterQueues(): Queue[] {
    return [
      ...[...this.sourceQueues.values()].map((q) => q.deadLetterQueue),
      this.transformQueue.deadLetterQueue,
      this.operations.freshnessChecker.scheduleDeadLetterQueue,
    ];
  }

  constructor(scope: Construct, id: string, props: SluiceStackProps) {
    super(scope, id, props);
    const { sources, runbookBaseUrl } = props;
    this.sources = sources;

    // ---- Storage -------------------------------------------------------------------------------
    const accessLogs = new Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: RemovalPolicy.RETAIN,
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
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.recordsTable = new TableV2(this, 'RecordsTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
    });
    this.ledgerTable = new TableV2(this, 'JobLedgerTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
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
    Tags.of(this.tasksTable).add('sluice:role', 'tasks');
    Tags.of(this.handoffTopic).add('sluice:role', 'handoff');

    // ---- Alarm topics, one per owner -----------------------------------------------------------
    const alarmTopics = new Map(
      alarmOwners(sources).map((owner) => [
        owner,
        new Topic(this, `AlarmTopic${pascalCase(owner)}`, {
          displayName: `Sluice alarms for ${owner}`,
          enforceSSL: true,
        }),
      ]),
    );
    const topicFor = (owner: string) => {
      const topic = alarmTopics.get(owner);
      if (topic === undefined) throw new Error(`no alarm topic for owner ${owner}`);
      return topic;
    };

    // ---- Transform stage -----------------------------------------------------------------------
    this.transformQueue = new WorkQueue(this, 'TransformQueue', {
      purpose: 'transform',
      stage: 'transform',
      consumerTimeout: FUNCTION_SETTINGS.transform.timeout,
      maxReceiveCount: TRANSFORM_MAX_RECEIVE_COUNT,
      owner: PIPELINE_OWNER,
      alarmTopic: topicFor(PIPELINE_OWNER),
      runbookBaseUrl,
    });
    this.transform = new PipelineFunction(this, 'Transform', {
      entry: 'functions/transform/handler.ts',
      description: 'Sluice transform: raw manifest → parse → validate → conditional upsert',
      ...FUNCTION_SETTINGS.transform,
      environment: {
        RAW_BUCKET_NAME: this.rawBucket.bucketName,
        RECORDS_TABLE_NAME: this.recordsTable.tableName,
        LEDGER_TABLE_NAME: this.ledgerTable.tableName,
        TASKS_TABLE_NAME: this.tasksTable.tableName,
        HANDOFF_TOPIC_ARN: this.handoffTopic.topicArn,
        QUEUE_ROUTES: this.toJsonString([
          {
            queueArn: this.transformQueue.queue.queueArn,
            queueUrl: this.transformQueue.queue.queueUrl,
            deadLetterQueueUrl: this.transformQueue.deadLetterQueue.queueUrl,
          },
        ]),
      },
    });
    this.rawBucket.grantReadRaw(this.transform.function);
    grantItems(this.recordsTable, this.transform.function, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    grantItems(this.ledgerTable, this.transform.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.transformQueue.grantDeadLetter(this.transform.function);
    this.grantHandoff(this.transform);
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

    // ---- Collectors and per-source queues ------------------------------------------------------
    const queues = new Map<string, WorkQueue>();
    for (const source of sources) {
      queues.set(
        source.name,
        new WorkQueue(this, `${pascalCase(source.name)}Jobs`, {
          purpose: `${source.name} jobs`,
          stage: 'collect',
          source: source.name,
          consumerTimeout: FUNCTION_SETTINGS[source.kind].timeout,
          maxReceiveCount: maxReceiveCountFor(source.retry),
          owner: source.owners.collection,
          alarmTopic: topicFor(source.owners.collection),
          runbookBaseUrl,
        }),
      );
    }
    this.sourceQueues = queues;

    // A persistent failure must reach an operator within half the source's freshness SLA.
    this.node.addValidation({
      validate: () =>
        sources.flatMap((source) => {
          const queue = queues.get(source.name);
          if (queue === undefined) return [];
          const problem = retryBudgetProblem(source, {
            functionTimeoutSeconds: FUNCTION_SETTINGS[source.kind].timeout.toSeconds(),
            visibilityTimeoutSeconds: queue.visibilityTimeout.toSeconds(),
          });
          return problem === undefined ? [] : [problem];
        }),
    });

    // Portal logins: one secret per source that signs in. Operators put the real username and
    // password in it after the first deploy; the generated value is only a placeholder.
    const credentials = new Map<string, Secret>();
    for (const source of sources) {
      if (source.kind !== 'browser' || source.login === undefined) continue;
      const secret = new Secret(this, `${pascalCase(source.name)}Credentials`, {
        description: `Sluice login for ${source.name}: ${source.login.secretDescription}`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username: 'sluice' }),
          generateStringKey: 'password',
          excludePunctuation: true,
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Tags.of(secret).add('sluice:role', 'credentials');
      Tags.of(secret).add('sluice:source', source.name);
      credentials.set(source.name, secret);
    }
    this.sourceCredentials = credentials;

    const collectors = new Map<CollectorKind, PipelineFunction>();
    for (const kind of ['http', 'browser'] as const) {
      const consumed = sources.filter((s) => s.kind === kind);
      if (consumed.length === 0) continue;
      const collector = this.createCollector(kind, consumed, queues);
      collectors.set(kind, collector);
    }
    this.collectors = collectors;

    // ---- Operations: freshness checker, alarms, dashboard, owner tags ---------------------------
    this.operations = new Operations(this, 'Operations', {
      sources,
      sourceQueues: queues,
      transformQueue: this.transformQueue,
      collectors,
      transform: this.transform,
      recordsTable: this.recordsTable,
      ledgerTable: this.ledgerTable,
      tasksTable: this.tasksTable,
      rawBucket: this.rawBucket,
      alarmTopics,
      runbookBaseUrl,
    });
  }

  /** `SOURCE_CREDENTIALS`: source → secret ARN, for the consumed sources that sign in. */
  private credentialsEnvironment(consumed: readonly SourceDefinition[]): { [name: string]: string } {
    const arns = Object.fromEntries(
      consumed.flatMap((s) => {
        const secret = this.sourceCredentials.get(s.name);
        return secret === undefined ? [] : [[s.name, secret.secretArn]];
      }),
    );
    return Object.keys(arns).length === 0 ? {} : { SOURCE_CREDENTIALS: this.toJsonString(arns) };
  }

  /** Lets a function open hand-off tasks and announce them. */
  private grantHandoff(target: PipelineFunction): void {
    grantItems(this.tasksTable, target.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.handoffTopic.grantPublish(target.function);
  }

  private createCollector(
    kind: CollectorKind,
    consumed: readonly SourceDefinition[],
    queues: ReadonlyMap<string, WorkQueue>,
  ): PipelineFunction {
    const queueOf = (source: SourceDefinition) => {
      const queue = queues.get(source.name);
      if (queue === undefined) throw new Error(`no queue for source ${source.name}`);
      return queue;
    };
    const routes = consumed.map((s) => ({
      queueArn: queueOf(s).queue.queueArn,
      queueUrl: queueOf(s).queue.queueUrl,
      deadLetterQueueUrl: queueOf(s).deadLetterQueue.queueUrl,
    }));
    const common = {
      RAW_BUCKET_NAME: this.rawBucket.bucketName,
      LEDGER_TABLE_NAME: this.ledgerTable.tableName,
      TASKS_TABLE_NAME: this.tasksTable.tableName,
      HANDOFF_TOPIC_ARN: this.handoffTopic.topicArn,
      QUEUE_ROUTES: this.toJsonString(routes),
    };
    const collector =
      kind === 'http'
        ? new PipelineFunction(this, 'HttpCollector', {
            entry: 'functions/collector/http-handler.ts',
            description: 'Sluice collector: plain HTTP',
            ...FUNCTION_SETTINGS.http,
            environment: { ...common, HTTP_TIMEOUT_MS: '20000', MAX_BODY_BYTES: String(20 * 1024 * 1024) },
          })
        : new PipelineFunction(this, 'BrowserCollector', {
            entry: 'functions/collector/browser-handler.ts',
            description: 'Sluice collector: headless Chromium',
            ...FUNCTION_SETTINGS.browser,
            // @sparticuz/chromium ships an x86_64 Chromium only.
            architecture: Architecture.X86_64,
            environment: {
              ...common,
              NAVIGATION_TIMEOUT_MS: '30000',
              READY_TIMEOUT_MS: '15000',
              JOB_TIMEOUT_MS: String(BROWSER_JOB_TIMEOUT.toMilliseconds()),
              ...this.credentialsEnvironment(consumed),
            },
            // playwright-core loads files beside its own code, so it ships as a node module; the
            // Chromium archives ship beside the bundle and are unpacked into /tmp at first launch.
            externalModules: ['playwright-core'],
            afterBundling: (inputDir, outputDir) => [
              `mkdir -p "${outputDir}/node_modules"`,
              `cp -R "${inputDir}/node_modules/playwright-core" "${outputDir}/node_modules/playwright-core"`,
              `cp -R "${inputDir}/node_modules/@sparticuz/chromium/bin" "${outputDir}/chromium-bin"`,
            ],
          });

    const consumedNames = consumed.map((s) => s.name);
    this.rawBucket.grantAppendRaw(collector.function, consumedNames);
    // Reading back its own retried writes, and finding a collection a crashed delivery stored
    // (functions/adapters/raw-store.ts, functions/core/collect-job.ts): its own sources only.
    this.rawBucket.grantReadRaw(collector.function, consumedNames);
    this.rawBucket.grantListRaw(collector.function, consumedNames);
    grantItems(this.ledgerTable, collector.function, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    for (const source of consumed) {
      const secret = this.sourceCredentials.get(source.name);
      // The value only: Secret.grantRead would add DescribeSecret, which the collector never calls.
      if (secret !== undefined) {
        Grant.addToPrincipal({
          grantee: collector.function,
          actions: ['secretsmanager:GetSecretValue'],
          resourceArns: [secret.secretArn],
        });
      }
    }
    this.grantHandoff(collector);
    for (const source of consumed) {
      const workQueue = queueOf(source);
      const { queue } = workQueue;
      workQueue.grantDeadLetter(collector.function);
      collector.function.addEventSource(
        new SqsEventSource(queue, {
          batchSize: source.batchSize,
          reportBatchItemFailures: true,
          maxConcurrency: source.maxConcurrency,
        }),
      );
    }
    return collector;
  }
}
