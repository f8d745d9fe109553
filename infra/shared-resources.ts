/**
 * What every source stack gets from the core stack. The bucket, tables and hand-off topic are
 * passed as constructs, so CDK wires them across stacks with exports the source stacks import
 * (they never change: the core's stateful resources are never replaced). Alarm topics are found
 * by name instead (functions/core/resource-names.ts): owners come and go, and an export another
 * stack still imports could not be removed.
 */
import { Fn, Stack } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { alarmTopicName, jobsQueueName } from '../functions/core/resource-names.js';
import type { RawBucket } from './constructs/raw-bucket.js';

export interface SharedResources {
  /** The deployment's name: the start of every stack, queue, alarm, topic and dashboard name. */
  readonly appName: string;
  /** Where `runbooks/` is published; alarm descriptions and dashboards link into it. */
  readonly runbookBaseUrl: string;
  readonly rawBucket: RawBucket;
  readonly ledgerTable: TableV2;
  readonly tasksTable: TableV2;
  readonly handoffTopic: ITopic;
  /** Days a job's ledger items live after their last write. */
  readonly ledgerRetentionDays: number;
}

/**
 * The topic that notifies `owner`, as seen from `scope`'s stack: created by the core stack for
 * every owner the registry names, found here by its name in the same account and region.
 */
export function alarmTopicOf(scope: Construct, appName: string, owner: string): ITopic {
  const stack = Stack.of(scope);
  const id = `AlarmTopicOf-${owner}`;
  const existing = stack.node.tryFindChild(id);
  if (existing !== undefined) return existing as ITopic;
  // Fn::Sub rather than formatArn's Fn::Join: the same ARN in a third of the template bytes, on
  // every alarm of every source.
  const arn = Fn.sub(
    `arn:\${AWS::Partition}:sns:\${AWS::Region}:\${AWS::AccountId}:${alarmTopicName(appName, owner)}`,
  );
  return Topic.fromTopicArn(stack, id, arn);
}

/**
 * Item actions on a table itself. TableV2.grant adds `<table>/index/*` as well, where no item is
 * ever written; a function that queries an index is granted that index by name.
 */
export function grantItems(table: TableV2, grantee: IGrantable, ...actions: string[]): Grant {
  return Grant.addToPrincipal({ grantee, actions, resourceArns: [table.tableArn] });
}

/**
 * Lets a function send jobs to the jobs queues of `sources` (follow-ups, a scheduled run's jobs):
 * finding each by its name and sending to it, those queues only. The queues are named by
 * convention (functions/core/resource-names.ts), so a follow-up into another source stack needs
 * no reference across stacks.
 */
export function grantFollowUps(grantee: IGrantable, appName: string, sources: readonly string[]): void {
  if (sources.length === 0) return;
  Grant.addToPrincipal({
    grantee,
    actions: ['sqs:GetQueueUrl', 'sqs:SendMessage'],
    resourceArns: [...new Set(sources)]
      .sort()
      .map((source) =>
        Fn.sub(
          `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${jobsQueueName(appName, source)}`,
        ),
      ),
  });
}

/** Lets a function open hand-off tasks and announce them. */
export function grantHandoff(shared: SharedResources, grantee: IGrantable): void {
  grantItems(shared.tasksTable, grantee, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
  shared.handoffTopic.grantPublish(grantee);
}

/** The environment every function that writes the ledger and opens hand-off tasks reads. */
export function pipelineEnvironment(shared: SharedResources): { [name: string]: string } {
  return {
    SLUICE_APP_NAME: shared.appName,
    RAW_BUCKET_NAME: shared.rawBucket.bucketName,
    LEDGER_TABLE_NAME: shared.ledgerTable.tableName,
    LEDGER_RETENTION_DAYS: String(shared.ledgerRetentionDays),
    TASKS_TABLE_NAME: shared.tasksTable.tableName,
    HANDOFF_TOPIC_ARN: shared.handoffTopic.topicArn,
  };
}
