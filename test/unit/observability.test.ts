import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  addJobLogKeys,
  FLEET_METRICS,
  logger,
  METRIC_SCOPES,
  MetricName,
  PER_SOURCE_METRICS,
  publishMetric,
  recordAttempt,
  withJobLogKeys,
} from '../../functions/observability.js';

let lines: { [key: string]: unknown }[];

beforeEach(() => {
  lines = [];
  // Powertools writes INFO to stdout and WARN/ERROR to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk)
        .split('\n')
        .filter((l) => l.startsWith('{')))
        lines.push(JSON.parse(line));
      return true;
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('job log keys', () => {
  it('tag every line of a job with its own keys while jobs of one batch run in parallel', async () => {
    const job = (n: number, delayMs: number) =>
      withJobLogKeys({ messageId: `m${n}` }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        addJobLogKeys({ traceId: `trace-${n}`, jobKey: `job-${n}`, source: 'demo-catalog' });
        await new Promise((resolve) => setTimeout(resolve, 1));
        logger.info('fetching', { step: n });
      });

    await Promise.all([job(1, 5), job(2, 1)]);

    expect(lines.map((l) => [l.step, l.messageId, l.traceId, l.jobKey])).toEqual([
      [2, 'm2', 'trace-2', 'job-2'],
      [1, 'm1', 'trace-1', 'job-1'],
    ]);
  });

  it('leave keys a line sets itself alone', async () => {
    await withJobLogKeys({ messageId: 'm1', source: 'unknown' }, async () => {
      logger.warn('parsed', { source: 'demo-rates' });
    });

    expect(lines[0]).toMatchObject({ messageId: 'm1', source: 'demo-rates' });
  });

  it('tag nothing outside a job', () => {
    logger.info('cold start');

    expect(lines[0]).not.toHaveProperty('traceId');
    expect(lines[0]).not.toHaveProperty('messageId');
  });
});

/** The EMF documents written, as `{ metric: [dimension sets] }` with their values. */
function emf(): { name: string; dimensions: string[][]; value: unknown; source: unknown }[] {
  return lines
    .filter((line) => typeof line._aws === 'object')
    .flatMap((line) => {
      const directive = (
        line._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics[0];
      return (directive?.Metrics ?? []).map((m) => ({
        name: m.Name,
        dimensions: directive?.Dimensions ?? [],
        value: line[m.Name],
        source: line.source,
      }));
    });
}

describe('metrics', () => {
  it('publish per source only the SLIs an owner is paged on: four series a source', () => {
    expect([...PER_SOURCE_METRICS].sort()).toEqual(
      [MetricName.JobSuccess, MetricName.CollectionLatency, MetricName.DataAge, MetricName.HandoffAge].sort(),
    );
    expect(FLEET_METRICS.length).toBeGreaterThan(0);
  });

  it('write a per-source and fleet-wide metric as one line with both dimension sets', () => {
    publishMetric('demo-catalog', MetricName.CollectionLatency, 812);

    expect(emf()).toEqual([
      {
        name: 'CollectionLatency',
        dimensions: [['service', 'source'], ['service']],
        value: 812,
        source: 'demo-catalog',
      },
    ]);
  });

  it('write a fleet-wide metric without the source dimension', () => {
    publishMetric('demo-catalog', MetricName.RecordsWritten, 20);

    expect(emf()).toEqual([
      { name: 'RecordsWritten', dimensions: [['service']], value: 20, source: undefined },
    ]);
  });

  it('write one value per open hand-off task, and nothing when none is open', () => {
    publishMetric('demo-portal', MetricName.HandoffAge, 600, 60);
    publishMetric('demo-portal', MetricName.HandoffAge);

    expect(emf()).toEqual([
      { name: 'HandoffAge', dimensions: [['service', 'source']], value: [600, 60], source: 'demo-portal' },
    ]);
  });

  it("count a retry in the fleet's retry share only: a job that retries has not ended", () => {
    recordAttempt('demo-catalog', 'retried');

    expect(emf().map((m) => [m.name, m.value, m.dimensions])).toEqual([['AttemptRetried', 1, [['service']]]]);
  });

  it("count a job that ended in records as 1 in its source's success rate, and as a non-retried attempt", () => {
    recordAttempt('demo-catalog', 'succeeded');

    expect(emf().map((m) => [m.name, m.value, m.dimensions])).toEqual([
      ['JobSucceeded', 1, [['service']]],
      ['AttemptRetried', 0, [['service']]],
      ['JobSuccess', 1, [['service', 'source'], ['service']]],
    ]);
  });

  it("count a dead-lettered or handed-off job as 0 in its source's success rate", () => {
    recordAttempt('demo-catalog', 'dead-lettered');
    recordAttempt('demo-portal', 'handed-off');

    expect(
      emf()
        .filter((m) => m.name === 'JobSuccess')
        .map((m) => [m.source, m.value]),
    ).toEqual([
      ['demo-catalog', 0],
      ['demo-portal', 0],
    ]);
  });

  it('leave the success rate alone for a collection: it is a step, not an ending', () => {
    recordAttempt('demo-catalog', 'collected');

    expect(emf().map((m) => m.name)).toEqual(['JobCollected', 'AttemptRetried']);
  });

  it('leave the success rate alone for a replay: the job it re-runs ended before', () => {
    recordAttempt('demo-catalog', 'succeeded', { endsJobRun: false });

    expect(emf().map((m) => m.name)).toEqual(['JobSucceeded', 'AttemptRetried']);
  });

  it('give every metric a scope', () => {
    for (const name of Object.values(MetricName)) expect(METRIC_SCOPES[name].length, name).toBeGreaterThan(0);
  });
});
