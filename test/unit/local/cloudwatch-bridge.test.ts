import { describe, expect, it } from 'vitest';
import { lambdaMetricsFor, metricsInLogLine } from '../../../local/cloudwatch-bridge.js';

/** A line exactly as Powertools' singleMetric() printed it in a local run. */
const EMF_LINE =
  '{"_aws":{"Timestamp":1795772818642,"CloudWatchMetrics":[{"Namespace":"Sluice","Dimensions":[["service","source"]],"Metrics":[{"Name":"JobSucceeded","Unit":"Count"}]}]},"service":"sluice","source":"demo-catalog","JobSucceeded":1}';

describe('metricsInLogLine', () => {
  it('turns an EMF line into a metric datum with its dimensions, unit and time', () => {
    expect(metricsInLogLine(EMF_LINE)).toEqual([
      {
        namespace: 'Sluice',
        datum: {
          MetricName: 'JobSucceeded',
          Dimensions: [
            { Name: 'service', Value: 'sluice' },
            { Name: 'source', Value: 'demo-catalog' },
          ],
          Timestamp: new Date(1795772818642),
          Value: 1,
          Unit: 'Count',
        },
      },
    ]);
  });

  it('ignores an ordinary log line', () => {
    expect(metricsInLogLine('{"level":"INFO","message":"job collected","_awsish":true}')).toEqual([]);
    expect(metricsInLogLine('plain text mentioning "_aws"')).toEqual([]);
  });

  it('ignores a line that is not JSON even if it looks like EMF', () => {
    expect(metricsInLogLine('{"_aws": {')).toEqual([]);
  });

  it('emits one datum per value when a metric holds several values', () => {
    const line = EMF_LINE.replace('"JobSucceeded":1', '"JobSucceeded":[1,2,3]');

    expect(metricsInLogLine(line).map((d) => d.datum.Value)).toEqual([1, 2, 3]);
  });

  it('drops a metric whose dimension value is missing, as CloudWatch does', () => {
    const line = EMF_LINE.replace('"source":"demo-catalog",', '');

    expect(metricsInLogLine(line)).toEqual([]);
  });
});

describe('lambdaMetricsFor', () => {
  it('counts a failed invocation as an error, with its duration', () => {
    const at = new Date('2026-11-27T10:00:00Z');
    const data = lambdaMetricsFor('Transform-abc', { ok: false, durationMs: 1234, coldStart: false }, at);

    expect(data.map((d) => [d.namespace, d.datum.MetricName, d.datum.Value])).toEqual([
      ['AWS/Lambda', 'Invocations', 1],
      ['AWS/Lambda', 'Errors', 1],
      ['AWS/Lambda', 'Throttles', 0],
      ['AWS/Lambda', 'Duration', 1234],
    ]);
    expect(data[0]?.datum.Dimensions).toEqual([{ Name: 'FunctionName', Value: 'Transform-abc' }]);
  });
});
