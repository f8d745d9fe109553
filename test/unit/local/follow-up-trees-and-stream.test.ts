/**
 * The local environment's side of issue 15: a run follows whole trees of follow-up jobs (a job is
 * finished when every job under it has ended, and their outcomes are summed up), the report
 * counts follow-ups and change events per source, and the stream poller hands the function what
 * Lambda would and moves on only past what it handled.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { reportDetails } from '../../../local/run-report.js';
import {
  descendantsOf,
  type LedgerSummary,
  progressOf,
  summarizeRun,
  type TrackedJob,
  treeFinished,
} from '../../../local/run-tracker.js';
import { scheduledInput } from '../../../local/scheduled-rules.js';
import { handledPrefix, toLambdaStreamRecord } from '../../../local/stream-poller.js';
import { demoShipments } from '../../../sources/demo-shipments/source.js';

const ENQUEUED_AT = new Date('2026-11-27T08:00:00.000Z');

function summary(jobKey: string, status: LedgerSummary['status'], followUpKeys?: string[]): LedgerSummary {
  return {
    jobKey,
    source: 'demo-shipments',
    status,
    traceId: 'trace-root-1',
    updatedAt: '2026-11-27T08:00:05.000Z',
    attempts: 1,
    lastStage: 'transform',
    lastCounts: { created: 25, updated: 0, unchanged: 0, stale: 0 },
    ...(followUpKeys === undefined ? {} : { followUpKeys }),
  };
}
const root: TrackedJob = {
  jobKey: 'root',
  job: { source: 'demo-shipments', input: { page: 1 }, jobId: 'root', priority: 'normal' },
  enqueuedAt: ENQUEUED_AT,
};
const byKey = (...summaries: LedgerSummary[]) => new Map(summaries.map((s) => [s.jobKey, s]));

describe('follow-up trees', () => {
  const pages = byKey(
    summary('root', 'transformed', ['p2']),
    summary('p2', 'transformed', ['p3']),
    summary('p3', 'dead-lettered'),
  );

  it('finds every job under a root, breadth first, and survives a cycle', () => {
    expect(descendantsOf('root', pages)).toEqual(['p2', 'p3']);
    expect(
      descendantsOf('a', byKey(summary('a', 'transformed', ['b']), summary('b', 'transformed', ['a']))),
    ).toEqual(['b']);
  });

  it('counts a root finished only when every job under it has ended', () => {
    const pending = byKey(summary('root', 'transformed', ['p2']), summary('p2', 'collected'));

    expect(treeFinished('root', pages)).toBe(true);
    expect(treeFinished('root', pending)).toBe(false);
    expect(treeFinished('root', byKey(summary('root', 'transformed', ['p2'])))).toBe(false);
    expect(progressOf([root], pending).finished).toBe(0);
  });

  it('sums up the follow-ups of a run by source and outcome, and their records', () => {
    const run = summarizeRun([root], pages);

    expect(run.followUps).toEqual({
      'demo-shipments': { jobs: 2, succeeded: 1, deadLettered: 1, handedOff: 0, unaccounted: 0 },
    });
    expect(run.records.created).toBe(50);
  });
});

describe('the report', () => {
  it('counts follow-up jobs, scheduled runs and change events per source', () => {
    const details = reportDetails({
      sources: [demoShipments],
      tracked: [root],
      summaries: byKey(summary('root', 'transformed')),
      retries: new Map(),
      dataAgeSeconds: new Map(),
      openHandoffTasks: new Map(),
      followUpJobs: new Map([['demo-shipments', 5]]),
      scheduledRuns: new Map([['demo-shipments', 2]]),
      changeEvents: new Map([['demo-shipments', { all: 150, meaningful: 140 }]]),
    });

    expect(details.sources['demo-shipments']).toMatchObject({
      followUpJobs: 5,
      scheduledRuns: 2,
      changeEvents: 150,
      meaningfulChangeEvents: 140,
    });
  });
});

describe('local schedules', () => {
  it("fill in Scheduler's context attributes, the scheduled time without milliseconds", () => {
    const input = scheduledInput(
      '{"source":"demo-shipments","scheduledRun":{"scheduledAt":"<aws.scheduler.scheduled-time>"},"n":"<aws.scheduler.attempt-number>"}',
      { scheduledAt: new Date('2026-11-27T08:00:00.123Z'), scheduleArn: 'arn', executionId: 'x', attempt: 1 },
    );

    expect(JSON.parse(input)).toEqual({
      source: 'demo-shipments',
      scheduledRun: { scheduledAt: '2026-11-27T08:00:00Z' },
      n: '1',
    });
  });
});

describe('the stream poller', () => {
  const records = ['101', '102', '103'].map(
    (sequence): DynamoDBRecord =>
      toLambdaStreamRecord(
        {
          eventID: `e-${sequence}`,
          eventName: 'INSERT',
          dynamodb: {
            ApproximateCreationDateTime: new Date('2026-11-27T08:00:00Z'),
            Keys: { pk: { S: `demo-shipments#${sequence}` } },
            NewImage: { pk: { S: `demo-shipments#${sequence}` } },
            SequenceNumber: sequence,
            SizeBytes: 10,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        },
        'arn:aws:dynamodb:us-east-1:123456789012:table/records/stream/x',
        'us-east-1',
      ),
  );

  it('hands records over as Lambda does: epoch seconds, the stream ARN, the images', () => {
    expect(records[0]).toMatchObject({
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: { ApproximateCreationDateTime: 1795766400, SequenceNumber: '101' },
    });
  });

  it('moves past what the function handled: all, up to the first failure, or nothing on an error', () => {
    const ok = (value: unknown) => ({ ok: true, value, durationMs: 1, coldStart: false });

    expect(handledPrefix(records, ok({ batchItemFailures: [] }), true)).toEqual({
      handled: 3,
      functionError: false,
    });
    expect(
      handledPrefix(
        records,
        ok({ batchItemFailures: [{ itemIdentifier: '103' }, { itemIdentifier: '102' }] }),
        true,
      ),
    ).toEqual({ handled: 1, functionError: false });
    expect(handledPrefix(records, ok({ batchItemFailures: [{ itemIdentifier: '999' }] }), true)).toEqual({
      handled: 0,
      functionError: true,
    });
    expect(
      handledPrefix(
        records,
        { ok: false, error: { name: 'Error', message: 'boom' }, durationMs: 1, coldStart: false },
        true,
      ),
    ).toEqual({
      handled: 0,
      functionError: true,
    });
  });
});
