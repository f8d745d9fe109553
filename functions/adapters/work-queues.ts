/**
 * Acting on a message's next step: delaying its next attempt (the retry backoff, by changing its
 * visibility) or sending it to its queue's DLQ at once with the reason attached.
 */
import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';

/** For each queue a function consumes: its URL and its DLQ's URL (the event carries only the ARN). */
export const QueueRoutes = z.array(
  z
    .object({
      queueArn: z.string().min(1),
      queueUrl: z.string().min(1),
      deadLetterQueueUrl: z.string().min(1),
    })
    .strict(),
);
export type QueueRoutes = z.infer<typeof QueueRoutes>;

export interface DeadLetterNote {
  readonly reason: string;
  readonly errorClass: string;
  readonly message: string;
  readonly jobKey: string;
  readonly traceId: string;
  readonly source: string | undefined;
  readonly originalMessageId: string;
  /** How many times the message was received before it was dead-lettered. */
  readonly attempts: number;
}

export interface WorkQueues {
  deadLetter(fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void>;
  delay(fromQueueArn: string, receiptHandle: string, seconds: number): Promise<void>;
}

/** Names of the message attributes a dead-lettered message carries. */
export const DeadLetterAttribute = {
  Reason: 'sluice-reason',
  ErrorClass: 'sluice-error-class',
  ErrorMessage: 'sluice-error-message',
  JobKey: 'sluice-job-key',
  TraceId: 'sluice-trace-id',
  Source: 'sluice-source',
  OriginalMessageId: 'sluice-original-message-id',
  Attempts: 'sluice-attempts',
} as const;

function text(value: string): MessageAttributeValue {
  // SQS attribute values must be non-empty; 1,000 characters keeps the attributes readable.
  return { DataType: 'String', StringValue: value === '' ? '-' : value.slice(0, 1000) };
}

export class SqsWorkQueues implements WorkQueues {
  private readonly routes: ReadonlyMap<string, QueueRoutes[number]>;

  constructor(
    private readonly client: SQSClient,
    routes: QueueRoutes,
  ) {
    this.routes = new Map(routes.map((r) => [r.queueArn, r]));
  }

  private route(queueArn: string): QueueRoutes[number] {
    const route = this.routes.get(queueArn);
    if (route === undefined) throw new Error(`no route is configured for queue ${queueArn}`);
    return route;
  }

  async deadLetter(fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.route(fromQueueArn).deadLetterQueueUrl,
        MessageBody: body,
        MessageAttributes: {
          [DeadLetterAttribute.Reason]: text(note.reason),
          [DeadLetterAttribute.ErrorClass]: text(note.errorClass),
          [DeadLetterAttribute.ErrorMessage]: text(note.message),
          [DeadLetterAttribute.JobKey]: text(note.jobKey),
          [DeadLetterAttribute.TraceId]: text(note.traceId),
          [DeadLetterAttribute.Source]: text(note.source ?? 'unknown'),
          [DeadLetterAttribute.OriginalMessageId]: text(note.originalMessageId),
          [DeadLetterAttribute.Attempts]: { DataType: 'Number', StringValue: String(note.attempts) },
        },
      }),
    );
  }

  async delay(fromQueueArn: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.route(fromQueueArn).queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }
}
