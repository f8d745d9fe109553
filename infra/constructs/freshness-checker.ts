import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TASKS_BY_STATUS_INDEX } from '../../functions/adapters/handoff-tasks.js';
import { FRESHNESS_CHECK_MINUTES } from '../alarm-catalogue.js';
import { PipelineFunction } from './pipeline-function.js';

export interface FreshnessCheckerProps {
  readonly appName: string;
  /** Holds each source's freshness mark (written by the transform). */
  readonly ledgerTable: TableV2;
  /** Hand-off tasks; the checker counts the open ones per source. */
  readonly tasksTable: TableV2;
  /**
   * Check the test-fixture sources too: set when the app synthesizes them (the local
   * environment only), so their alarms behave like every source's. @default false
   */
  readonly includeFixtureSources?: boolean;
}

/**
 * The scheduled freshness checker: every few minutes it publishes each source's data age and
 * hand-off backlog, so staleness alarms fire even when no job runs for a source.
 */
export class FreshnessChecker extends Construct {
  readonly function: PipelineFunction;
  readonly schedule: Rule;
  /** Where EventBridge puts an invocation it could not deliver; missed runs also show as missing DataAge. */
  readonly scheduleDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: FreshnessCheckerProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Function', {
      appName: props.appName,
      entry: 'functions/freshness/handler.ts',
      description: 'Sluice freshness checker: data age and hand-off backlog per source',
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: {
        LEDGER_TABLE_NAME: props.ledgerTable.tableName,
        TASKS_TABLE_NAME: props.tasksTable.tableName,
        ...(props.includeFixtureSources === true ? { SLUICE_FIXTURE_SOURCES: 'true' } : {}),
      },
    });
    // Freshness marks are items of the ledger table (read; and written once per source, to record
    // when tracking began); open tasks come from the tasks table's byStatus index. Grants name
    // exactly those (TableV2.grant would add every index of both).
    Grant.addToPrincipal({
      grantee: this.function.function,
      actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.ledgerTable.tableArn],
    });
    Grant.addToPrincipal({
      grantee: this.function.function,
      actions: ['dynamodb:Query'],
      resourceArns: [`${props.tasksTable.tableArn}/index/${TASKS_BY_STATUS_INDEX}`],
    });
    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Like every queue of the app: kept with its messages, unless the deploy that made it fails.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Runs the Sluice freshness checker',
      schedule: Schedule.rate(Duration.minutes(FRESHNESS_CHECK_MINUTES)),
      targets: [
        new LambdaFunction(this.function.function, {
          // The next run is minutes away; a late run would only publish a stale figure.
          retryAttempts: 0,
          deadLetterQueue: this.scheduleDeadLetterQueue,
        }),
      ],
    });
  }
}
