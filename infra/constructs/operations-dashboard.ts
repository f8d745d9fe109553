import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
  MathExpression,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { MetricName } from '../../functions/observability.js';
import type { SourceDefinition } from '../../sources/define.js';
import { DURATION_ALARM_SHARE, PIPELINE_OWNER, SUCCESS_RATE_THRESHOLD } from '../alarm-catalogue.js';
import { runbookUrl } from '../runbook-links.js';
import { sourceMetric, successRate } from '../sluice-metrics.js';
import type { WatchedFunction, WatchedTable } from './pipeline-alarms.js';
import type { WorkQueue } from './work-queue.js';

export interface OperationsDashboardProps {
  readonly sources: readonly SourceDefinition[];
  readonly sourceQueues: ReadonlyMap<string, WorkQueue>;
  readonly transformQueue: WorkQueue;
  readonly functions: readonly WatchedFunction[];
  readonly tables: readonly WatchedTable[];
  readonly alarms: readonly Alarm[];
  readonly runbookBaseUrl: string;
}

/** The dashboard as rows of titled widgets, for people reading it without a console. */
export interface DashboardRow {
  readonly title: string;
  readonly widgets: readonly { readonly title: string; readonly width: number; readonly height: number }[];
}

interface TitledWidget {
  readonly title: string;
  readonly widget: IWidget;
}

const PERIOD = Duration.minutes(5);
const ROW_HEIGHT = 6;

/**
 * One CloudWatch dashboard: the alarms at the top, then a row per source with its SLIs (success
 * rate, outcomes, latency, queue, data age, records, hand-off backlog), then a pipeline row.
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly layout: readonly DashboardRow[];

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: 'Sluice',
      defaultInterval: Duration.hours(6),
    });
    const rows: { title: string; widgets: TitledWidget[] }[] = [];
    const alarmsTitle = 'Alarms (each links its runbook in its description)';
    rows.push({
      title: 'alarms',
      widgets: [
        {
          title: alarmsTitle,
          widget: new AlarmStatusWidget({
            title: alarmsTitle,
            alarms: [...props.alarms],
            width: 24,
            height: Math.max(2, Math.ceil(props.alarms.length / 4) + 1),
          }),
        },
      ],
    });

    for (const source of props.sources) {
      const queue = props.sourceQueues.get(source.name);
      if (queue === undefined) throw new Error(`no queue for source ${source.name}`);
      rows.push({ title: source.name, widgets: this.sourceRow(source, queue, props.runbookBaseUrl) });
    }
    rows.push({ title: 'pipeline', widgets: this.pipelineRow(props) });

    for (const row of rows) this.dashboard.addWidgets(...row.widgets.map((w) => w.widget));
    this.layout = rows.map((row) => ({
      title: row.title,
      widgets: row.widgets.map(({ title, widget }) => ({
        title,
        width: widget.width,
        height: widget.height,
      })),
    }));
  }

  private sourceRow(source: SourceDefinition, queue: WorkQueue, runbookBaseUrl: string): TitledWidget[] {
    const sum = (name: MetricName, label: string) =>
      sourceMetric(source.name, name, { statistic: 'Sum', period: PERIOD, label });
    const stat = (name: MetricName, statistic: string, label: string) =>
      sourceMetric(source.name, name, { statistic, period: PERIOD, label });
    const hours = (name: MetricName, label: string) =>
      new MathExpression({
        expression: 'age / 3600',
        usingMetrics: { age: stat(name, 'Maximum', label) },
        label,
        period: PERIOD,
      });
    const slaHours = source.freshnessSlaMinutes / 60;
    const width = 3;
    const graph = (title: string, options: ConstructorParameters<typeof GraphWidget>[0]): TitledWidget => ({
      title,
      widget: new GraphWidget({ width, height: ROW_HEIGHT, period: PERIOD, ...options, title }),
    });
    const o = source.owners;
    const text = [
      `### ${source.name}`,
      `${source.title} · ${source.kind} · SLA ${slaHours} h`,
      `collection: ${o.collection}  `,
      `transformation: ${o.transformation}  `,
      `data store: ${o.dataStore}  `,
      `business rules: ${o.businessRules}`,
      '',
      `[workflow map](${runbookUrl(runbookBaseUrl, `workflows/${source.name}`)})`,
    ].join('\n');
    return [
      {
        title: `${source.name}: owners, SLA, workflow map`,
        widget: new TextWidget({ markdown: text, width, height: ROW_HEIGHT }),
      },
      graph(`${source.name} · success rate (%)`, {
        left: [successRate(source.name, PERIOD)],
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [{ value: SUCCESS_RATE_THRESHOLD, label: `alarm < ${SUCCESS_RATE_THRESHOLD}%` }],
      }),
      graph(`${source.name} · job attempts`, {
        stacked: true,
        left: [
          sum(MetricName.JobSucceeded, 'succeeded'),
          sum(MetricName.JobRetried, 'retried'),
          sum(MetricName.JobDeadLettered, 'dead-lettered'),
          sum(MetricName.JobHandedOff, 'handed off'),
        ],
      }),
      graph(`${source.name} · latency (ms)`, {
        left: [
          stat(MetricName.CollectionLatency, 'p50', 'collection p50'),
          stat(MetricName.CollectionLatency, 'p99', 'collection p99'),
          stat(MetricName.EndToEndLatency, 'p50', 'end to end p50'),
          stat(MetricName.EndToEndLatency, 'p99', 'end to end p99'),
        ],
      }),
      graph(`${source.name} · queue`, {
        left: [
          queue.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'jobs waiting' }),
          queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: 'in DLQ' }),
        ],
        right: [
          queue.queue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'oldest job (s)',
          }),
        ],
      }),
      graph(`${source.name} · data age (h)`, {
        left: [hours(MetricName.DataAge, 'data age (h)')],
        leftYAxis: { min: 0 },
        leftAnnotations: [{ value: slaHours, label: `SLA ${slaHours} h` }],
      }),
      graph(`${source.name} · records`, {
        stacked: true,
        left: [
          sum(MetricName.RecordsWritten, 'written'),
          sum(MetricName.RecordsUnchanged, 'unchanged'),
          sum(MetricName.RecordsStale, 'stale (older, skipped)'),
          sum(MetricName.RecordsInvalid, 'invalid'),
        ],
      }),
      graph(`${source.name} · hand-off backlog`, {
        left: [stat(MetricName.HandoffBacklog, 'Maximum', 'open tasks')],
        right: [hours(MetricName.OldestHandoffAge, 'oldest open task (h)')],
        rightAnnotations: [{ value: slaHours / 2, label: 'alarm: half the SLA' }],
      }),
    ];
  }

  private pipelineRow(props: OperationsDashboardProps): TitledWidget[] {
    const graph = (
      title: string,
      width: number,
      options: ConstructorParameters<typeof GraphWidget>[0],
    ): TitledWidget => ({
      title,
      widget: new GraphWidget({ width, height: ROW_HEIGHT, period: PERIOD, ...options, title }),
    });
    const perFunction = (metric: (f: WatchedFunction) => IMetric) => props.functions.map(metric);
    const durationShare = props.functions.map(({ name, fn }, index) => {
      const timeoutMs = fn.function.timeout?.toMilliseconds() ?? 3000;
      // Metric IDs must be unique within one graph.
      const id = `p99of${index}`;
      return new MathExpression({
        expression: `100 * ${id} / ${timeoutMs}`,
        usingMetrics: { [id]: fn.function.metricDuration({ statistic: 'p99', period: PERIOD }) },
        label: name,
        period: PERIOD,
      });
    });
    const text = [
      '### pipeline',
      `Shared by every source. Owner: ${PIPELINE_OWNER}.`,
      '',
      `[runbooks](${runbookUrl(props.runbookBaseUrl, 'README')}) · [owners](${runbookUrl(props.runbookBaseUrl, 'OWNERS')})`,
    ].join('\n');
    return [
      {
        title: 'pipeline: owner, runbooks',
        widget: new TextWidget({ markdown: text, width: 3, height: ROW_HEIGHT }),
      },
      graph('pipeline · function errors', 4, {
        left: perFunction(({ name, fn }) => fn.function.metricErrors({ period: PERIOD, label: name })),
      }),
      graph('pipeline · function throttles', 4, {
        left: perFunction(({ name, fn }) => fn.function.metricThrottles({ period: PERIOD, label: name })),
      }),
      graph('pipeline · p99 duration (% of timeout)', 4, {
        left: durationShare,
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [{ value: DURATION_ALARM_SHARE * 100, label: 'alarm' }],
      }),
      graph('pipeline · transform queue', 4, {
        left: [
          props.transformQueue.queue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            label: 'manifests waiting',
          }),
          props.transformQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            label: 'in transform DLQ',
          }),
        ],
        right: [
          props.transformQueue.queue.metricApproximateAgeOfOldestMessage({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'oldest (s)',
          }),
        ],
      }),
      graph('pipeline · DynamoDB throttled requests', 5, {
        // One sum per table; the IDs inside each sum must differ across the whole graph.
        left: props.tables.map(({ name, table, operations }, index) => {
          const usingMetrics = Object.fromEntries(
            operations.map((operation) => [
              `t${index}${operation.toLowerCase()}`,
              table.metricThrottledRequestsForOperation(operation, { period: PERIOD, statistic: 'Sum' }),
            ]),
          );
          return new MathExpression({
            expression: Object.keys(usingMetrics).join(' + '),
            usingMetrics,
            label: name,
            period: PERIOD,
          });
        }),
      }),
    ];
  }
}
