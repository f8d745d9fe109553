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

/** Terminal colour codes (Playwright's call logs carry them): noise in an attribute. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what it matches
const ANSI_ESCAPE = /\u001b\[[0-9;]*[A-Za-z]/g;
/**
 * What SQS refuses in a String attribute value, as in a body: anything outside XML 1.0's
 * characters — control characters, half a surrogate pair. One of them fails the whole SendMessage.
 */
const REFUSED_BY_SQS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** Characters kept of an attribute value: readable, and well inside the message size limit. */
const MAX_ATTRIBUTE_CHARACTERS = 1000;

/** An attribute value SQS accepts whatever the text: non-empty, no refused character, not cut mid-pair. */
export function attributeText(value: string): string {
  const acceptable = value.replace(ANSI_ESCAPE, '').replace(REFUSED_BY_SQS, '\uFFFD');
  const shortened = Array.from(acceptable.slice(0, 2 * MAX_ATTRIBUTE_CHARACTERS))
    .slice(0, MAX_ATTRIBUTE_CHARACTERS)
    .join('');
  return shortened === '' ? '-' : shortened;
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: attributeText(value) };
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
