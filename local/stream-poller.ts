/**
 * Behaves like Lambda's event source mapping for a DynamoDB stream (the records table's, read by
 * the change feed): reads the stream in order, hands batches of up to `batchSize` records to the
 * function as a DynamoDBStreamEvent, and moves on only past what the function has handled.
 *
 *   - a partial batch response (`batchItemFailures`) retries from the first record it names;
 *   - a function error retries the batch, split in half when the mapping bisects on error;
 *   - a record retried past `maxRetryAttempts`, or older than `maxRecordAgeSeconds`, goes to the
 *     mapping's on-failure queue as the same JSON Lambda sends (DDBStreamBatchInfo), and is skipped.
 *
 * One shard, one batch at a time, as Lambda does per shard with a parallelization factor of 1:
 * nothing of a record is handed over before everything before it has been.
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { z } from 'zod';
import type { InvocationResult, LocalFunction } from './lambda-runtime.js';
import type { LocalStreamMapping } from './provision.js';

const BatchResponse = z.object({
  batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })).nullish(),
});

/** How long an empty stream is left alone before it is read again. */
const IDLE_POLL_MS = 250;

export interface StreamPollerOptions {
  readonly region: string;
  readonly accountId: string;
}

type LambdaImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * A stream record as Lambda hands it over. The SDK gives times as Dates, Lambda as epoch seconds;
 * images are the same attribute-value JSON under two type libraries' names.
 */
export function toLambdaStreamRecord(
  record: StreamRecord,
  streamArn: string,
  region: string,
): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const image = (value: unknown) => value as LambdaImage;
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(change.ApproximateCreationDateTime === undefined
        ? {}
        : {
            ApproximateCreationDateTime: Math.floor(
              new Date(change.ApproximateCreationDateTime).getTime() / 1000,
            ),
          }),
      Keys: image(change.Keys ?? {}),
      ...(change.NewImage === undefined ? {} : { NewImage: image(change.NewImage) }),
      ...(change.OldImage === undefined ? {} : { OldImage: image(change.OldImage) }),
      SequenceNumber: change.SequenceNumber ?? '',
      SizeBytes: change.SizeBytes ?? 0,
      StreamViewType: change.StreamViewType,
    },
  };
}

/** How the function answered for a batch: how many records it finished, and whether it failed at all. */
export function handledPrefix(
  records: readonly DynamoDBRecord[],
  result: InvocationResult,
  reportBatchItemFailures: boolean,
): { readonly handled: number; readonly functionError: boolean } {
  if (!result.ok) return { handled: 0, functionError: true };
  if (!reportBatchItemFailures || result.value === null || result.value === undefined) {
    return { handled: records.length, functionError: false };
  }
  const parsed = BatchResponse.safeParse(result.value);
  if (!parsed.success) return { handled: 0, functionError: true };
  const failures = parsed.data.batchItemFailures ?? [];
  if (failures.length === 0) return { handled: records.length, functionError: false };
  // Lambda resumes from the lowest sequence number named; one it does not know fails the batch.
  const indexes = failures.map((f) =>
    records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier),
  );
  if (indexes.some((i) => i === -1)) return { handled: 0, functionError: true };
  return { handled: Math.min(...indexes), functionError: false };
}

export class DynamoStreamPoller {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Read from the stream, not yet handled, in stream order. */
  private buffer: DynamoDBRecord[] = [];
  private iterator: string | undefined;
  private invoking = false;
  /** Attempts at the record at the head of the buffer, and the batch size to try it with. */
  private attemptsAtHead = 0;
  private batchSize: number;
  private caughtUp = false;
  /** Records handed to the function and handled, and records sent to the on-failure queue. */
  readonly stats = { handled: 0, invocations: 0, failedBatches: 0, sentOnFailure: 0 };

  constructor(
    readonly mapping: LocalStreamMapping,
    private readonly target: LocalFunction,
    private readonly streams: DynamoDBStreamsClient,
    private readonly sqs: SQSClient,
    private readonly options: StreamPollerOptions,
  ) {
    this.batchSize = mapping.batchSize;
  }

  /** Work the poller still has: records read and not handled, one in flight, or a stream not yet read to its end. */
  get pending(): number {
    return this.buffer.length + (this.invoking ? 1 : 0) + (this.caughtUp ? 0 : 1);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async openIterator(): Promise<string> {
    const { StreamDescription } = await this.streams.send(
      new DescribeStreamCommand({ StreamArn: this.mapping.streamArn }),
    );
    const shard = StreamDescription?.Shards?.[0]?.ShardId;
    if (shard === undefined) throw new Error(`stream ${this.mapping.streamArn} has no shard`);
    const { ShardIterator } = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.mapping.streamArn,
        ShardId: shard,
        ShardIteratorType: this.mapping.startingPosition,
      }),
    );
    if (ShardIterator === undefined) throw new Error(`no shard iterator for ${this.mapping.streamArn}`);
    return ShardIterator;
  }

  /** Reads what the stream has past the buffer; true when it found anything. */
  private async read(): Promise<boolean> {
    this.iterator ??= await this.openIterator();
    const response = await this.streams.send(
      new GetRecordsCommand({ ShardIterator: this.iterator, Limit: 1000 }),
    );
    this.iterator = response.NextShardIterator ?? this.iterator;
    const records = (response.Records ?? []).map((r) =>
      toLambdaStreamRecord(r, this.mapping.streamArn, this.options.region),
    );
    this.buffer.push(...records);
    return records.length > 0;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.buffer.length === 0) {
          const found = await this.read();
          this.caughtUp = !found && this.buffer.length === 0;
        }
        if (this.buffer.length === 0) {
          await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
          continue;
        }
        await this.deliverHead();
      } catch (error) {
        if (!this.running) break;
        process.emitWarning(`stream poller ${this.mapping.logicalId}: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Hands the head of the buffer to the function, and moves past whatever it handled. */
  private async deliverHead(): Promise<void> {
    const batch = this.buffer.slice(0, this.batchSize);
    const head = batch[0];
    if (head === undefined) return;
    const ageSeconds = Date.now() / 1000 - (head.dynamodb?.ApproximateCreationDateTime ?? Date.now() / 1000);
    if (
      this.attemptsAtHead > this.mapping.maxRetryAttempts ||
      ageSeconds > this.mapping.maxRecordAgeSeconds
    ) {
      await this.sendOnFailure(
        batch,
        this.attemptsAtHead > this.mapping.maxRetryAttempts ? 'RetryAttemptsExhausted' : 'RecordAgeExceeded',
      );
      this.advance(batch.length);
      return;
    }
    const event: DynamoDBStreamEvent = { Records: batch };
    this.invoking = true;
    let result: InvocationResult;
    try {
      result = await this.target.invoke(event);
    } finally {
      this.invoking = false;
    }
    this.stats.invocations += 1;
    const { handled, functionError } = handledPrefix(batch, result, this.mapping.reportBatchItemFailures);
    if (handled > 0) this.advance(handled);
    if (handled === batch.length) return;
    this.stats.failedBatches += 1;
    if (handled === 0) {
      this.attemptsAtHead += 1;
      if (functionError && this.mapping.bisectOnError && this.batchSize > 1) {
        this.batchSize = Math.ceil(this.batchSize / 2);
      }
    }
    // Lambda backs off between retries of a shard; a little here keeps a failing batch from spinning.
    await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * this.attemptsAtHead)));
  }

  private advance(count: number): void {
    this.buffer.splice(0, count);
    this.stats.handled += count;
    this.attemptsAtHead = 0;
    this.batchSize = this.mapping.batchSize;
  }

  /** What Lambda sends to a stream mapping's on-failure destination: where the batch was, not its records. */
  private async sendOnFailure(batch: readonly DynamoDBRecord[], condition: string): Promise<void> {
    const first = batch[0]?.dynamodb;
    const last = batch.at(-1)?.dynamodb;
    this.stats.sentOnFailure += batch.length;
    if (this.mapping.onFailureQueueUrl === undefined) return;
    const arrival = (seconds: number | undefined) => new Date((seconds ?? 0) * 1000).toISOString();
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.mapping.onFailureQueueUrl,
        MessageBody: JSON.stringify({
          requestContext: {
            requestId: `local-${Date.now()}`,
            functionArn: `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${this.mapping.functionLogicalId}`,
            condition,
            approximateInvokeCount: this.attemptsAtHead,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: new Date().toISOString(),
          DDBStreamBatchInfo: {
            shardId: 'local',
            startSequenceNumber: first?.SequenceNumber,
            endSequenceNumber: last?.SequenceNumber,
            approximateArrivalOfFirstRecord: arrival(first?.ApproximateCreationDateTime),
            approximateArrivalOfLastRecord: arrival(last?.ApproximateCreationDateTime),
            batchSize: batch.length,
            streamArn: this.mapping.streamArn,
          },
        }),
      }),
    );
  }

  /** Stops reading and waits for the batch in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
