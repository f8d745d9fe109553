/**
 * Behaves like Lambda's SQS event source mapping: receives up to `batchSize` messages (waiting
 * up to the batching window), invokes the function with an SQS event, deletes what succeeded
 * (honouring partial batch responses), leaves failures to reappear after the visibility timeout,
 * and never runs more than `maxConcurrency` invocations at once.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { draw } from './chaos/draw.js';
import type { InvocationResult, LocalFunction } from './lambda-runtime.js';
import type { LocalEventSourceMapping, LocalQueue } from './provision.js';

/**
 * Lambda's rules: an empty or null response, or a null/empty `batchItemFailures`, is a complete
 * success; an invalid response or an empty, null or unknown `itemIdentifier` is a complete failure.
 */
const BatchResponse = z.object({
  batchItemFailures: z.array(z.object({ itemIdentifier: z.string().min(1) })).nullish(),
});

export interface BatchReport {
  readonly mapping: string;
  readonly size: number;
  readonly failed: number;
  readonly result: InvocationResult;
}

/**
 * SQS delivers at least once: now and then a message is handed out again while it is being
 * worked on, or after it was deleted. The chaos run turns that on at a set rate.
 */
export interface DuplicateDeliveries {
  /** Share of received messages delivered a second time. */
  readonly rate: number;
  readonly seed: string;
  /**
   * Called for each duplicate delivery: `concurrent` hands the messages to a second invocation
   * at the same time, `after` hands them over again once the first invocation has finished.
   */
  readonly onDuplicate?: (mapping: string, records: readonly SQSRecord[], mode: DuplicateMode) => void;
}
export type DuplicateMode = 'concurrent' | 'after';

export interface SqsPollerOptions {
  readonly region: string;
  readonly onBatch?: (report: BatchReport) => void;
  /** Sees every batch as it is received, before the function does. @default - none */
  readonly onReceive?: (mapping: string, records: readonly SQSRecord[]) => void;
  /** @default - every message is delivered once per receive */
  readonly duplicateDeliveries?: DuplicateDeliveries;
}

export function toLambdaRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
          ...(value.BinaryValue === undefined
            ? {}
            : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Which messages of a batch succeeded, following Lambda's rules for partial batch responses. */
export function succeededMessages(
  records: readonly SQSRecord[],
  result: InvocationResult,
  reportBatchItemFailures: boolean,
): SQSRecord[] {
  if (!result.ok) return [];
  if (!reportBatchItemFailures) return [...records];
  if (result.value === null || result.value === undefined) return [...records];
  const parsed = BatchResponse.safeParse(result.value);
  // Lambda treats a malformed response, or one naming a message not in the batch, as a full failure.
  if (!parsed.success) return [];
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set((parsed.data.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  if ([...failed].some((id) => !ids.has(id))) return [];
  return records.filter((r) => !failed.has(r.messageId));
}

/** A message a poller received and has not seen deleted: it is still in the queue. */
interface OutstandingMessage {
  /** SentTimestamp, ms. */
  readonly sentAt: number;
  readonly receiveCount: number;
}

export class SqsEventSourcePoller {
  /**
   * What this mapping has received and not deleted, by message ID: the messages it knows are
   * still in the queue (in flight, or back after a failure or a retry's backoff), for the oldest
   * message's age (local/queue-metrics.ts). Messages no poller has received yet are not in it.
   */
  private readonly outstanding = new Map<string, OutstandingMessage>();
  private running = false;
  private inFlight = 0;
  private loop: Promise<void> | undefined;
  private readonly invocations = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(
    readonly mapping: LocalEventSourceMapping,
    private readonly queue: LocalQueue,
    private readonly target: LocalFunction,
    private readonly sqs: SQSClient,
    private readonly options: SqsPollerOptions,
  ) {}

  /** Deliveries in progress (each an invocation, and its duplicate when there is one). */
  get deliveriesInFlight(): number {
    return this.inFlight;
  }

  /** The queue this mapping reads. */
  get queueName(): string {
    return this.queue.name;
  }

  /** When the oldest message this mapping received and has not seen deleted was sent (ms), if any. */
  oldestOutstandingSentAt(): number | undefined {
    let oldest: number | undefined;
    for (const { sentAt } of this.outstanding.values())
      if (oldest === undefined || sentAt < oldest) oldest = sentAt;
    return oldest;
  }

  /** Forgets every outstanding message: the queue was seen empty, so none of them is still there. */
  forgetOutstanding(): void {
    this.outstanding.clear();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async receiveBatch(): Promise<Message[]> {
    const messages: Message[] = [];
    // The batching window starts with the first message, as in Lambda.
    let deadline: number | undefined;
    while (this.running && messages.length < this.mapping.batchSize) {
      const response = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queue.url,
          MaxNumberOfMessages: Math.min(10, this.mapping.batchSize - messages.length),
          WaitTimeSeconds: deadline === undefined ? 1 : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const received = response.Messages ?? [];
      messages.push(...received);
      if (messages.length === 0) return messages;
      deadline ??= Date.now() + this.mapping.maxBatchingWindowSeconds * 1000;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (received.length === 0) await new Promise((r) => setTimeout(r, Math.min(100, remaining)));
    }
    return messages;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.inFlight >= this.mapping.maxConcurrency) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        if (!this.running) break;
        process.emitWarning(`poller ${this.mapping.logicalId}: receive failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      this.inFlight += 1;
      const invocation = this.invoke(messages)
        .catch((error: unknown) =>
          process.emitWarning(
            `poller ${this.mapping.logicalId}: delivery failed: ${(error as Error).message}`,
          ),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.invocations.delete(invocation);
          this.wake?.();
          this.wake = undefined;
        });
      this.invocations.add(invocation);
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const records = messages.map((m) => toLambdaRecord(m, this.queue.arn, this.options.region));
    for (const r of records) {
      this.outstanding.set(r.messageId, {
        sentAt: Number(r.attributes.SentTimestamp),
        receiveCount: Number(r.attributes.ApproximateReceiveCount),
      });
    }
    this.options.onReceive?.(this.mapping.logicalId, records);
    const duplicates = this.options.duplicateDeliveries;
    const again =
      duplicates === undefined
        ? []
        : records.filter(
            (r) =>
              draw(duplicates.seed, 'delivery', r.messageId, r.attributes.ApproximateReceiveCount) <
              duplicates.rate,
          );
    if (duplicates === undefined || again.length === 0) {
      await this.deliver(records);
      return;
    }
    const mode: DuplicateMode =
      draw(duplicates.seed, 'delivery-mode', again[0]?.messageId ?? '') < 0.5 ? 'concurrent' : 'after';
    duplicates.onDuplicate?.(this.mapping.logicalId, again, mode);
    if (mode === 'concurrent') {
      await Promise.all([this.deliver(records), this.deliver(again)]);
    } else {
      await this.deliver(records);
      await this.deliver(again);
    }
  }

  /** One invocation with `records`, then deleting what succeeded, as the event source mapping does. */
  private async deliver(records: SQSRecord[]): Promise<void> {
    const event: SQSEvent = { Records: records };
    const result = await this.target.invoke(event);
    const succeeded = succeededMessages(records, result, this.mapping.reportBatchItemFailures);
    for (const r of records) {
      // A failed message that used its last receive is moved to the DLQ by SQS on its next
      // receive, and no poller sees it again.
      const spent =
        this.queue.maxReceiveCount !== undefined &&
        Number(r.attributes.ApproximateReceiveCount) >= this.queue.maxReceiveCount;
      if (succeeded.includes(r) || spent) this.outstanding.delete(r.messageId);
    }
    for (let start = 0; start < succeeded.length; start += 10) {
      const chunk = succeeded.slice(start, start + 10);
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queue.url,
          Entries: chunk.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
    this.options.onBatch?.({
      mapping: this.mapping.logicalId,
      size: records.length,
      failed: records.length - succeeded.length,
      result,
    });
  }

  /** Stops receiving and waits for the invocations in flight to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.invocations]);
  }
}
