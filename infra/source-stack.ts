import { Stack, type StackProps } from 'aws-cdk-lib';
import { AlarmRule, AlarmState, CompositeAlarm, type IAlarm, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { CollectorKind, SourceDefinition } from '../sources/define.js';
import {
  collectorKindsOf,
  collectorRole,
  collectorSubject,
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
import { SourcePipeline } from './constructs/source-pipeline.js';
import { applyTags, sharedOwnerTags } from './ownership.js';
import { runbookUrl } from './runbook-links.js';
import { alarmTopicOf, type SharedResources } from './shared-resources.js';
import type { SourceStackPlan } from './source-stacks.js';

export interface SourceStackProps extends StackProps {
  /** Which sources this stack holds (infra/source-stacks.ts). */
  readonly plan: SourceStackPlan;
  /** What the core stack shares with every source stack. */
  readonly shared: SharedResources;
  /** The core stack's name, for links from this stack's dashboard to the overview. */
  readonly coreStackName: string;
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
  readonly collectors: ReadonlyMap<CollectorKind, CollectorFunction>;
  readonly pipelines: ReadonlyMap<string, SourcePipeline>;
  readonly collectorAlarms: PipelineAlarms;
  readonly rollups: ReadonlyMap<RollupKind, CompositeAlarm>;
  readonly dashboard: RowDashboard;

  constructor(scope: Construct, props: SourceStackProps) {
    const { plan, shared } = props;
    super(scope, plan.stackName, props);
    this.key = plan.key;
    this.sources = plan.sources;
    const { appName, runbookBaseUrl } = shared;

    const collectors = new Map<CollectorKind, CollectorFunction>();
    for (const kind of collectorKindsOf(plan.sources)) {
      collectors.set(
        kind,
        new CollectorFunction(this, `${pascalCase(kind)}Collector`, {
          kind,
          sources: plan.sources.filter((s) => s.kind === kind),
          shared,
        }),
      );
    }
    this.collectors = collectors;

    const pipelines = new Map<string, SourcePipeline>();
    for (const source of plan.sources) {
      const collector = collectors.get(source.kind);
      if (collector === undefined) throw new Error(`no ${source.kind} collector in ${plan.stackName}`);
      pipelines.set(
        source.name,
        new SourcePipeline(this, pascalCase(source.name), { source, collector, shared }),
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

    for (const [kind, collector] of collectors) {
      applyTags(collector, {
        ...sharedOwnerTags(
          plan.sources.filter((s) => s.kind === kind),
          ['collection'],
        ),
        'sluice:role': collectorRole(kind),
      });
    }
    applyTags(this.collectorAlarms, sharedOwnerTags(plan.sources, []));
  }
}
