/**
 * `sluice status`: each source's SLIs over a window — success rate, attempts by outcome, latency,
 * records, data age against the SLA, queue and DLQ depth, hand-off backlog — and the pipeline's
 * shared parts, with what needs attention spelled out.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoHandoffTaskList } from '../../functions/adapters/handoff-tasks.js';
import { DynamoSourceFreshness } from '../../functions/adapters/source-freshness.js';
import {
  METRICS_NAMESPACE,
  MetricName,
  SUCCESS_RATE_METRICS,
  sourceDimensions,
} from '../../functions/observability.js';
import { SUCCESS_RATE_THRESHOLD } from '../../infra/alarm-catalogue.js';
import { findSource } from '../../sources/registry.js';
import { age, duration, percent } from '../format.js';
import { type MetricRequest, readWindow } from '../metrics.js';
import { CliError, type QueuePair, type SluiceTarget } from '../target.js';

export interface QueueStatus {
  readonly waiting: number;
  /** Being worked on, or hidden until a retry's backoff ends. */
  readonly inFlight: number;
  readonly deadLetters: number;
  /** From CloudWatch (AWS/SQS); the local emulator does not publish it. */
  readonly oldestSeconds: number | undefined;
}

export interface SourceStatus {
  readonly source: string;
  readonly title: string | undefined;
  readonly slaSeconds: number | undefined;
  readonly owner: string | undefined;
  readonly attempts: {
    readonly succeeded: number;
    readonly retried: number;
    readonly deadLettered: number;
    readonly handedOff: number;
    readonly collected: number;
  };
  /** Percent of attempts that succeeded; undefined when there were none. */
  readonly successRate: number | undefined;
  readonly latencyMs: {
    readonly collectionAverage: number | undefined;
    readonly collectionMax: number | undefined;
    readonly endToEndAverage: number | undefined;
    readonly endToEndMax: number | undefined;
  };
  readonly records: {
    readonly written: number;
    readonly unchanged: number;
    readonly stale: number;
    readonly invalid: number;
  };
  readonly dataAgeSeconds: number | undefined;
  readonly newestObservedAt: string | undefined;
  readonly newestTraceId: string | undefined;
  readonly queue: QueueStatus;
  readonly handoffs: { readonly open: number; readonly oldestSeconds: number | undefined };
  /** Why this source needs a person; empty when it is healthy. */
  readonly attention: readonly string[];
}

export interface StatusReport {
  readonly target: string;
  readonly at: string;
  readonly windowMinutes: number;
  readonly sources: readonly SourceStatus[];
  readonly pipeline: {
    readonly transform: QueueStatus;
    readonly functions: readonly {
      readonly role: string;
      readonly name: string;
      readonly invocations: number;
      readonly errors: number;
      readonly throttles: number;
    }[];
  };
}

async function queueStatus(
  target: SluiceTarget,
  pair: QueuePair,
): Promise<Omit<QueueStatus, 'oldestSeconds'>> {
  const read = async (url: string) => {
    const { Attributes = {} } = await target.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      hidden: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  };
  const [jobs, dead] = await Promise.all([read(pair.jobsUrl), read(pair.deadLetterUrl)]);
  return { waiting: jobs.visible, inFlight: jobs.hidden, deadLetters: dead.visible + dead.hidden };
}

function queueName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export async function collectStatus(
  target: SluiceTarget,
  options: { readonly source?: string; readonly windowMinutes: number; readonly now?: Date },
): Promise<StatusReport> {
  const now = options.now ?? new Date();
  const known = [...target.resources.sourceQueues.keys()];
  if (options.source !== undefined && !target.resources.sourceQueues.has(options.source)) {
    throw new CliError(
      `unknown source ${JSON.stringify(options.source)}; known sources: ${known.join(', ')}`,
    );
  }
  const names = options.source === undefined ? known : [options.source];

  const requests: MetricRequest[] = [];
  const sluice = (source: string, metricName: string, stat: MetricRequest['stat']) =>
    requests.push({
      key: `${source}/${metricName}/${stat}`,
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensions: sourceDimensions(source),
      stat,
    });
  for (const source of names) {
    for (const name of [
      SUCCESS_RATE_METRICS.succeeded,
      ...SUCCESS_RATE_METRICS.failed,
      MetricName.JobCollected,
      MetricName.RecordsWritten,
      MetricName.RecordsUnchanged,
      MetricName.RecordsStale,
      MetricName.RecordsInvalid,
    ]) {
      sluice(source, name, 'Sum');
    }
    for (const name of [MetricName.CollectionLatency, MetricName.EndToEndLatency]) {
      sluice(source, name, 'Sum');
      sluice(source, name, 'SampleCount');
      sluice(source, name, 'Maximum');
    }
  }
  for (const fn of target.resources.functions) {
    for (const metricName of ['Invocations', 'Errors', 'Throttles']) {
      requests.push({
        key: `fn/${fn.name}/${metricName}`,
        namespace: 'AWS/Lambda',
        metricName,
        dimensions: { FunctionName: fn.name },
        stat: 'Sum',
      });
    }
  }
  const windowSeconds = options.windowMinutes * 60;
  const figures = await readWindow(target.clients.cloudwatch, requests, {
    start: new Date(now.getTime() - windowSeconds * 1000),
    end: now,
    periodSeconds: windowSeconds,
  });
  // The oldest message is a "now" figure: the latest few minutes, not the whole window.
  const queues = [
    ...names.map((n) => target.resources.sourceQueues.get(n)),
    target.resources.transformQueues,
  ];
  const oldest = await readWindow(
    target.clients.cloudwatch,
    queues.flatMap((q) =>
      q === undefined
        ? []
        : [
            {
              key: q.name,
              namespace: 'AWS/SQS',
              metricName: 'ApproximateAgeOfOldestMessage',
              dimensions: { QueueName: queueName(q.jobsUrl) },
              stat: 'Maximum' as const,
            },
          ],
    ),
    { start: new Date(now.getTime() - 10 * 60_000), end: now, periodSeconds: 60 },
  );

  const freshness = await new DynamoSourceFreshness(
    target.clients.documents,
    target.resources.ledgerTable,
  ).newest(names);
  const openTasks = await new DynamoHandoffTaskList(
    target.clients.documents,
    target.resources.tasksTable,
  ).list('open');

  const sources = await Promise.all(
    names.map(async (source): Promise<SourceStatus> => {
      const get = (metric: string, stat = 'Sum') => figures.get(`${source}/${metric}/${stat}`);
      const count = (metric: string) => get(metric) ?? 0;
      const average = (metric: string) => {
        const sum = get(metric);
        const samples = get(metric, 'SampleCount');
        return sum === undefined || samples === undefined || samples === 0 ? undefined : sum / samples;
      };
      const attempts = {
        succeeded: count(MetricName.JobSucceeded),
        retried: count(MetricName.JobRetried),
        deadLettered: count(MetricName.JobDeadLettered),
        handedOff: count(MetricName.JobHandedOff),
        collected: count(MetricName.JobCollected),
      };
      const total = attempts.succeeded + attempts.retried + attempts.deadLettered + attempts.handedOff;
      const successRate = total === 0 ? undefined : (100 * attempts.succeeded) / total;
      const pair = target.resources.sourceQueues.get(source);
      if (pair === undefined) throw new CliError(`no queues for source ${source}`);
      const queue = { ...(await queueStatus(target, pair)), oldestSeconds: oldest.get(source) };
      const definition = findSource(source);
      const slaSeconds = definition === undefined ? undefined : definition.freshnessSlaMinutes * 60;
      const mark = freshness.get(source);
      const dataAgeSeconds =
        mark === undefined
          ? undefined
          : Math.max(0, Math.floor((now.getTime() - mark.newestObservedAt.getTime()) / 1000));
      const tasks = openTasks.filter((t) => t.source === source);
      const oldestTask = tasks.map((t) => new Date(t.createdAt).getTime()).sort((a, b) => a - b)[0];
      const handoffs = {
        open: tasks.length,
        oldestSeconds: oldestTask === undefined ? undefined : Math.floor((now.getTime() - oldestTask) / 1000),
      };

      const attention: string[] = [];
      if (successRate !== undefined && successRate < SUCCESS_RATE_THRESHOLD)
        attention.push(`success rate ${percent(successRate)} is below ${SUCCESS_RATE_THRESHOLD} %`);
      if (queue.deadLetters > 0) attention.push(`${queue.deadLetters} message(s) in the DLQ`);
      if (dataAgeSeconds === undefined) attention.push('no records yet');
      else if (slaSeconds !== undefined && dataAgeSeconds > slaSeconds)
        attention.push(`data is ${age(dataAgeSeconds)} old, over the ${age(slaSeconds)} SLA`);
      if (
        slaSeconds !== undefined &&
        queue.oldestSeconds !== undefined &&
        queue.oldestSeconds > slaSeconds / 2
      )
        attention.push(`oldest queued job has waited ${age(queue.oldestSeconds)}`);
      if (handoffs.open > 0) attention.push(`${handoffs.open} hand-off task(s) open`);

      return {
        source,
        title: definition?.title,
        slaSeconds,
        owner: definition?.owners.collection,
        attempts,
        successRate,
        latencyMs: {
          collectionAverage: average(MetricName.CollectionLatency),
          collectionMax: get(MetricName.CollectionLatency, 'Maximum'),
          endToEndAverage: average(MetricName.EndToEndLatency),
          endToEndMax: get(MetricName.EndToEndLatency, 'Maximum'),
        },
        records: {
          written: count(MetricName.RecordsWritten),
          unchanged: count(MetricName.RecordsUnchanged),
          stale: count(MetricName.RecordsStale),
          invalid: count(MetricName.RecordsInvalid),
        },
        dataAgeSeconds,
        newestObservedAt: mark?.newestObservedAt.toISOString(),
        newestTraceId: mark?.newestTraceId,
        queue,
        handoffs,
        attention,
      };
    }),
  );

  return {
    target: target.description,
    at: now.toISOString(),
    windowMinutes: options.windowMinutes,
    sources,
    pipeline: {
      transform: {
        ...(await queueStatus(target, target.resources.transformQueues)),
        oldestSeconds: oldest.get('transform'),
      },
      functions: target.resources.functions.map((fn) => ({
        role: fn.role,
        name: fn.name,
        invocations: figures.get(`fn/${fn.name}/Invocations`) ?? 0,
        errors: figures.get(`fn/${fn.name}/Errors`) ?? 0,
        throttles: figures.get(`fn/${fn.name}/Throttles`) ?? 0,
      })),
    },
  };
}

export function renderStatus(report: StatusReport): string {
  const lines = [`Sluice status — ${report.target}`, `last ${report.windowMinutes} min, at ${report.at}`, ''];
  for (const s of report.sources) {
    const a = s.attempts;
    const total = a.succeeded + a.retried + a.deadLettered + a.handedOff;
    const verdict = s.attention.length === 0 ? 'OK' : `ATTENTION: ${s.attention.join('; ')}`;
    lines.push(
      `${s.source}${s.title === undefined ? '' : ` — ${s.title}`}  (SLA ${age(s.slaSeconds)}, owner ${s.owner ?? '?'})`,
      `  verdict       ${verdict}`,
      `  success rate  ${percent(s.successRate)}  (${a.succeeded} of ${total} attempts; retried ${a.retried}, dead-lettered ${a.deadLettered}, handed off ${a.handedOff}; collected ${a.collected})`,
      `  latency       collection avg ${duration(s.latencyMs.collectionAverage)}, max ${duration(s.latencyMs.collectionMax)} · end to end avg ${duration(s.latencyMs.endToEndAverage)}, max ${duration(s.latencyMs.endToEndMax)}`,
      `  records       written ${s.records.written} · unchanged ${s.records.unchanged} · stale ${s.records.stale} · invalid ${s.records.invalid}`,
      `  data age      ${s.dataAgeSeconds === undefined ? 'no records yet' : `${age(s.dataAgeSeconds)} (newest observation ${s.newestObservedAt}, trace ${s.newestTraceId})`}`,
      `  queue         ${s.queue.waiting} waiting · ${s.queue.inFlight} in flight or backing off · oldest ${age(s.queue.oldestSeconds)} · DLQ ${s.queue.deadLetters}`,
      `  hand-offs     ${s.handoffs.open} open${s.handoffs.oldestSeconds === undefined ? '' : `, oldest ${age(s.handoffs.oldestSeconds)}`}`,
      '',
    );
  }
  const t = report.pipeline.transform;
  lines.push(
    'pipeline',
    `  transform     ${t.waiting} waiting · ${t.inFlight} in flight · oldest ${age(t.oldestSeconds)} · DLQ ${t.deadLetters}`,
  );
  const width = Math.max(12, ...report.pipeline.functions.map((fn) => fn.role.length));
  for (const fn of report.pipeline.functions) {
    lines.push(
      `  ${fn.role.padEnd(width)}  ${fn.invocations} invocations · ${fn.errors} errors · ${fn.throttles} throttles`,
    );
  }
  return lines.join('\n');
}
