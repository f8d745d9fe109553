import { describe, expect, it } from 'vitest';
import type { CollectJob } from '../../../functions/core/contracts.js';
import { type LedgerSummary, percentile, summarizeRun, type TrackedJob } from '../../../local/run-tracker.js';

const ENQUEUED_AT = new Date('2026-11-27T08:00:00.000Z');

function tracked(jobKey: string, source = 'demo-catalog'): TrackedJob {
  const job: CollectJob = { source, input: {}, jobId: jobKey, priority: 'normal' };
  return { jobKey, job, enqueuedAt: ENQUEUED_AT };
}

function summary(jobKey: string, overrides: Partial<LedgerSummary>): LedgerSummary {
  return {
    jobKey,
    source: 'demo-catalog',
    status: 'transformed',
    traceId: `trace-${jobKey}`,
    updatedAt: '2026-11-27T08:00:01.000Z',
    attempts: 2,
    lastStage: 'transform',
    ...overrides,
  };
}

/** A finished transform `latencyMs` after enqueueing. */
function transformedAfter(jobKey: string, latencyMs: number, counts?: LedgerSummary['lastCounts']) {
  return summary(jobKey, {
    status: 'transformed',
    updatedAt: new Date(ENQUEUED_AT.getTime() + latencyMs).toISOString(),
    ...(counts === undefined ? {} : { lastCounts: counts }),
  });
}

function byKey(...summaries: LedgerSummary[]): Map<string, LedgerSummary> {
  return new Map(summaries.map((s) => [s.jobKey, s]));
}

describe('percentile', () => {
  const oneToTen = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];

  it('answers undefined for no values', () => {
    expect(percentile([], 50)).toBeUndefined();
  });

  it('takes the nearest rank: p50 of 1..10 is 5', () => {
    expect(percentile(oneToTen, 50)).toBe(5);
  });

  it('rounds the rank up: p95 of 1..10 is 10', () => {
    expect(percentile(oneToTen, 95)).toBe(10);
  });

  it('rounds the rank up: p91 of 1..10 is 10 and p90 is 9', () => {
    expect([percentile(oneToTen, 90), percentile(oneToTen, 91)]).toEqual([9, 10]);
  });

  it('answers the maximum for p100', () => {
    expect(percentile(oneToTen, 100)).toBe(10);
  });

  it('answers the minimum for p0', () => {
    expect(percentile(oneToTen, 0)).toBe(1);
  });

  it('answers the only value of a single-value list for any p', () => {
    expect([0, 50, 99, 100].map((p) => percentile([42], p))).toEqual([42, 42, 42, 42]);
  });

  it('sorts numerically, not as text', () => {
    expect(percentile([100, 9, 20], 50)).toBe(20);
  });

  it('leaves its input unsorted', () => {
    const values = [3, 1, 2];

    percentile(values, 50);

    expect(values).toEqual([3, 1, 2]);
  });
});

describe('summarizeRun', () => {
  it('counts transformed jobs as succeeded', () => {
    const run = summarizeRun(
      [tracked('a'), tracked('b')],
      byKey(transformedAfter('a', 1000), transformedAfter('b', 2000)),
    );

    expect(run).toMatchObject({ jobs: 2, succeeded: 2, deadLettered: 0, handedOff: 0, unaccounted: 0 });
  });

  it('adds up the record counts of transformed jobs', () => {
    const run = summarizeRun(
      [tracked('a'), tracked('b')],
      byKey(
        transformedAfter('a', 1000, { created: 20, updated: 0, unchanged: 0, stale: 0 }),
        transformedAfter('b', 1000, { created: 3, updated: 5, unchanged: 11, stale: 1 }),
      ),
    );

    expect(run.records).toEqual({ created: 23, updated: 5, unchanged: 11, stale: 1 });
  });

  it('counts a transformed job without record counts as zero records', () => {
    const run = summarizeRun(
      [tracked('a')],
      byKey(summary('a', { status: 'transformed', lastCounts: null })),
    );

    expect(run.records).toEqual({ created: 0, updated: 0, unchanged: 0, stale: 0 });
  });

  it('measures latency from enqueueing to the final ledger update', () => {
    const jobs = ['a', 'b', 'c', 'd'].map((k) => tracked(k));
    const summaries = byKey(
      transformedAfter('a', 4000),
      transformedAfter('b', 1000),
      transformedAfter('c', 3000),
      transformedAfter('d', 2000),
    );

    expect(summarizeRun(jobs, summaries).latencyMs).toEqual({ p50: 2000, p95: 4000, max: 4000 });
  });

  it('leaves latencies undefined when no job succeeded', () => {
    const run = summarizeRun([tracked('a')], new Map());

    expect(run.latencyMs).toEqual({ p50: undefined, p95: undefined, max: undefined });
  });

  it('counts dead-lettered jobs by their last reason', () => {
    const run = summarizeRun(
      [tracked('a'), tracked('b'), tracked('c')],
      byKey(
        summary('a', { status: 'dead-lettered', lastReason: 'http-404' }),
        summary('b', { status: 'dead-lettered', lastReason: 'retries-exhausted' }),
        summary('c', { status: 'dead-lettered', lastReason: 'http-404' }),
      ),
    );

    expect(run.deadLettered).toBe(3);
    expect(run.deadLetterReasons).toEqual({ 'http-404': 2, 'retries-exhausted': 1 });
  });

  it("files a dead-lettered job with no reason under 'unknown'", () => {
    const run = summarizeRun(
      [tracked('a')],
      byKey(summary('a', { status: 'dead-lettered', lastReason: null })),
    );

    expect(run.deadLetterReasons).toEqual({ unknown: 1 });
  });

  it('counts handed-off jobs', () => {
    const run = summarizeRun(
      [tracked('a')],
      byKey(summary('a', { status: 'handed-off', lastReason: 'captcha' })),
    );

    expect(run).toMatchObject({ handedOff: 1, succeeded: 0, unaccounted: 0 });
  });

  it('lists jobs still in flight, or missing from the ledger, as unaccounted', () => {
    const run = summarizeRun(
      [tracked('retrying'), tracked('collected'), tracked('missing'), tracked('done')],
      byKey(
        summary('retrying', { status: 'retrying', lastStage: 'collect' }),
        summary('collected', { status: 'collected', lastStage: 'collect' }),
        transformedAfter('done', 500),
      ),
    );

    expect(run.unaccounted).toBe(3);
    expect(run.unaccountedJobKeys).toEqual(['retrying', 'collected', 'missing']);
  });

  it('breaks the outcomes down by source', () => {
    const run = summarizeRun(
      [
        tracked('a', 'demo-catalog'),
        tracked('b', 'demo-catalog'),
        tracked('c', 'demo-rates'),
        tracked('d', 'demo-rates'),
      ],
      byKey(
        transformedAfter('a', 100),
        summary('b', { status: 'dead-lettered', lastReason: 'http-404' }),
        summary('c', { status: 'handed-off', source: 'demo-rates' }),
      ),
    );

    expect(run.bySource).toEqual({
      'demo-catalog': { jobs: 2, succeeded: 1, deadLettered: 1, handedOff: 0 },
      'demo-rates': { jobs: 2, succeeded: 0, deadLettered: 0, handedOff: 1 },
    });
  });

  it('summarizes an empty run as zeros', () => {
    expect(summarizeRun([], new Map())).toMatchObject({
      jobs: 0,
      succeeded: 0,
      unaccounted: 0,
      bySource: {},
      deadLetterReasons: {},
    });
  });
});
