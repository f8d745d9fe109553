/**
 * Local stand-in for what CloudWatch does with a Lambda function's output in AWS: embedded metric
 * format (EMF) lines become metrics, and every invocation counts in AWS/Lambda (Invocations,
 * Errors, Throttles, Duration). Both go into moto's CloudWatch, so `sluice status` reads the same
 * metrics locally as in AWS; so do the AWS/SQS metrics the local queue poller measures
 * (local/queue-metrics.ts).
 *
 * It also keeps every data point it put, as put: moto answers only the five basic statistics
 * (no percentiles) and scans every stored data point for each query, so the local alarm
 * evaluation (local/alarms/) reads the same points from here instead.
 */
import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import type { Sample } from './alarms/alarm-evaluator.js';
import type { MetricIdentity } from './alarms/alarm-model.js';
import type { InvocationResult } from './lambda-runtime.js';

const EmfDocument = z.object({
  _aws: z.object({
    Timestamp: z.number(),
    CloudWatchMetrics: z.array(
      z.object({
        Namespace: z.string().min(1),
        Dimensions: z.array(z.array(z.string())),
        Metrics: z.array(z.object({ Name: z.string().min(1), Unit: z.string().optional() })),
      }),
    ),
  }),
});

export interface NamespacedDatum {
  readonly namespace: string;
  readonly datum: MetricDatum;
}

/**
 * The metrics one log line carries in EMF, or none when it is not an EMF document. Like
 * CloudWatch, a metric whose value or dimension value is missing is dropped.
 */
export function metricsInLogLine(line: string): NamespacedDatum[] {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return [];
  }
  const parsed = EmfDocument.safeParse(json);
  if (!parsed.success) return [];
  const document = json as { [key: string]: unknown };
  const timestamp = new Date(parsed.data._aws.Timestamp);
  const data: NamespacedDatum[] = [];
  for (const directive of parsed.data._aws.CloudWatchMetrics) {
    for (const dimensionSet of directive.Dimensions) {
      const dimensions = dimensionSet.map((name) => ({ Name: name, Value: document[name] }));
      if (dimensions.some((d) => typeof d.Value !== 'string' && typeof d.Value !== 'number')) continue;
      for (const metric of directive.Metrics) {
        const raw = document[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const value of values) {
          data.push({
            namespace: directive.Namespace,
            datum: {
              MetricName: metric.Name,
              Dimensions: dimensions.map((d) => ({ Name: d.Name, Value: String(d.Value) })),
              Timestamp: timestamp,
              Value: value,
              ...(metric.Unit === undefined ? {} : { Unit: metric.Unit as MetricDatum['Unit'] }),
            },
          });
        }
      }
    }
  }
  return data;
}

/** The AWS/Lambda metrics Lambda itself publishes for one invocation. */
export function lambdaMetricsFor(
  functionName: string,
  result: InvocationResult,
  at: Date,
): NamespacedDatum[] {
  const Dimensions = [{ Name: 'FunctionName', Value: functionName }];
  const datum = (MetricName: string, Value: number, Unit: MetricDatum['Unit']): NamespacedDatum => ({
    namespace: 'AWS/Lambda',
    datum: { MetricName, Dimensions, Timestamp: at, Value, Unit },
  });
  return [
    datum('Invocations', 1, 'Count'),
    datum('Errors', result.ok ? 0 : 1, 'Count'),
    // The local runtime never refuses an invocation: every one is measured as not throttled.
    datum('Throttles', 0, 'Count'),
    datum('Duration', result.durationMs, 'Milliseconds'),
  ];
}

/** One key per metric: namespace, name and the exact dimension set. */
export function seriesKey(metric: MetricIdentity): string {
  const dimensions = Object.entries(metric.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([metric.namespace, metric.metricName, dimensions]);
}

function keyOfDatum({ namespace, datum }: NamespacedDatum): string {
  return seriesKey({
    namespace,
    metricName: datum.MetricName ?? '',
    dimensions: Object.fromEntries((datum.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
  });
}

/** The first index of `samples` (sorted by time) at or after `at`. */
function firstAtOrAfter(samples: readonly Sample[], at: number): number {
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((samples[middle]?.at ?? 0) < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** PutMetricData takes at most 1,000 data per call; fewer keeps each request small. */
const MAX_DATA_PER_CALL = 500;

/** Buffers metrics and puts them into the emulator's CloudWatch in batches. */
export class LocalCloudWatch {
  private buffer: NamespacedDatum[] = [];
  /** Every data point put, per metric, sorted by time. */
  private readonly kept = new Map<string, Sample[]>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private warned = false;
  /** Data put so far, for the run's logs. */
  published = 0;

  constructor(
    private readonly client: CloudWatchClient,
    flushEveryMs = 500,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  acceptLogLine(line: string): void {
    const data = metricsInLogLine(line);
    if (data.length > 0) this.buffer.push(...data);
  }

  recordInvocation(functionName: string, result: InvocationResult): void {
    this.buffer.push(...lambdaMetricsFor(functionName, result, new Date()));
  }

  /** Puts data measured outside the functions (the AWS/SQS metrics of local/queue-metrics.ts). */
  accept(data: readonly NamespacedDatum[]): void {
    this.buffer.push(...data);
  }

  /** The data points of one metric (its exact dimension set) put so far, in [from, to). */
  samples(metric: MetricIdentity, from: number, to: number): Sample[] {
    const samples = this.kept.get(seriesKey(metric)) ?? [];
    return samples.slice(firstAtOrAfter(samples, from), firstAtOrAfter(samples, to));
  }

  private keep(data: readonly NamespacedDatum[]): void {
    for (const item of data) {
      const at = item.datum.Timestamp instanceof Date ? item.datum.Timestamp.getTime() : Date.now();
      const value = item.datum.Value;
      if (value === undefined) continue;
      const key = keyOfDatum(item);
      const samples = this.kept.get(key) ?? [];
      // Points arrive nearly in time order; insert from the end.
      let index = samples.length;
      while (index > 0 && (samples[index - 1]?.at ?? 0) > at) index -= 1;
      samples.splice(index, 0, { at, value });
      this.kept.set(key, samples);
    }
  }

  /** Puts everything buffered so far; calls are serialized. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.put());
    return this.flushing;
  }

  private async put(): Promise<void> {
    const pending = this.buffer.splice(0);
    const byNamespace = new Map<string, NamespacedDatum[]>();
    for (const item of pending) {
      const list = byNamespace.get(item.namespace) ?? [];
      list.push(item);
      byNamespace.set(item.namespace, list);
    }
    for (const [namespace, data] of byNamespace) {
      for (let start = 0; start < data.length; start += MAX_DATA_PER_CALL) {
        const chunk = data.slice(start, start + MAX_DATA_PER_CALL);
        try {
          await this.client.send(
            new PutMetricDataCommand({ Namespace: namespace, MetricData: chunk.map((c) => c.datum) }),
          );
          this.keep(chunk);
          this.published += chunk.length;
        } catch (error) {
          if (!this.warned) {
            this.warned = true;
            process.emitWarning(`local CloudWatch: putting metrics failed: ${(error as Error).message}`);
          }
        }
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
