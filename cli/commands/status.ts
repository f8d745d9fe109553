/**
 * `sluice status`: each source's SLIs over a window — job success rate, collection latency,
 * data age against the SLA, queue and DLQ depth, hand-off backlog — and the pipeline's shared
 * parts (attempts by outcome, end-to-end latency and records, fleet-wide), with what needs
 * attention spelled out. The figures are the ones Sluice publishes per source and fleet-wide
 * (METRIC_SCOPES in functions/observability.ts).
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoHandoffTaskList } from '../../functions/adapters/handoff-tasks.js';
import { DynamoSourceFreshness } from '../../functions/adapters/source-freshness.js';
import {
  fleetDimensions,
  MetricName,
  metricsNamespace,
  OUTCOME_METRICS,
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
  /**
   * Jobs that ended in the window: with their records written (retries included), or
   * dead-lettered or handed off (failed).
   */
  readonly jobs: { readonly succeeded: number; readonly failed: number };
  /** Percent of the jobs that ended with records; undefined when none ended. */
  readonly successRate: number | undefined;
  readonly latencyMs: {
    readonly collectionAverage: number | undefined;
    readonly collectionMax: number | undefined;
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
    /** Every source's attempts, by how they ended. */
    readonly attempts: {
      readonly succeeded: number;
      readonly retried: number;
      readonly deadLettered: number;
      readonly handedOff: number;
      readonly collected: number;
    };
    readonly endToEndLatencyMs: { readonly average: number | undefined; readonly max: number | undefined };
    readonly records: {
      readonly written: number;
      readonly unchanged: number;
      readonly stale: number;
      readonly invalid: number;
    };
    readonly transform: QueueStatus;
    readonly functions: readonly {
      readonly role: string;
      readonly stack: string;
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

function averageOf(sum: number | undefined, samples: number | undefined): number | undefined {
  return sum === undefined || samples === undefined || samples === 0 ? undefined : sum / samples;
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
  const namespace = metricsNamespace(target.resources.appName);
  const FLEET = '(fleet)';
  const sluice = (source: string, metricName: string, stat: MetricRequest['stat']) =>
    requests.push({
      key: `${source}/${metricName}/${stat}`,
      namespace,
      metricName,
      dimensions: source === FLEET ? fleetDimensions() : sourceDimensions(source),
      stat,
    });
  for (const source of names) {
    // Sum is the jobs that succeeded (1 each), SampleCount every job that ended.
    for (const stat of ['Sum', 'SampleCount'] as const) sluice(source, MetricName.JobSuccess, stat);
    for (const stat of ['Sum', 'SampleCount', 'Maximum'] as const)
      sluice(source, MetricName.CollectionLatency, stat);
  }
  for (const name of [
    ...Object.values(OUTCOME_METRICS),
    MetricName.RecordsWritten,
    MetricName.RecordsUnchanged,
    MetricName.RecordsStale,
    MetricName.RecordsInvalid,
  ]) {
    sluice(FLEET, name, 'Sum');
  }
  for (const stat of ['Sum', 'SampleCount', 'Maximum'] as const)
    sluice(FLEET, MetricName.EndToEndLatency, stat);
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
      const average = (metric: string) => averageOf(get(metric), get(metric, 'SampleCount'));
      const succeeded = get(MetricName.JobSuccess) ?? 0;
      const ended = get(MetricName.JobSuccess, 'SampleCount') ?? 0;
      const jobs = { succeeded, failed: ended - succeeded };
      const successRate = ended === 0 ? undefined : (100 * succeeded) / ended;
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
        jobs,
        successRate,
        latencyMs: {
          collectionAverage: average(MetricName.CollectionLatency),
          collectionMax: get(MetricName.CollectionLatency, 'Maximum'),
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

  const fleet = (metric: string, stat = 'Sum') => figures.get(`${FLEET}/${metric}/${stat}`);
  const fleetCount = (metric: string) => fleet(metric) ?? 0;
  return {
    target: target.description,
    at: now.toISOString(),
    windowMinutes: options.windowMinutes,
    sources,
    pipeline: {
      attempts: {
        succeeded: fleetCount(OUTCOME_METRICS.succeeded),
        retried: fleetCount(OUTCOME_METRICS.retried),
        deadLettered: fleetCount(OUTCOME_METRICS['dead-lettered']),
        handedOff: fleetCount(OUTCOME_METRICS['handed-off']),
        collected: fleetCount(OUTCOME_METRICS.collected),
      },
      endToEndLatencyMs: {
        average: averageOf(
          fleet(MetricName.EndToEndLatency),
          fleet(MetricName.EndToEndLatency, 'SampleCount'),
        ),
        max: fleet(MetricName.EndToEndLatency, 'Maximum'),
      },
      records: {
        written: fleetCount(MetricName.RecordsWritten),
        unchanged: fleetCount(MetricName.RecordsUnchanged),
        stale: fleetCount(MetricName.RecordsStale),
        invalid: fleetCount(MetricName.RecordsInvalid),
      },
      transform: {
        ...(await queueStatus(target, target.resources.transformQueues)),
        oldestSeconds: oldest.get('transform'),
      },
      functions: target.resources.functions.map((fn) => ({
        role: fn.role,
        stack: fn.stack,
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
    const j = s.jobs;
    const verdict = s.attention.length === 0 ? 'OK' : `ATTENTION: ${s.attention.join('; ')}`;
    lines.push(
      `${s.source}${s.title === undefined ? '' : ` — ${s.title}`}  (SLA ${age(s.slaSeconds)}, owner ${s.owner ?? '?'})`,
      `  verdict       ${verdict}`,
      `  success rate  ${percent(s.successRate)}  (${j.succeeded} of ${j.succeeded + j.failed} jobs that ended wrote records; ${j.failed} dead-lettered or handed off)`,
      `  latency       collection avg ${duration(s.latencyMs.collectionAverage)}, max ${duration(s.latencyMs.collectionMax)}`,
      `  data age      ${s.dataAgeSeconds === undefined ? 'no records yet' : `${age(s.dataAgeSeconds)} (newest observation ${s.newestObservedAt}, trace ${s.newestTraceId})`}`,
      `  queue         ${s.queue.waiting} waiting · ${s.queue.inFlight} in flight or backing off · oldest ${age(s.queue.oldestSeconds)} · DLQ ${s.queue.deadLetters}`,
      `  hand-offs     ${s.handoffs.open} open${s.handoffs.oldestSeconds === undefined ? '' : `, oldest ${age(s.handoffs.oldestSeconds)}`}`,
      '',
    );
  }
  const { transform: t, attempts: a, records: r, endToEndLatencyMs: e } = report.pipeline;
  lines.push(
    'pipeline (every source)',
    `  attempts      succeeded ${a.succeeded} · retried ${a.retried} · dead-lettered ${a.deadLettered} · handed off ${a.handedOff} · collected ${a.collected}`,
    `  end to end    avg ${duration(e.average)}, max ${duration(e.max)}`,
    `  records       written ${r.written} · unchanged ${r.unchanged} · stale ${r.stale} · invalid ${r.invalid}`,
    `  transform     ${t.waiting} waiting · ${t.inFlight} in flight · oldest ${age(t.oldestSeconds)} · DLQ ${t.deadLetters}`,
  );
  const label = (fn: { role: string; stack: string }) => `${fn.role} (${fn.stack})`;
  const width = Math.max(12, ...report.pipeline.functions.map((fn) => label(fn).length));
  for (const fn of report.pipeline.functions) {
    lines.push(
      `  ${label(fn).padEnd(width)}  ${fn.invocations} invocations · ${fn.errors} errors · ${fn.throttles} throttles`,
    );
  }
  return lines.join('\n');
}
