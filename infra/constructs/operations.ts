import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { SourceDefinition } from '../../sources/define.js';
import { PIPELINE_TABLES } from '../alarm-catalogue.js';
import { applyTags, sharedOwnerTags } from '../ownership.js';
import type { SourceStackPlan } from '../source-stacks.js';
import type { ChangeFeed } from './change-feed.js';
import { FleetAlarms } from './fleet-alarms.js';
import { FreshnessChecker } from './freshness-checker.js';
import { OverviewDashboard } from './overview-dashboard.js';
import { PipelineAlarms, type WatchedFunction, type WatchedTable } from './pipeline-alarms.js';
import type { PipelineFunction } from './pipeline-function.js';
import type { WorkQueue } from './work-queue.js';

export interface OperationsProps {
  readonly appName: string;
  readonly sources: readonly SourceDefinition[];
  readonly sourceStacks: readonly SourceStackPlan[];
  readonly transformQueue: WorkQueue;
  readonly transform: PipelineFunction;
  readonly recordsTable: TableV2;
  readonly ledgerTable: TableV2;
  readonly tasksTable: TableV2;
  readonly rawBucket: Bucket;
  /** The pipeline owner's topic: every alarm of the shared pipeline notifies it. */
  readonly alarmTopic: ITopic;
  readonly runbookBaseUrl: string;
  /** Its function is watched like the others; its own alarms are on the overview. */
  readonly changeFeed: ChangeFeed;
  /** The freshness checker checks the test-fixture sources too. @default false */
  readonly includeFixtureSources?: boolean;
}

/**
 * What operators need to run the shared part of Sluice (DESIGN.md decision 9): the scheduled
 * freshness checker, the alarms of the transform, the freshness checker and the tables, the
 * overview dashboard over every source stack, and owner tags on the shared resources. Each
 * source's own alarms and dashboard row live in its source stack (SourcePipeline).
 */
export class Operations extends Construct {
  readonly freshnessChecker: FreshnessChecker;
  readonly pipelineAlarms: PipelineAlarms;
  readonly fleetAlarms: FleetAlarms;
  readonly dashboard: OverviewDashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { sources, appName } = props;

    this.freshnessChecker = new FreshnessChecker(this, 'FreshnessChecker', {
      appName,
      ledgerTable: props.ledgerTable,
      tasksTable: props.tasksTable,
      includeFixtureSources: props.includeFixtureSources ?? false,
    });

    const functions: WatchedFunction[] = [
      { name: 'transform', fn: props.transform },
      { name: 'freshness-checker', fn: this.freshnessChecker.function },
      { name: 'change-feed', fn: props.changeFeed.function },
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
      appName,
      functions,
      tables,
      topic: props.alarmTopic,
      runbookBaseUrl: props.runbookBaseUrl,
    });

    this.fleetAlarms = new FleetAlarms(this, 'FleetAlarms', {
      appName,
      freshnessChecker: this.freshnessChecker.function,
      topic: props.alarmTopic,
      runbookBaseUrl: props.runbookBaseUrl,
    });

    const alarms: Alarm[] = [
      props.transformQueue.deadLetterAlarm,
      ...this.pipelineAlarms.alarms,
      ...this.fleetAlarms.alarms,
      ...props.changeFeed.alarms,
    ];
    this.dashboard = new OverviewDashboard(this, 'Dashboard', {
      appName,
      sourceStacks: props.sourceStacks,
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
    // The change feed carries every source's business rules: their owners are listed on it.
    applyTags(props.changeFeed, sharedOwnerTags(sources, ['businessRules']));
    applyTags(this.pipelineAlarms, sharedOwnerTags(sources, []));
    applyTags(this.fleetAlarms, sharedOwnerTags(sources, []));
    // Functions by role, so the CLI and the console name them plainly rather than by generated name.
    for (const { name, fn } of functions) applyTags(fn, { 'sluice:role': name });
  }
}
