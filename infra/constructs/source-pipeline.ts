import { Duration, RemovalPolicy, Stack, Tags, TimeZone } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { SqsSendMessage } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduledRun } from '../../functions/core/contracts.js';
import { jobsQueueName, loginSecretName, scheduleName } from '../../functions/core/resource-names.js';
import { maxReceiveCountFor } from '../../functions/core/retry-policy.js';
import { credentialShapeOf, type SourceDefinition, secretDescriptionOf } from '../../sources/define.js';
import { deadLetterAlarmName, type SourceAlarmKind } from '../alarm-catalogue.js';
import { applyTags, OWNER_TAG, sourceOwnerTags } from '../ownership.js';
import { retryBudgetProblem } from '../retry-budget-check.js';
import { scheduleProblem } from '../schedule-check.js';
import { alarmTopicOf, type SharedResources } from '../shared-resources.js';
import { type CollectorFunction, FUNCTION_SETTINGS } from './collector-function.js';
import type { WidgetRow } from './dashboard-rows.js';
import { SourceAlarms } from './source-alarms.js';
import { sourceDashboardRow } from './source-dashboard-row.js';
import { WorkQueue } from './work-queue.js';

export interface SourcePipelineProps {
  readonly source: SourceDefinition;
  /** The collector of the source's kind in the source's stack. */
  readonly collector: CollectorFunction;
  readonly shared: SharedResources;
  /**
   * Where the source's schedule puts a run it could not send (its stack's schedule DLQ).
   * Required when the source has a schedule. @default - none
   */
  readonly scheduleDeadLetterQueue?: IQueue;
  /** The role its stack's schedules send with. Required when the source has a schedule. @default - none */
  readonly scheduleRole?: IRole;
}

/**
 * Everything one source adds to its stack, in one place: its jobs queue and DLQ (named, so
 * upstream systems have a stable URL), the event source mapping that feeds its collector, its
 * login secret, its SLI alarms and its dashboard row. Its construct ID is the source's name, so
 * its logical IDs depend on nothing but that name: adding or removing another source never
 * changes them. A future per-source resource (a schedule, say) belongs here too.
 */
export class SourcePipeline extends Construct {
  readonly source: SourceDefinition;
  readonly jobs: WorkQueue;
  /** The source's login, when it signs in. */
  readonly login: Secret | undefined;
  /** The source's EventBridge Scheduler schedule, when it collects on one. */
  readonly schedule: Schedule | undefined;
  readonly sourceAlarms: SourceAlarms;
  readonly dashboardRow: WidgetRow;

  constructor(scope: Construct, id: string, props: SourcePipelineProps) {
    super(scope, id);
    const { source, collector, shared } = props;
    const { appName, runbookBaseUrl } = shared;
    this.source = source;

    const owner = source.owners.collection;
    this.jobs = new WorkQueue(this, 'Jobs', {
      queueName: jobsQueueName(appName, source.name),
      purpose: `${source.name} jobs`,
      stage: 'collect',
      source: source.name,
      consumerTimeout: FUNCTION_SETTINGS[source.kind].timeout,
      maxReceiveCount: maxReceiveCountFor(source.retry),
      owner,
      alarmTopic: alarmTopicOf(this, appName, owner),
      deadLetterAlarmName: deadLetterAlarmName(appName, source.name),
      runbookBaseUrl,
    });
    collector.consume(source, this.jobs);

    // A persistent failure must reach an operator within half the source's freshness SLA.
    this.node.addValidation({
      validate: () => {
        const problem = retryBudgetProblem(source, {
          functionTimeoutSeconds: FUNCTION_SETTINGS[source.kind].timeout.toSeconds(),
          visibilityTimeoutSeconds: this.jobs.visibilityTimeout.toSeconds(),
        });
        return problem === undefined ? [] : [problem];
      },
    });

    this.schedule =
      source.schedule === undefined
        ? undefined
        : this.createSchedule(source, props, this.jobs.visibilityTimeout);

    // Logins and tokens: one secret per source that signs in (a portal, an API with a token, a
    // site with a login form), named after it, so the collector finds it without a list in its
    // environment. Operators put the real value in it after the first deploy
    // (`npx sluice credentials set <source>`); the generated value is only a placeholder.
    const shape = credentialShapeOf(source);
    if (shape !== undefined) {
      const secret = new Secret(this, 'Login', {
        secretName: loginSecretName(appName, source.name),
        description: `Sluice login for ${source.name}: ${secretDescriptionOf(source)}`,
        generateSecretString:
          shape === 'login'
            ? {
                secretStringTemplate: JSON.stringify({ username: 'sluice' }),
                generateStringKey: 'password',
                excludePunctuation: true,
              }
            : { secretStringTemplate: '{}', generateStringKey: 'token', excludePunctuation: true },
        // Kept when the source goes; deleted only when the deploy that created it fails, so its
        // name is free for the next try (CloudFormation deletes secrets without a recovery window).
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      Tags.of(secret).add('sluice:role', 'credentials');
      Tags.of(secret).add('sluice:source', source.name);
      collector.readLogin(secret);
      this.login = secret;
    }

    this.sourceAlarms = new SourceAlarms(this, 'Alarms', {
      appName,
      source,
      jobs: this.jobs,
      topicFor: (alarmOwner) => alarmTopicOf(this, appName, alarmOwner),
      runbookBaseUrl,
    });
    // Owners on what a bill or the console shows (queues, login); alarms name whom they page.
    for (const resource of [
      this.jobs.queue,
      this.jobs.deadLetterQueue,
      ...(this.login ? [this.login] : []),
    ]) {
      applyTags(resource, sourceOwnerTags(source));
    }
    Tags.of(this.jobs.deadLetterAlarm).add(OWNER_TAG.pagedOwner, owner);
    Tags.of(this).add('sluice:source', source.name);

    this.dashboardRow = sourceDashboardRow({
      appName,
      source,
      jobs: this.jobs,
      runbookBaseUrl,
      stackName: Stack.of(this).stackName,
    });
  }

  /**
   * The source's schedule: a ScheduledRun to its own jobs queue each time it fires, with the
   * scheduled time filled in by Scheduler, so a schedule firing twice for one time runs once. It
   * sends with its stack's schedule role (granted this queue and the schedule DLQ); a run Scheduler
   * cannot deliver within the retry policy lands in the DLQ, whose alarm pages the pipeline owner.
   */
  private createSchedule(
    source: SourceDefinition,
    props: SourcePipelineProps,
    visibility: Duration,
  ): Schedule {
    const schedule = source.schedule;
    const deadLetterQueue = props.scheduleDeadLetterQueue;
    const role = props.scheduleRole;
    if (schedule === undefined || deadLetterQueue === undefined || role === undefined) {
      throw new Error(`${source.name}: a schedule needs its stack's schedule dead-letter queue and role`);
    }
    this.node.addValidation({
      validate: () => {
        const problem = scheduleProblem(source, {
          functionTimeoutSeconds: FUNCTION_SETTINGS[source.kind].timeout.toSeconds(),
          visibilityTimeoutSeconds: visibility.toSeconds(),
        });
        return problem === undefined ? [] : [problem];
      },
    });
    const run: ScheduledRun = {
      source: source.name,
      scheduledRun: { scheduledAt: ContextAttribute.scheduledTime },
    };
    return new Schedule(this, 'Schedule', {
      scheduleName: scheduleName(props.shared.appName, source.name),
      description: `Sluice: collects ${source.name} on its schedule`,
      schedule: ScheduleExpression.expression(schedule.expression, TimeZone.of(schedule.timeZone ?? 'UTC')),
      // Exactly on time: a flexible window would add to the gap the freshness check counted.
      timeWindow: TimeWindow.off(),
      target: new SqsSendMessage(this.jobs.queue, {
        input: ScheduleTargetInput.fromText(JSON.stringify(run)),
        role,
        deadLetterQueue,
        // A run that cannot be sent within half the SLA would start after the data went stale.
        maxEventAge: Duration.seconds(Math.max(60, Math.min(86_400, (source.freshnessSlaMinutes * 60) / 2))),
        retryAttempts: 20,
      }),
    });
  }

  /** Every alarm of the source, by kind. */
  get alarms(): ReadonlyMap<SourceAlarmKind, Alarm> {
    return this.sourceAlarms.alarms;
  }
}
