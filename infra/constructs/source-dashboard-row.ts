/** A source's row on its stack's dashboard: its SLIs in five widgets across the 24 columns. */

import { Duration } from 'aws-cdk-lib';
import { GraphWidget, MathExpression, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { MetricName } from '../../functions/observability.js';
import type { SourceDefinition } from '../../sources/define.js';
import { FRESHNESS_CHECK_MINUTES, SUCCESS_RATE_THRESHOLD } from '../alarm-catalogue.js';
import { runbookUrl } from '../runbook-links.js';
import { sourceMetric, successRate } from '../sluice-metrics.js';
import { PERIOD, ROW_HEIGHT, type TitledWidget, type WidgetRow } from './dashboard-rows.js';
import type { WorkQueue } from './work-queue.js';

const CHECK_PERIOD = Duration.minutes(FRESHNESS_CHECK_MINUTES);

export interface SourceRowProps {
  readonly appName: string;
  readonly source: SourceDefinition;
  readonly jobs: WorkQueue;
  readonly runbookBaseUrl: string;
  /** The stack the source is deployed in, shown beside its owners. */
  readonly stackName: string;
}

/**
 * Owners, SLA and workflow map; success rate (and attempts); collection latency; the queue and its
 * DLQ; data age and the hand-off backlog against the SLA.
 */
export function sourceDashboardRow(props: SourceRowProps): WidgetRow {
  const { appName, source, jobs } = props;
  const metric = (name: MetricName, statistic: string, label: string, period = PERIOD) =>
    sourceMetric(appName, source.name, name, { statistic, period, label });
  // Metric IDs must differ within one graph.
  const hours = (id: string, name: MetricName, label: string) =>
    new MathExpression({
      expression: `${id} / 3600`,
      usingMetrics: { [id]: metric(name, 'Maximum', label) },
      label,
      period: PERIOD,
    });
  const slaHours = source.freshnessSlaMinutes / 60;
  const graph = (
    title: string,
    width: number,
    options: ConstructorParameters<typeof GraphWidget>[0],
  ): TitledWidget => ({
    title,
    widget: new GraphWidget({ width, height: ROW_HEIGHT, period: PERIOD, ...options, title }),
  });
  const o = source.owners;
  const text = [
    `### ${source.name}`,
    `${source.title} · ${source.kind} · SLA ${slaHours} h · ${props.stackName}`,
    `collection: ${o.collection}  `,
    `transformation: ${o.transformation}  `,
    `data store: ${o.dataStore}  `,
    `business rules: ${o.businessRules}`,
    '',
    `[workflow map](${runbookUrl(props.runbookBaseUrl, `workflows/${source.name}`)})`,
  ].join('\n');
  return {
    title: source.name,
    widgets: [
      {
        title: `${source.name}: owners, SLA, workflow map`,
        widget: new TextWidget({ markdown: text, width: 4, height: ROW_HEIGHT }),
      },
      graph(`${source.name} · success rate (%)`, 5, {
        left: [successRate(appName, source.name, PERIOD)],
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [{ value: SUCCESS_RATE_THRESHOLD, label: `alarm < ${SUCCESS_RATE_THRESHOLD}%` }],
        right: [metric(MetricName.JobSuccess, 'SampleCount', 'jobs ended')],
      }),
      graph(`${source.name} · collection latency (ms)`, 5, {
        left: [
          metric(MetricName.CollectionLatency, 'p50', 'p50'),
          metric(MetricName.CollectionLatency, 'p99', 'p99'),
        ],
      }),
      graph(`${source.name} · queue`, 5, {
        left: [
          jobs.metricWaiting({ period: PERIOD, label: 'jobs waiting' }),
          jobs.metricDeadLetters({ period: PERIOD, label: 'in DLQ' }),
        ],
        right: [jobs.metricOldestMessageAge({ period: PERIOD, label: 'oldest job (s)' })],
      }),
      graph(`${source.name} · data age and hand-offs (h)`, 5, {
        left: [
          hours('dataAge', MetricName.DataAge, 'data age (h)'),
          hours('handoffAge', MetricName.HandoffAge, 'oldest hand-off (h)'),
        ],
        leftYAxis: { min: 0 },
        leftAnnotations: [
          { value: slaHours, label: `SLA ${slaHours} h` },
          { value: slaHours / 2, label: 'hand-off alarm: half the SLA' },
        ],
        // One age per open task per freshness check, and one check per period: the backlog.
        right: [metric(MetricName.HandoffAge, 'SampleCount', 'open hand-off tasks', CHECK_PERIOD)],
      }),
    ],
  };
}
