import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyHttpStatus } from '../../../../functions/core/classify-failure.js';
import { HandoffRequiredError, PermanentError, TransientError } from '../../../../functions/core/errors.js';
import type { RecordStore } from '../../../../functions/core/ports.js';
import { encodeS3Key, replayNotification } from '../../../../functions/core/s3-notification.js';
import { traceIdForMessage } from '../../../../functions/core/trace-id.js';
import { TRANSFORM_RETRY_BUDGET } from '../../../../functions/core/transform-budget.js';
import {
  type ManifestMessage,
  nextTransformStep,
  readManifestMessage,
  type TransformJobDeps,
  transformJob,
} from '../../../../functions/core/transform-job.js';
import { defineParser } from '../../../../sources/define.js';
import { findSource } from '../../../../sources/registry.js';
import { MemoryFollowUpQueue } from '../../../support/follow-up-fakes.js';
import {
  InMemoryFreshness,
  InMemoryRawStore,
  InMemoryRecordStore,
  RecordingLedger,
  storeCollection,
} from '../../../support/transform-fakes.js';

const BUCKET = 'raw-bucket';
const OBSERVED_AT = new Date('2026-11-27T08:00:00.000Z');
/** The transform starts 90 s after the collection's observation. */
const STARTED_AT = new Date('2026-11-27T08:01:30.000Z');
const NO_JITTER = { random: () => 0.5 };

const parser = defineParser({
  source: 'unit-items',
  record: z.object({ id: z.string().regex(/^I-\d+$/), qty: z.number().int() }).strict(),
  parse: (body) =>
    body
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [id = '', qty = ''] = line.split(',');
        return { entityId: id, data: { id, qty: Number(qty) } };
      }),
});

/** A clock that reads STARTED_AT first and moves 250 ms on every reading. */
function steppingClock(): () => Date {
  let readings = 0;
  return () => new Date(STARTED_AT.getTime() + 250 * readings++);
}

let rawStore: InMemoryRawStore;
let ledger: RecordingLedger;
let freshness: InMemoryFreshness;

beforeEach(() => {
  rawStore = new InMemoryRawStore();
  ledger = new RecordingLedger();
  freshness = new InMemoryFreshness();
});

function deps(overrides: Partial<TransformJobDeps> = {}): TransformJobDeps {
  return {
    rawStore,
    recordStore: new InMemoryRecordStore(),
    ledger,
    freshness,
    findParser: (source) => (source === parser.source ? parser : undefined),
    findSource,
    followUpQueue: new MemoryFollowUpQueue(),
    clock: steppingClock(),
    ...NO_JITTER,
    ...overrides,
  };
}

function message(body: string, receiveCount = 1): ManifestMessage {
  return { messageId: 'msg-0001', body, receiveCount };
}

function s3Event(key: string, bucket = BUCKET): string {
  return JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeS3Key(key) } },
      },
    ],
  });
}

async function collect(body: string): Promise<string> {
  return storeCollection(rawStore, {
    source: 'unit-items',
    body,
    contentType: 'text/plain',
    observedAt: OBSERVED_AT,
    fetchId: '20261127T080000000Z-0001',
    jobKey: 'id-job-1',
  });
}

function created(key: string) {
  return { bucket: BUCKET, key, versionId: undefined, trigger: 'created' as const };
}

/** A record store that fails every write with `error`. */
function failingRecords(error: Error): RecordStore {
  return {
    upsert: async () => {
      throw error;
    },
    get: async () => undefined,
  };
}

describe('readManifestMessage', () => {
  it('names the manifests of the raw bucket the notification announces', async () => {
    const contents = readManifestMessage(message(s3Event('raw/a b/manifest.json')), BUCKET);

    expect(contents).toEqual({ status: 'manifests', manifests: [created('raw/a b/manifest.json')] });
  });

  it('ignores objects of another bucket, and the s3:TestEvent', () => {
    expect(readManifestMessage(message(s3Event('raw/x/manifest.json', 'other-bucket')), BUCKET)).toEqual({
      status: 'ignored',
      branch: 'other-bucket',
    });
    expect(
      readManifestMessage(message(JSON.stringify({ Event: 's3:TestEvent', Bucket: BUCKET })), BUCKET),
    ).toEqual({ status: 'ignored', branch: 'no-created-objects' });
  });

  it('sends a body that is not JSON to the DLQ at once, filed under the message', () => {
    const contents = readManifestMessage(message('<Event>not json</Event>'), BUCKET);

    expect(contents).toMatchObject({
      status: 'unreadable',
      identity: { jobKey: 'msg-msg-0001', traceId: traceIdForMessage('msg-0001'), source: undefined },
      next: { kind: 'dead-letter', reason: 'message-not-json' },
    });
  });

  it('sends JSON that is not an S3 notification to the DLQ at once', () => {
    const contents = readManifestMessage(message(JSON.stringify({ Records: [{ eventName: 42 }] })), BUCKET);

    expect(contents).toMatchObject({
      status: 'unreadable',
      next: { kind: 'dead-letter', reason: 'message-invalid' },
    });
  });
});

describe('nextTransformStep', () => {
  it('retries a transient failure after each delay of the transform budget, then dead-letters it', () => {
    const throttled = new TransientError('throttled', { reason: 'aws-throttled' });
    const attempts = TRANSFORM_RETRY_BUDGET.delaysSeconds.length + 1;

    const steps = Array.from({ length: attempts }, (_, i) => nextTransformStep(throttled, i + 1, NO_JITTER));

    expect(steps).toEqual([
      ...TRANSFORM_RETRY_BUDGET.delaysSeconds.map((delaySeconds, i) => ({
        kind: 'retry',
        delaySeconds,
        retryNumber: i + 1,
      })),
      {
        kind: 'dead-letter',
        reason: 'retries-exhausted',
        message: 'gave up after 3 retries; last error (aws-throttled): throttled',
      },
    ]);
  });

  it('scales the delay by the time scale', () => {
    const throttled = new TransientError('throttled', { reason: 'aws-throttled' });

    expect(nextTransformStep(throttled, 2, { ...NO_JITTER, timeScale: 1 / 60 })).toMatchObject({
      kind: 'retry',
      delaySeconds: 1,
    });
  });

  it('dead-letters a permanent failure at once with its own reason', () => {
    expect(nextTransformStep(new PermanentError('bad manifest', { reason: 'manifest-invalid' }), 1)).toEqual({
      kind: 'dead-letter',
      reason: 'manifest-invalid',
      message: 'bad manifest',
    });
  });

  it('hands a failure that needs a person to one, whatever the attempt', () => {
    const ambiguous = new HandoffRequiredError('which one?', { reason: 'ambiguous' });

    expect(nextTransformStep(ambiguous, 1)).toEqual({ kind: 'hand-off' });
    expect(nextTransformStep(ambiguous, 9)).toEqual({ kind: 'hand-off' });
  });

  it('never waits longer than the budget allows, whatever Retry-After an error carries', () => {
    const step = nextTransformStep(classifyHttpStatus(503, 86_400), 1, NO_JITTER);

    expect(step).toMatchObject({
      kind: 'retry',
      delaySeconds: Math.max(...TRANSFORM_RETRY_BUDGET.delaysSeconds),
    });
  });
});

describe('transformJob', () => {
  it('writes the records, advances freshness and records the attempt, timed by the injected clock', async () => {
    const key = await collect('I-1,5\nI-2,7');
    const records = new InMemoryRecordStore();

    const outcome = await transformJob(message(s3Event(key)), created(key), deps({ recordStore: records }));

    expect(outcome).toMatchObject({
      status: 'transformed',
      identity: { jobKey: 'id-job-1', source: 'unit-items' },
      counts: { created: 2, updated: 0, unchanged: 0, stale: 0 },
      freshness: 'advanced',
      // Clock readings: start, the freshness mark, the finish.
      durationMs: 500,
      endToEndMs: STARTED_AT.getTime() + 500 - OBSERVED_AT.getTime(),
    });
    expect([...records.items.keys()].sort()).toEqual(['unit-items#I-1', 'unit-items#I-2']);
    expect(freshness.marks.get('unit-items')).toMatchObject({
      newestObservedAt: OBSERVED_AT,
      updatedAt: new Date(STARTED_AT.getTime() + 250),
    });
    expect(ledger.entries).toEqual([
      expect.objectContaining({
        jobKey: 'id-job-1',
        stage: 'transform',
        attempt: 1,
        outcome: 'transformed',
        manifestKey: key,
        startedAt: STARTED_AT,
        finishedAt: new Date(STARTED_AT.getTime() + 500),
        counts: { created: 2, updated: 0, unchanged: 0, stale: 0 },
      }),
    ]);
  });

  it('reports no end-to-end latency for a replayed manifest, which is old by design', async () => {
    const key = await collect('I-1,5');
    const replayed = readManifestMessage(message(replayNotification(BUCKET, key, STARTED_AT)), BUCKET);
    if (replayed.status !== 'manifests') throw new Error(`expected manifests, got ${replayed.status}`);
    const [object] = replayed.manifests;
    if (object === undefined) throw new Error('no manifest');

    const outcome = await transformJob(message(''), object, deps());

    expect(outcome.status).toBe('transformed');
    expect(outcome).not.toHaveProperty('endToEndMs');
  });

  it('retries a transient failure: the ledger says when the next attempt comes', async () => {
    const key = await collect('I-1,5');
    const throttled = new TransientError('throughput exceeded', { reason: 'aws-throttled' });

    const outcome = await transformJob(
      message(s3Event(key), 2),
      created(key),
      deps({ recordStore: failingRecords(throttled) }),
    );

    expect(outcome).toMatchObject({
      status: 'failed',
      identity: { jobKey: 'id-job-1', source: 'unit-items' },
      next: { kind: 'retry', delaySeconds: 60, retryNumber: 2 },
      evidenceKeys: [key],
      durationMs: 250,
    });
    expect(ledger.entries).toEqual([
      expect.objectContaining({
        attempt: 2,
        outcome: 'retrying',
        errorClass: 'transient',
        reason: 'aws-throttled',
        retryInSeconds: 60,
        startedAt: STARTED_AT,
        finishedAt: new Date(STARTED_AT.getTime() + 250),
      }),
    ]);
  });

  it('dead-letters a transient failure on the last attempt of the budget, with retries-exhausted', async () => {
    const key = await collect('I-1,5');
    const throttled = new TransientError('throughput exceeded', { reason: 'aws-throttled' });

    const outcome = await transformJob(
      message(s3Event(key), TRANSFORM_RETRY_BUDGET.delaysSeconds.length + 1),
      created(key),
      deps({ recordStore: failingRecords(throttled) }),
    );

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'retries-exhausted' },
    });
    expect(ledger.entries.map((e) => [e.outcome, e.reason, e.message])).toEqual([
      [
        'dead-lettered',
        'retries-exhausted',
        'gave up after 3 retries; last error (aws-throttled): throughput exceeded',
      ],
    ]);
  });

  it('hands invalid output to a person with the raw key and the manifest, and writes nothing', async () => {
    const key = await collect('I-1,5\nnot-an-id,7');
    const records = new InMemoryRecordStore();

    const outcome = await transformJob(message(s3Event(key)), created(key), deps({ recordStore: records }));

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'hand-off' },
      evidenceKeys: [key.replace(/manifest\.json$/, 'response.bin'), key],
    });
    expect(records.upserts).toEqual([]);
    expect(freshness.marks.size).toBe(0);
    expect(ledger.entries.map((e) => [e.outcome, e.errorClass, e.reason])).toEqual([
      ['handed-off', 'needs-human', 'records-invalid'],
    ]);
  });

  it('dead-letters at once a manifest that is not a RawManifest, filed under the job its key names', async () => {
    const key = 'raw/source=unit-items/dt=2026-11-27/id-job-9/20261127T080000000Z-0009/manifest.json';
    await rawStore.put(key, Buffer.from('{"not": "a manifest"}'), {
      contentType: 'application/json',
      metadata: {},
    });

    const outcome = await transformJob(message(s3Event(key)), created(key), deps());

    expect(outcome).toMatchObject({
      status: 'failed',
      identity: { jobKey: 'id-job-9', source: 'unit-items', traceId: traceIdForMessage('msg-0001') },
      next: { kind: 'dead-letter', reason: 'manifest-invalid' },
    });
    expect(ledger.entries.map((e) => [e.jobKey, e.outcome, e.reason])).toEqual([
      ['id-job-9', 'dead-lettered', 'manifest-invalid'],
    ]);
  });

  it('throws when the ledger cannot record a failure, so SQS delivers the message again', async () => {
    const key = await collect('I-1,5\nnot-an-id,7');
    const unavailable = new TransientError('ledger unavailable', { reason: 'aws-unavailable' });

    await expect(
      transformJob(
        message(s3Event(key)),
        created(key),
        deps({
          ledger: {
            recordAttempt: async () => {
              throw unavailable;
            },
            history: async () => [],
          },
        }),
      ),
    ).rejects.toBe(unavailable);
  });
});
