/**
 * Reads CloudWatch metrics for the CLI with GetMetricData, in the statistics CloudWatch and the
 * local emulator both answer (Sum, SampleCount, Maximum); rates and averages are computed here.
 */
import {
  type CloudWatchClient,
  type MetricDataQuery,
  paginateGetMetricData,
} from '@aws-sdk/client-cloudwatch';

export interface MetricRequest {
  /** The caller's key for the answer. */
  readonly key: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: { readonly [name: string]: string };
  readonly stat: 'Sum' | 'SampleCount' | 'Maximum';
}

/** GetMetricData takes at most 500 queries per call. */
const MAX_QUERIES = 500;

/**
 * Every metric's statistic over the whole window: Sum and SampleCount add up the periods, Maximum
 * takes the largest. A metric without data has no entry.
 */
export async function readWindow(
  client: CloudWatchClient,
  requests: readonly MetricRequest[],
  window: { readonly start: Date; readonly end: Date; readonly periodSeconds: number },
): Promise<Map<string, number>> {
  const answers = new Map<string, number>();
  for (let start = 0; start < requests.length; start += MAX_QUERIES) {
    const chunk = requests.slice(start, start + MAX_QUERIES);
    const queries: MetricDataQuery[] = chunk.map((r, i) => ({
      Id: `q${start + i}`,
      MetricStat: {
        Metric: {
          Namespace: r.namespace,
          MetricName: r.metricName,
          Dimensions: Object.entries(r.dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: window.periodSeconds,
        Stat: r.stat,
      },
      ReturnData: true,
    }));
    for await (const page of paginateGetMetricData(
      { client },
      { MetricDataQueries: queries, StartTime: window.start, EndTime: window.end },
    )) {
      for (const result of page.MetricDataResults ?? []) {
        const index = Number(result.Id?.slice(1));
        const request = requests[index];
        const values = (result.Values ?? []).filter((v) => typeof v === 'number' && Number.isFinite(v));
        if (request === undefined || values.length === 0) continue;
        const previous = answers.get(request.key);
        const combined =
          request.stat === 'Maximum' ? Math.max(...values) : values.reduce((sum, v) => sum + v, 0);
        answers.set(
          request.key,
          previous === undefined
            ? combined
            : request.stat === 'Maximum'
              ? Math.max(previous, combined)
              : previous + combined,
        );
      }
    }
  }
  return answers;
}
