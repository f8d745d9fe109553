import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CollectorKind, SourceDefinition } from '../../sources/define.js';
import { collectorRole, PIPELINE_OWNER, PIPELINE_TABLES } from '../alarm-catalogue.js';
import { applyTags, OWNER_TAG, sharedOwnerTags, sourceOwnerTags } from '../ownership.js';
import { FreshnessChecker } from './freshness-checker.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { PipelineAlarms, pascalCase, type WatchedFunction, type WatchedTable } from './pipeline-alarms.js';
import type { PipelineFunction } from './pipeline-function.js';
import { SourceAlarms } from './source-alarms.js';
import type { WorkQueue } from './work-queue.js';

export interface OperationsProps {
  readonly sources: readonly SourceDefinition[];
  readonly sourceQueues: ReadonlyMap<string, WorkQueue>;
  readonly transformQueue: WorkQueue;
  readonly collectors: ReadonlyMap<CollectorKind, PipelineFunction>;
  readonly transform: PipelineFunction;
  readonly recordsTable: TableV2;
  readonly ledgerTable: TableV2;
  readonly tasksTable: TableV2;
  readonly rawBucket: Bucket;
  /** One topic per owner; every alarm notifies its owner's topic. */
  readonly alarmTopics: ReadonlyMap<string, ITopic>;
  readonly runbookBaseUrl: string;
}

/**
 * What operators need to run Sluice (DESIGN.md decision 9): the scheduled freshness checker, the
 * alarms per source and for the shared pipeline, the dashboard, and owner tags on every resource.
 */
export class Operations extends Construct {
  readonly freshnessChecker: FreshnessChecker;
  readonly sourceAlarms: ReadonlyMap<string, SourceAlarms>;
  readonly pipelineAlarms: PipelineAlarms;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { sources } = props;
    const topicFor = (owner: string) => {
      const topic = props.alarmTopics.get(owner);
      if (topic === undefined) throw new Error(`no alarm topic for owner ${owner}`);
      return topic;
    };

    this.freshnessChecker = new FreshnessChecker(this, 'FreshnessChecker', {
      ledgerTable: props.ledgerTable,
      tasksTable: props.tasksTable,
    });

    const sourceAlarms = new Map<string, SourceAlarms>();
    for (const source of sources) {
      const jobs = props.sourceQueues.get(source.name);
      if (jobs === undefined) throw new Error(`no queue for source ${source.name}`);
      const alarms = new SourceAlarms(this, `${pascalCase(source.name)}Alarms`, {
        source,
        jobs,
        topicFor,
        runbookBaseUrl: props.runbookBaseUrl,
      });
      sourceAlarms.set(source.name, alarms);
      applyTags(jobs, sourceOwnerTags(source));
      applyTags(alarms, sourceOwnerTags(source));
    }
    this.sourceAlarms = sourceAlarms;

    const functions: WatchedFunction[] = [
      ...[...props.collectors].map(([kind, fn]) => ({ name: collectorRole(kind), fn })),
      { name: 'transform', fn: props.transform },
      { name: 'freshness-checker', fn: this.freshnessChecker.function },
    ];
    const [recordsRole, ledgerRole, tasksRole] = PIPELINE_TABLES;
    const tables: WatchedTable[] = [
      {
        name: recordsRole,
        table: props.recordsTable,
        operations: [Operation.UPDATE_ITEM, Operation.GET_ITEM],
      },
      {
        name: ledgerRole,
        table: props.ledgerTable,
        operations: [
          Operation.TRANSACT_WRITE_ITEMS,
          Operation.PUT_ITEM,
          Operation.UPDATE_ITEM,
          Operation.GET_ITEM,
          Operation.BATCH_GET_ITEM,
          Operation.QUERY,
        ],
      },
      {
        name: tasksRole,
        table: props.tasksTable,
        operations: [Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.GET_ITEM, Operation.QUERY],
      },
    ];
    this.pipelineAlarms = new PipelineAlarms(this, 'PipelineAlarms', {
      functions,
      tables,
      topic: topicFor(PIPELINE_OWNER),
      runbookBaseUrl: props.runbookBaseUrl,
    });

    const alarms: Alarm[] = [
      ...[...props.sourceQueues.values()].map((q) => q.deadLetterAlarm),
      props.transformQueue.deadLetterAlarm,
      ...[...sourceAlarms.values()].flatMap((a) => [...a.alarms.values()]),
      ...this.pipelineAlarms.alarms,
    ];
    this.dashboard = new OperationsDashboard(this, 'Dashboard', {
      sources,
      sourceQueues: props.sourceQueues,
      transformQueue: props.transformQueue,
      functions,
      tables,
      alarms,
      runbookBaseUrl: props.runbookBaseUrl,
    });

    // Shared resources: the pipeline owner is paged; each role's owners are listed.
    applyTags(props.rawBucket, sharedOwnerTags(sources, ['collection']));
    applyTags(props.recordsTable, sharedOwnerTags(sources, ['dataStore', 'transformation']));
    applyTags(props.ledgerTable, sharedOwnerTags(sources, []));
    applyTags(props.tasksTable, sharedOwnerTags(sources, ['businessRules']));
    applyTags(props.transformQueue, sharedOwnerTags(sources, ['transformation']));
    applyTags(props.transform, sharedOwnerTags(sources, ['transformation']));
    applyTags(this.freshnessChecker, sharedOwnerTags(sources, []));
    applyTags(this.pipelineAlarms, sharedOwnerTags(sources, []));
    for (const [kind, collector] of props.collectors) {
      applyTags(
        collector,
        sharedOwnerTags(
          sources.filter((s) => s.kind === kind),
          ['collection'],
        ),
      );
    }
    for (const [owner, topic] of props.alarmTopics) applyTags(topic, { [OWNER_TAG.pagedOwner]: owner });
    // Functions by role, so the CLI and the console name them plainly rather than by generated name.
    for (const { name, fn } of functions) applyTags(fn, { 'sluice:role': name });
  }
}
