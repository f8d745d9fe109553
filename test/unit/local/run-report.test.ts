import { describe, expect, it } from 'vitest';
import type { CollectJob } from '../../../functions/core/contracts.js';
import { reportDetails } from '../../../local/run-report.js';
import type { LedgerSummary, TrackedJob } from '../../../local/run-tracker.js';
import { demoCatalog } from '../../../sources/demo-catalog/source.js';
import { demoRates } from '../../../sources/demo-rates/source.js';

const ENQUEUED_AT = new Date('2026-11-27T08:00:00.000Z');

function tracked(jobKey: string, source: string): TrackedJob {
  const job: CollectJob = { source, input: {}, jobId: jobKey, priority: 'normal' };
  return { jobKey, job, enqueuedAt: ENQUEUED_AT };
}

function ended(jobKey: string, status: LedgerSummary['status'], afterMs = 0): LedgerSummary {
  return {
    jobKey,
    source: 'demo-catalog',
    status,
    traceId: `trace-${jobKey}`,
    updatedAt: new Date(ENQUEUED_AT.getTime() + afterMs).toISOString(),
    attempts: 2,
    lastStage: 'transform',
  };
}

describe('reportDetails', () => {
  const details = reportDetails({
    sources: [demoCatalog, demoRates],
    tracked: [
      tracked('a', 'demo-catalog'),
      tracked('b', 'demo-catalog'),
      tracked('c', 'demo-catalog'),
      tracked('d', 'demo-rates'),
      tracked('e', 'demo-rates'),
    ],
    summaries: new Map(
      [
        ended('a', 'transformed', 400),
        ended('b', 'transformed', 7000),
        ended('c', 'dead-lettered'),
        ended('d', 'handed-off'),
      ].map((s) => [s.jobKey, s]),
    ),
    retries: new Map([
      ['a', 1],
      ['c', 3],
    ]),
    dataAgeSeconds: new Map([['demo-catalog', 42]]),
    openHandoffTasks: new Map([['demo-rates', 1]]),
  });

  it('counts outcomes, retries and open tasks per source', () => {
    expect(details.sources['demo-catalog']).toMatchObject({
      jobs: 3,
      succeeded: 2,
      deadLettered: 1,
      handedOff: 0,
      unaccounted: 0,
      retries: 4,
      openHandoffTasks: 0,
    });
    expect(details.sources['demo-rates']).toMatchObject({
      jobs: 2,
      handedOff: 1,
      unaccounted: 1,
      retries: 0,
      openHandoffTasks: 1,
    });
  });

  it('keeps a source without records at no data age rather than zero', () => {
    expect(details.sources['demo-catalog']?.dataAgeSeconds).toBe(42);
    expect(details.sources['demo-rates']?.dataAgeSeconds).toBeNull();
  });

  it('puts each succeeded job in the latency bucket that holds it', () => {
    expect(details.latencyHistogram.upperBoundsMs).toEqual([
      500,
      1000,
      2000,
      5000,
      10_000,
      30_000,
      60_000,
      null,
    ]);
    expect(details.latencyHistogram.counts['demo-catalog']).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    expect(details.latencyHistogram.counts['demo-rates']).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(details.sources['demo-catalog']?.latencyMs).toEqual({ p50: 400, p95: 7000, max: 7000 });
  });
});
