/**
 * The overview dashboard in the core stack: the state of every alarm (the shared pipeline's, and
 * each source stack's roll-ups), fleet-wide SLIs, the worst sources by each SLI, and the shared
 * pipeline. It names no source: the worst-source graphs search the metrics, so it stays the same
 * size whether the fleet has 5 sources or 300, and a new source needs no change here.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Alarm, GraphWidget, type IAlarm, MathExpression, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { Dimension, MetricName, metricsNamespace } from '../../functions/observability.js';
import {
  PIPELINE_OWNER,
  RETRY_SPIKE_PERCENT,
  ROLLUP_KINDS,
  rollupAlarmName,
  SUCCESS_RATE_THRESHOLD,
} from '../alarm-catalogue.js';
import { runbookUrl } from '../runbook-links.js';
import { fleetMetric, fleetRetryShare, fleetSuccessRate } from '../sluice-metrics.js';
import type { SourceStackPlan } from '../source-stacks.js';
import {
  alarmStatusRows,
  dashboardNameOf,
  PERIOD,
  ROW_HEIGHT,
  RowDashboard,
  type TitledWidget,
  type WidgetRow,
} from './dashboard-rows.js';
import { functionRows, retryBreakdown } from './function-widgets.js';
import { throttledRequests, type WatchedFunction, type WatchedTable } from './pipeline-alarms.js';
import type { WorkQueue } from './work-queue.js';

export interface OverviewDashboardProps {
  readonly appName: string;
  readonly sourceStacks: readonly SourceStackPlan[];
  readonly transformQueue: WorkQueue;
  readonly functions: readonly WatchedFunction[];
  readonly tables: readonly WatchedTable[];
  /** The core stack's own alarms. */
  readonly alarms: readonly Alarm[];
  readonly runbookBaseUrl: string;
}

/** How many sources each worst-source graph shows. */
export const WORST_SOURCES_SHOWN = 10;

export class OverviewDashboard extends Construct {
  readonly dashboard: RowDashboard;

  constructor(scope: Construct, id: string, props: OverviewDashboardProps) {
    super(scope, id);
    const { appName } = props;
    const stack = Stack.of(this);
    const namespace = metricsNamespace(appName);
    const graph = (title: string, width: number, options: ConstructorParameters<typeof GraphWidget>[0]) => ({
      title,
      widget: new GraphWidget({ width, height: ROW_HEIGHT, period: PERIOD, ...options, title }),
    });

    // The source stacks' roll-ups, found by name: they are created after this stack.
    const rollups: IAlarm[] = props.sourceStacks.flatMap((plan) =>
      ROLLUP_KINDS.map((kind) => {
        const name = rollupAlarmName(plan.stackName, kind);
        return Alarm.fromAlarmArn(
          this,
          `Rollup-${name}`,
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        );
      }),
    );

    const header: WidgetRow = {
      title: 'header',
      widgets: [
        {
          title: `${appName}: overview and links`,
          widget: new TextWidget({
            width: 24,
            height: 3,
            markdown: [
              `## ${appName} overview`,
              // No source names or counts: adding a source to a stack must not change this stack.
              `Source stacks: ${props.sourceStacks.map((p) => `[${p.stackName}](#dashboards:name=${dashboardNameOf(p.stackName)})`).join(' · ') || 'none'}`,
              '',
              `Shared pipeline owner: ${PIPELINE_OWNER} · [runbooks](${runbookUrl(props.runbookBaseUrl, 'README')}) · [owners](${runbookUrl(props.runbookBaseUrl, 'OWNERS')})`,
            ].join('\n'),
          }),
        },
      ],
    };

    const search = (metric: MetricName, statistic: string, periodSeconds: number) =>
      `SEARCH('{${namespace},${Dimension.Service},${Dimension.Source}} MetricName="${metric}"', '${statistic}', ${periodSeconds})`;
    // Sluice's own jobs queues: their names hold the app's name and "jobs"; their DLQs also "dlq".
    const jobsQueues = `'{AWS/SQS,QueueName} ${appName} jobs NOT dlq`;
    const deadLetterQueues = `'{AWS/SQS,QueueName} ${appName} jobs dlq`;
    const worst = (title: string, expression: string, label: string): TitledWidget =>
      graph(title, 8, {
        left: [new MathExpression({ expression, usingMetrics: {}, label, period: PERIOD })],
      });
    const p = PERIOD.toSeconds();

    const rows: WidgetRow[] = [
      header,
      {
        title: 'alarms',
        widgets: [
          ...alarmStatusRows('Shared pipeline alarms (each links its runbook)', props.alarms),
          ...alarmStatusRows('Source stacks: any alarm of each kind (open the stack dashboard)', rollups),
        ],
      },
      {
        title: 'fleet',
        widgets: [
          graph('fleet · job success rate (%)', 5, {
            left: [fleetSuccessRate(appName, PERIOD)],
            leftYAxis: { min: 0, max: 100 },
            leftAnnotations: [
              { value: SUCCESS_RATE_THRESHOLD, label: `source alarm < ${SUCCESS_RATE_THRESHOLD}%` },
            ],
          }),
          graph('fleet · retried attempts (%)', 5, {
            // The alarm's own expression: quiet periods (few attempts) read 0.
            left: [fleetRetryShare(appName, PERIOD, 0)],
            leftYAxis: { min: 0, max: 100 },
            leftAnnotations: [
              { value: RETRY_SPIKE_PERCENT, label: `retry-spike alarm > ${RETRY_SPIKE_PERCENT}%` },
            ],
          }),
          graph('fleet · attempts by outcome', 5, {
            stacked: true,
            left: [
              fleetMetric(appName, MetricName.JobSucceeded, { statistic: 'Sum', label: 'succeeded' }),
              fleetMetric(appName, MetricName.AttemptRetried, { statistic: 'Sum', label: 'retried' }),
              fleetMetric(appName, MetricName.JobDeadLettered, { statistic: 'Sum', label: 'dead-lettered' }),
              fleetMetric(appName, MetricName.JobHandedOff, { statistic: 'Sum', label: 'handed off' }),
            ],
          }),
          graph('fleet · latency (ms)', 5, {
            left: [
              fleetMetric(appName, MetricName.CollectionLatency, {
                statistic: 'p50',
                label: 'collection p50',
              }),
              fleetMetric(appName, MetricName.CollectionLatency, {
                statistic: 'p99',
                label: 'collection p99',
              }),
              fleetMetric(appName, MetricName.EndToEndLatency, { statistic: 'p50', label: 'end to end p50' }),
              fleetMetric(appName, MetricName.EndToEndLatency, { statistic: 'p99', label: 'end to end p99' }),
            ],
          }),
          graph('fleet · records', 4, {
            stacked: true,
            left: [
              fleetMetric(appName, MetricName.RecordsWritten, { statistic: 'Sum', label: 'written' }),
              fleetMetric(appName, MetricName.RecordsUnchanged, { statistic: 'Sum', label: 'unchanged' }),
              fleetMetric(appName, MetricName.RecordsStale, {
                statistic: 'Sum',
                label: 'stale (older, skipped)',
              }),
              fleetMetric(appName, MetricName.RecordsInvalid, { statistic: 'Sum', label: 'invalid' }),
            ],
          }),
        ],
      },
      {
        title: 'worst sources',
        widgets: [
          worst(
            `worst ${WORST_SOURCES_SHOWN} · job success rate (fraction)`,
            `SORT(${search(MetricName.JobSuccess, 'Average', 900)}, AVG, ASC, ${WORST_SOURCES_SHOWN})`,
            'success',
          ),
          worst(
            `worst ${WORST_SOURCES_SHOWN} · data age (s)`,
            `SORT(${search(MetricName.DataAge, 'Maximum', p)}, MAX, DESC, ${WORST_SOURCES_SHOWN})`,
            'data age',
          ),
          worst(
            `worst ${WORST_SOURCES_SHOWN} · oldest open hand-off (s)`,
            `SORT(${search(MetricName.HandoffAge, 'Maximum', p)}, MAX, DESC, ${WORST_SOURCES_SHOWN})`,
            'oldest hand-off',
          ),
          worst(
            `worst ${WORST_SOURCES_SHOWN} · oldest queued job (s)`,
            `SORT(SEARCH(${jobsQueues} MetricName="ApproximateAgeOfOldestMessage"', 'Maximum', ${p}), MAX, DESC, ${WORST_SOURCES_SHOWN})`,
            'oldest job',
          ),
          worst(
            `worst ${WORST_SOURCES_SHOWN} · messages in DLQs`,
            `SORT(SEARCH(${deadLetterQueues} MetricName="ApproximateNumberOfMessagesVisible"', 'Maximum', ${p}), MAX, DESC, ${WORST_SOURCES_SHOWN})`,
            'in DLQ',
          ),
          worst(
            `worst ${WORST_SOURCES_SHOWN} · collection latency p99 (ms)`,
            `SORT(${search(MetricName.CollectionLatency, 'p99', p)}, MAX, DESC, ${WORST_SOURCES_SHOWN})`,
            'p99',
          ),
        ],
      },
      {
        title: 'pipeline',
        widgets: [
          graph('pipeline · transform queue', 12, {
            left: [
              props.transformQueue.metricWaiting({ period: PERIOD, label: 'manifests waiting' }),
              props.transformQueue.metricDeadLetters({ period: PERIOD, label: 'in transform DLQ' }),
            ],
            right: [props.transformQueue.metricOldestMessageAge({ period: PERIOD, label: 'oldest (s)' })],
          }),
          graph('pipeline · DynamoDB throttled requests', 12, {
            // One sum per table; the IDs inside each sum must differ across the whole graph.
            left: props.tables.map((watched, index) => throttledRequests(watched, PERIOD, `t${index}`)),
          }),
          ...functionRows(props.functions, ROW_HEIGHT),
          retryBreakdown(
            'transform retries by source and reason (logs; collection retries: each source stack dashboard)',
            props.functions.filter((f) => f.name === 'transform'),
            ROW_HEIGHT,
          ),
        ],
      },
    ];
    this.dashboard = new RowDashboard(this, 'Overview', {
      dashboardName: dashboardNameOf(stack.stackName),
      rows,
    });
  }
}
