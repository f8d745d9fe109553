import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  ComparisonOperator,
  CompositeAlarm,
  type IAlarm,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { SourceDefinition } from '../sources/define.js';
import {
  alarmName,
  type CollectorGroup,
  collectorGroupOf,
  collectorGroupsOf,
  collectorRole,
  collectorSubject,
  PIPELINE_ALARM_ENTRIES,
  PIPELINE_OWNER,
  ROLLUP_KINDS,
  type RollupKind,
  rollupAlarmName,
} from './alarm-catalogue.js';
import { CollectorFunction } from './constructs/collector-function.js';
import {
  alarmStatusRows,
  dashboardNameOf,
  ROW_HEIGHT,
  RowDashboard,
  type WidgetRow,
} from './constructs/dashboard-rows.js';
import { functionRows, retryBreakdown } from './constructs/function-widgets.js';
import { PipelineAlarms, pascalCase, type WatchedFunction } from './constructs/pipeline-alarms.js';
import { describe } from './constructs/source-alarms.js';
import { SourcePipeline } from './constructs/source-pipeline.js';
import { applyTags, sharedOwnerTags } from './ownership.js';
import { runbookUrl } from './runbook-links.js';
import { alarmTopicOf, grantFollowUps, type SharedResources } from './shared-resources.js';
import type { SourceStackPlan } from './source-stacks.js';
import type { VpcPlacement } from './vpc.js';

export interface SourceStackProps extends StackProps {
  /** Which sources this stack holds (infra/source-stacks.ts). */
  readonly plan: SourceStackPlan;
  /** What the core stack shares with every source stack. */
  readonly shared: SharedResources;
  /** The core stack's name, for links from this stack's dashboard to the overview. */
  readonly coreStackName: string;
  /** Where the collectors of sources with private ranges run (context `sluice:vpc`). @default - none */
  readonly vpc?: VpcPlacement;
}

/**
 * One source stack: the collectors of its sources (one per kind, each with a role of its own),
 * each source's pipeline (SourcePipeline: queues, event source mapping, login, alarms, dashboard
 * row), its collectors' alarms, one composite alarm per alarm kind rolling its sources' alarms up
 * for the overview, and its dashboard. `npx cdk deploy <stack name>` deploys it alone.
 */
export class SourceStack extends Stack {
  readonly key: string;
  readonly sources: readonly SourceDefinition[];
  /** One collector per kind, and per kind one in the VPC for sources with private ranges. */
  readonly collectors: ReadonlyMap<CollectorGroup, CollectorFunction>;
  readonly pipelines: ReadonlyMap<string, SourcePipeline>;
  readonly collectorAlarms: PipelineAlarms;
  readonly rollups: ReadonlyMap<RollupKind, CompositeAlarm>;
  readonly dashboard: RowDashboard;
  /** Where this stack's schedules put runs they could not send; only when a source has a schedule. */
  readonly scheduleDeadLetterQueue: Queue | undefined;
  /**
   * The role this stack's schedules send their runs with: it may send to the jobs queue of each
   * scheduled source of the stack and to the schedule DLQ, nothing else. One per stack, not per
   * source: a schedule is one resource more per source, and a fleet stays far from the account's
   * IAM role quota.
   */
  readonly scheduleRole: Role | undefined;
  readonly scheduleDeadLetterAlarm: Alarm | undefined;

  constructor(scope: Construct, props: SourceStackProps) {
    const { plan, shared } = props;
    super(scope, plan.stackName, props);
    this.key = plan.key;
    this.sources = plan.sources;
    const { appName, runbookBaseUrl } = shared;

    const collectors = new Map<CollectorGroup, CollectorFunction>();
    for (const group of collectorGroupsOf(plan.sources)) {
      collectors.set(
        group,
        new CollectorFunction(this, `${pascalCase(group)}Collector`, {
          group,
          sources: plan.sources.filter((s) => collectorGroupOf(s) === group),
          shared,
          ...(props.vpc === undefined ? {} : { vpc: props.vpc }),
        }),
      );
    }
    this.collectors = collectors;

    // What a collector enqueues: a scheduled run's jobs (its own source's queue) and the
    // follow-ups its sources ask for from what they see (the queues they name), nothing else.
    for (const [group, collector] of collectors) {
      const targets = new Set<string>();
      for (const source of plan.sources.filter((s) => collectorGroupOf(s) === group)) {
        if (source.schedule !== undefined) targets.add(source.name);
        if (source.followUps?.fromResponse !== undefined)
          for (const t of source.followUps.targets) targets.add(t);
      }
      grantFollowUps(collector.function, appName, [...targets]);
    }

    const scheduled = plan.sources.some((s) => s.schedule !== undefined);
    this.scheduleDeadLetterQueue = scheduled
      ? new Queue(this, 'ScheduleDeadLetterQueue', {
          encryption: QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: Duration.days(14),
          removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        })
      : undefined;
    this.scheduleRole = scheduled
      ? new Role(this, 'ScheduleRole', {
          assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
            conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
          }),
          description: `Lets the schedules of ${plan.stackName} send their runs to their sources' jobs queues, and nothing else`,
        })
      : undefined;
    if (this.scheduleDeadLetterQueue !== undefined) {
      const entry = PIPELINE_ALARM_ENTRIES['schedule-dead-letters'];
      this.scheduleDeadLetterAlarm = new Alarm(this, 'ScheduleDeadLetterAlarm', {
        alarmName: alarmName(appName, plan.stackName.slice(appName.length + 1), 'schedule-dead-letters'),
        alarmDescription: describe(
          { ...entry, summary: `${plan.stackName}: ${entry.summary}` },
          runbookBaseUrl,
        ),
        metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.scheduleDeadLetterAlarm.addAlarmAction(new SnsAction(alarmTopicOf(this, appName, PIPELINE_OWNER)));
    }

    const pipelines = new Map<string, SourcePipeline>();
    for (const source of plan.sources) {
      const collector = collectors.get(collectorGroupOf(source));
      if (collector === undefined)
        throw new Error(`no ${collectorGroupOf(source)} collector in ${plan.stackName}`);
      pipelines.set(
        source.name,
        new SourcePipeline(this, pascalCase(source.name), {
          source,
          collector,
          shared,
          ...(this.scheduleDeadLetterQueue === undefined || this.scheduleRole === undefined
            ? {}
            : { scheduleDeadLetterQueue: this.scheduleDeadLetterQueue, scheduleRole: this.scheduleRole }),
        }),
      );
    }
    this.pipelines = pipelines;

    const watched: WatchedFunction[] = [...collectors].map(([kind, collector]) => ({
      name: collectorSubject(plan.stackName, appName, kind),
      fn: collector.pipelineFunction,
    }));
    this.collectorAlarms = new PipelineAlarms(this, 'CollectorAlarms', {
      appName,
      functions: watched,
      topic: alarmTopicOf(this, appName, PIPELINE_OWNER),
      runbookBaseUrl,
    });

    // Roll-ups for the overview: one per kind, each over at most one alarm per source (CloudWatch
    // allows 100 alarms in a composite's rule; a stack holds far fewer sources).
    const rollups = new Map<RollupKind, CompositeAlarm>();
    for (const kind of ROLLUP_KINDS) {
      const children: IAlarm[] =
        kind === 'collectors'
          ? [...this.collectorAlarms.alarms]
          : [...pipelines.values()].flatMap((p) => {
              const alarm = p.alarms.get(kind);
              return alarm === undefined ? [] : [alarm];
            });
      rollups.set(
        kind,
        new CompositeAlarm(this, `${pascalCase(kind)}Rollup`, {
          compositeAlarmName: rollupAlarmName(plan.stackName, kind),
          alarmDescription: `Any ${kind === 'collectors' ? 'collector function' : kind} alarm of the ${plan.sources.length} source(s) in ${plan.stackName} is in ALARM: see its dashboard. Pages nobody itself; each alarm notifies its owner.`,
          alarmRule: AlarmRule.anyOf(
            ...children.map((alarm) => AlarmRule.fromAlarm(alarm, AlarmState.ALARM)),
          ),
        }),
      );
    }
    this.rollups = rollups;

    const header: WidgetRow = {
      title: 'header',
      widgets: [
        {
          title: `${plan.stackName}: sources and links`,
          widget: new TextWidget({
            width: 24,
            height: 3,
            markdown: [
              `## ${plan.stackName}`,
              `${plan.sources.length} source(s): ${plan.sources.map((s) => s.name).join(', ')}`,
              '',
              `[overview](#dashboards:name=${dashboardNameOf(props.coreStackName)}) · [runbooks](${runbookUrl(runbookBaseUrl, 'README')}) · [owners](${runbookUrl(runbookBaseUrl, 'OWNERS')})`,
            ].join('\n'),
          }),
        },
      ],
    };
    const allAlarms: IAlarm[] = [
      ...[...pipelines.values()].flatMap((p) => [...p.alarms.values()]),
      ...this.collectorAlarms.alarms,
      ...(this.scheduleDeadLetterAlarm === undefined ? [] : [this.scheduleDeadLetterAlarm]),
    ];
    this.dashboard = new RowDashboard(this, 'Dashboard', {
      dashboardName: dashboardNameOf(plan.stackName),
      rows: [
        header,
        {
          title: 'alarms',
          widgets: alarmStatusRows('Alarms of this stack (each links its runbook)', allAlarms),
        },
        { title: 'collectors', widgets: functionRows(watched, ROW_HEIGHT) },
        {
          title: 'retries',
          widgets: [retryBreakdown('collection retries by source and reason (logs)', watched, ROW_HEIGHT)],
        },
        ...[...pipelines.values()].map((p) => p.dashboardRow),
      ],
    });

    for (const [group, collector] of collectors) {
      applyTags(collector, {
        ...sharedOwnerTags(collector.sources, ['collection']),
        'sluice:role': collectorRole(group),
      });
    }
    applyTags(this.collectorAlarms, sharedOwnerTags(plan.sources, []));
  }
}
