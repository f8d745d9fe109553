import type { Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { InvocationResult } from '../../../local/lambda-runtime.js';
import { succeededMessages, toLambdaRecord } from '../../../local/sqs-poller.js';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:demo-catalog-jobs';
const REGION = 'us-east-1';

function sqsMessage(id: string): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: `{"n":"${id}"}`,
    MD5OfBody: 'md5',
    Attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1795766400000' },
  };
}

const batch: SQSRecord[] = ['m1', 'm2', 'm3'].map((id) => toLambdaRecord(sqsMessage(id), QUEUE_ARN, REGION));

function returned(value: unknown): InvocationResult {
  return { ok: true, value, durationMs: 5, coldStart: false };
}

const crashed: InvocationResult = {
  ok: false,
  error: { name: 'Error', message: 'handler threw' },
  durationMs: 5,
  coldStart: false,
};

function ids(records: readonly SQSRecord[]): string[] {
  return records.map((r) => r.messageId);
}

describe('succeededMessages', () => {
  it('treats no message as succeeded when the invocation failed', () => {
    expect(succeededMessages(batch, crashed, true)).toEqual([]);
  });

  it('treats no message as succeeded when the invocation failed, without partial responses too', () => {
    expect(succeededMessages(batch, crashed, false)).toEqual([]);
  });

  it('treats every message as succeeded when partial responses are off, whatever the handler returned', () => {
    const result = returned({ batchItemFailures: [{ itemIdentifier: 'm1' }] });

    expect(ids(succeededMessages(batch, result, false))).toEqual(['m1', 'm2', 'm3']);
  });

  it('deletes all but the messages the handler reported as failed', () => {
    const result = returned({ batchItemFailures: [{ itemIdentifier: 'm2' }] });

    expect(ids(succeededMessages(batch, result, true))).toEqual(['m1', 'm3']);
  });

  it('treats every message as succeeded when the handler reports no failures', () => {
    expect(ids(succeededMessages(batch, returned({ batchItemFailures: [] }), true))).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
  });

  it.each([null, undefined])('treats every message as succeeded when the handler returns %s', (value) => {
    expect(ids(succeededMessages(batch, returned(value), true))).toEqual(['m1', 'm2', 'm3']);
  });

  // Lambda: "an empty EventResponse" and "a null batchItemFailures list" are complete successes.
  it('treats every message as succeeded when the handler returns an empty object, as Lambda does', () => {
    expect(ids(succeededMessages(batch, returned({}), true))).toEqual(['m1', 'm2', 'm3']);
  });

  it('treats every message as succeeded when batchItemFailures is null, as Lambda does', () => {
    expect(ids(succeededMessages(batch, returned({ batchItemFailures: null }), true))).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
  });

  it.each([
    ['a list of bare IDs', { batchItemFailures: ['m2'] }],
    ['a failure with a misspelt key', { batchItemFailures: [{ itemidentifier: 'm2' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a plain string', 'm2'],
  ])('treats the whole batch as failed when the response is malformed: %s', (_, value) => {
    expect(succeededMessages(batch, returned(value), true)).toEqual([]);
  });

  it('treats the whole batch as failed when a reported failure is not in the batch', () => {
    const result = returned({
      batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'not-in-batch' }],
    });

    expect(succeededMessages(batch, result, true)).toEqual([]);
  });

  it('treats the whole batch as failed when a reported failure has an empty itemIdentifier', () => {
    expect(succeededMessages(batch, returned({ batchItemFailures: [{ itemIdentifier: '' }] }), true)).toEqual(
      [],
    );
  });
});

describe('toLambdaRecord', () => {
  it('carries the message ID, receipt handle, body and checksum', () => {
    const record = toLambdaRecord(sqsMessage('m1'), QUEUE_ARN, REGION);

    expect(record).toMatchObject({
      messageId: 'm1',
      receiptHandle: 'rh-m1',
      body: '{"n":"m1"}',
      md5OfBody: 'md5',
    });
  });

  it('names the queue and region the way Lambda does', () => {
    const record = toLambdaRecord(sqsMessage('m1'), QUEUE_ARN, REGION);

    expect(record).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: QUEUE_ARN, awsRegion: REGION });
  });

  it('carries the receive count and sent time from the message attributes', () => {
    const message = {
      ...sqsMessage('m1'),
      Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1795766400000' },
    };

    expect(toLambdaRecord(message, QUEUE_ARN, REGION).attributes).toMatchObject({
      ApproximateReceiveCount: '3',
      SentTimestamp: '1795766400000',
    });
  });

  it('fills the attributes a local queue may leave out', () => {
    const { attributes } = toLambdaRecord({ MessageId: 'm1', Body: 'x' }, QUEUE_ARN, REGION);

    expect(attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: 'local' });
    expect(attributes.SentTimestamp).toMatch(/^\d+$/);
    expect(attributes.ApproximateFirstReceiveTimestamp).toMatch(/^\d+$/);
  });

  it('converts string message attributes to the Lambda shape', () => {
    const message = {
      ...sqsMessage('m1'),
      MessageAttributes: { traceId: { DataType: 'String', StringValue: 'trace-1234' } },
    };

    expect(toLambdaRecord(message, QUEUE_ARN, REGION).messageAttributes).toEqual({
      traceId: { dataType: 'String', stringValue: 'trace-1234', stringListValues: [], binaryListValues: [] },
    });
  });

  it('base64-encodes binary message attributes', () => {
    const message = {
      ...sqsMessage('m1'),
      MessageAttributes: { blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2, 255]) } },
    };

    expect(toLambdaRecord(message, QUEUE_ARN, REGION).messageAttributes.blob).toMatchObject({
      dataType: 'Binary',
      binaryValue: 'AQL/',
    });
  });
});
