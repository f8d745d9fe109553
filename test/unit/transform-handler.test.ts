/**
 * The transform's SQS adapter: S3 event parsing, the retry budget for throttled S3 and DynamoDB
 * calls (injected through mocked SDK clients behind the real adapters), dead-lettering and
 * hand-offs. Everything else is an in-memory fake of Sluice's own ports.
 */

import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { S3RawStore } from '../../functions/adapters/raw-store.js';
import { DynamoRecordStore } from '../../functions/adapters/record-store.js';
import type { RawStore, RecordStore } from '../../functions/core/ports.js';
import { encodeS3Key, replayNotification } from '../../functions/core/s3-notification.js';
import { TRANSFORM_RETRY_BUDGET } from '../../functions/core/transform-budget.js';
import {
  createTransformHandler,
  TRANSFORM_STOP_MARGIN_MS,
} from '../../functions/transform/manifest-batch-handler.js';
import { defineParser } from '../../sources/define.js';
import { findSource } from '../../sources/registry.js';
import { MemoryFollowUpQueue } from '../support/follow-up-fakes.js';
import {
  InMemoryFreshness,
  InMemoryRawStore,
  InMemoryRecordStore,
  RecordingDesk,
  RecordingLedger,
  RecordingQueues,
  storeCollection,
} from '../support/transform-fakes.js';

const BUCKET = 'raw-bucket';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:transform';

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

let rawStore: InMemoryRawStore;
let ledger: RecordingLedger;
let queues: RecordingQueues;
let desk: RecordingDesk;
let stdout: string[];

beforeEach(() => {
  rawStore = new InMemoryRawStore();
  ledger = new RecordingLedger();
  queues = new RecordingQueues();
  desk = new RecordingDesk();
  stdout = [];
  // Logs and EMF metrics go to stdout; keep them, and keep them out of the test output.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function handlerWith(overrides: { rawStore?: RawStore; recordStore?: RecordStore } = {}) {
  return createTransformHandler({
    rawStore: overrides.rawStore ?? rawStore,
    recordStore: overrides.recordStore ?? new InMemoryRecordStore(),
    ledger,
    queues,
    desk,
    freshness: new InMemoryFreshness(),
    findParser: (source) => (source === parser.source ? parser : undefined),
    findSource,
    followUpQueue: new MemoryFollowUpQueue(),
    rawBucketName: BUCKET,
    random: () => 0.5,
  });
}

function s3Event(key: string, bucket = BUCKET): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeS3Key(key), size: 100 } },
      },
    ],
  });
}

let messages = 0;
function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  messages += 1;
  return {
    messageId: `message-${messages}`,
    receiptHandle: `receipt-${messages}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

/** A Lambda context with `remainingMs` of the invocation left (a minute unless a test says). */
function contextWith(remainingMs = 60_000): Context {
  return {
    functionName: 'transform',
    awsRequestId: 'request-1',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

async function invoke(handler: ReturnType<typeof createTransformHandler>, ...records: SQSRecord[]) {
  return (await handler({ Records: records }, contextWith())) as SQSBatchResponse;
}

async function collect(body: string, jobKey = 'id-job-1'): Promise<string> {
  return storeCollection(rawStore, {
    source: 'unit-items',
    body,
    contentType: 'text/plain',
    observedAt: new Date('2026-11-27T08:00:00.000Z'),
    fetchId: '20261127T080000000Z-0001',
    jobKey,
  });
}

/** EMF documents printed to stdout that carry `metric`. */
function emitted(metric: string): { [key: string]: unknown }[] {
  return stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => z.record(z.string(), z.unknown()).parse(JSON.parse(line)))
    .filter((document) => metric in document);
}

describe('the transform handler', () => {
  it('decodes keys the way S3 encodes them in events (+ for spaces, %xx escapes)', async () => {
    const key = await collect('I-1,5', 'id-job with space+plus');
    const records = new InMemoryRecordStore();
    const body = s3Event(key);
    expect(body).toContain('source%3Dunit-items');
    expect(body).toContain('job+with+space%2Bplus');

    const response = await invoke(handlerWith({ recordStore: records }), sqsRecord(body));

    expect(response.batchItemFailures).toEqual([]);
    expect((await records.get('unit-items#I-1'))?.rawKey).toBe(
      key.replace(/manifest\.json$/, 'response.bin'),
    );
  });

  it('ignores the s3:TestEvent S3 sends when a notification is configured', async () => {
    const response = await invoke(
      handlerWith(),
      sqsRecord(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BUCKET })),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(ledger.entries).toEqual([]);
    expect(queues.deadLetters).toEqual([]);
  });

  it('transforms a replayed manifest like a new one', async () => {
    const key = await collect('I-1,5');
    const records = new InMemoryRecordStore();

    await invoke(
      handlerWith({ recordStore: records }),
      sqsRecord(replayNotification(BUCKET, key, new Date())),
    );

    expect(ledger.entries.map((e) => e.outcome)).toEqual(['transformed']);
    expect(stdout.join('')).toContain('"trigger":"replay"');
  });

  it('writes one version when the same event is delivered twice', async () => {
    const key = await collect('I-1,5');
    const records = new InMemoryRecordStore();
    const handler = handlerWith({ recordStore: records });

    await invoke(handler, sqsRecord(s3Event(key)));
    await invoke(handler, sqsRecord(s3Event(key)));

    expect((await records.get('unit-items#I-1'))?.version).toBe(1);
    expect(ledger.entries.map((e) => e.counts)).toEqual([
      { created: 1, updated: 0, unchanged: 0, stale: 0 },
      { created: 0, updated: 0, unchanged: 1, stale: 0 },
    ]);
  });

  it('dead-letters at once a message whose key is not encoded as S3 encodes keys', async () => {
    const response = await invoke(handlerWith(), sqsRecord(s3Event('x').replace('"x"', '"raw/%E0%A4%A"')));

    expect(response.batchItemFailures).toEqual([]);
    expect(queues.deadLetters.map((d) => d.note.reason)).toEqual(['message-invalid']);
    expect(queues.deadLetters[0]?.note.message).toContain('raw/%E0%A4%A');
  });

  it('hands invalid output to a person with the raw key and the issues, writes nothing, and counts it', async () => {
    const key = await collect('I-1,5\nnot-an-id,7');
    const records = new InMemoryRecordStore();

    const response = await invoke(handlerWith({ recordStore: records }), sqsRecord(s3Event(key)));

    expect(response.batchItemFailures).toEqual([]);
    expect(records.upserts).toEqual([]);
    expect(ledger.entries.map((e) => [e.outcome, e.reason])).toEqual([['handed-off', 'records-invalid']]);
    const [task] = desk.tasks;
    expect(task?.evidenceKeys).toEqual([key.replace(/manifest\.json$/, 'response.bin'), key]);
    expect(task?.message).toContain('#1 (not-an-id): id: Invalid string');
    // Counted fleet-wide; the source's success rate counts the job as failed.
    expect(emitted('RecordsInvalid')).toEqual([
      expect.objectContaining({
        RecordsInvalid: 1,
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['service']] })],
        }),
      }),
    ]);
    expect(emitted('JobSuccess')).toEqual([expect.objectContaining({ JobSuccess: 0, source: 'unit-items' })]);
  });
});

describe('the transform retry budget', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const s3 = mockClient(S3Client);

  beforeEach(() => {
    dynamo.reset();
    s3.reset();
  });

  it('retries throttled DynamoDB writes after each delay of the budget, then dead-letters with the reason', async () => {
    dynamo.on(UpdateCommand).rejects(
      new ProvisionedThroughputExceededException({
        message: 'The level of configured provisioned throughput for the table was exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const key = await collect('I-1,5');
    const recordStore = new DynamoRecordStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
      'records',
    );
    const handler = handlerWith({ recordStore });
    const attempts = TRANSFORM_RETRY_BUDGET.delaysSeconds.length + 1;

    const failures: string[][] = [];
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const record = sqsRecord(s3Event(key), attempt);
      const response = await invoke(handler, record);
      failures.push(
        response.batchItemFailures.map((f) => (f.itemIdentifier === record.messageId ? 'retry' : '?')),
      );
    }

    expect(failures).toEqual([['retry'], ['retry'], ['retry'], []]);
    expect(queues.delays.map((d) => d.seconds)).toEqual([...TRANSFORM_RETRY_BUDGET.delaysSeconds]);
    expect(queues.deadLetters).toHaveLength(1);
    expect(queues.deadLetters[0]?.note).toMatchObject({
      reason: 'retries-exhausted',
      errorClass: 'transient',
      attempts: 4,
    });
    expect(queues.deadLetters[0]?.note.message).toContain('ProvisionedThroughputExceededException');
    expect(ledger.entries.map((e) => e.outcome)).toEqual([
      'retrying',
      'retrying',
      'retrying',
      'dead-lettered',
    ]);
  });

  it('retries a manifest whose writes would outlast the invocation, with the reason, and writes none of it then', async () => {
    const key = await collect('I-1,5\nI-2,7');
    const recordStore = new InMemoryRecordStore();
    const handler = handlerWith({ recordStore });
    const record = sqsRecord(s3Event(key));

    const nearTheEnd = contextWith(TRANSFORM_STOP_MARGIN_MS - 1);
    const response = (await handler({ Records: [record] }, nearTheEnd)) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(queues.delays).toHaveLength(1);
    expect(ledger.entries.map((e) => [e.outcome, e.reason])).toEqual([['retrying', 'transform-deadline']]);
    expect(recordStore.items.size).toBe(0);

    // With time enough, the next delivery writes every record.
    const again = sqsRecord(s3Event(key), 2);
    expect(
      (await handler({ Records: [again] }, contextWith(TRANSFORM_STOP_MARGIN_MS + 1))).batchItemFailures,
    ).toEqual([]);
    expect(recordStore.items.size).toBe(2);
  });

  it('retries when S3 answers SlowDown while reading the raw object', async () => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      }),
    );
    const handler = handlerWith({ rawStore: new S3RawStore(new S3Client({ region: 'us-east-1' }), BUCKET) });
    const record = sqsRecord(s3Event('raw/source=unit-items/dt=2026-11-27/id-job-1/f/manifest.json'));

    const response = await invoke(handler, record);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(queues.delays).toEqual([{ receiptHandle: record.receiptHandle, seconds: 15 }]);
    expect(ledger.entries[0]).toMatchObject({
      outcome: 'retrying',
      errorClass: 'transient',
      reason: 'aws-error',
    });
  });
});
