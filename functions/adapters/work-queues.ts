/**
 * Acting on a message's next step: delaying its next attempt (the retry backoff, by changing its
 * visibility) or sending it to its queue's DLQ at once with the reason attached.
 *
 * The event names a queue by ARN only; its URL and its DLQ's come from the queue's name
 * (functions/core/resource-names.ts: a work queue's DLQ is `<queue>-dlq`) through GetQueueUrl,
 * asked once per queue and container. Nothing per queue is configured, so a function's
 * environment stays the same size however many sources it serves.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deadLetterQueueName, queueAccountOfArn, queueNameOfArn } from '../core/resource-names.js';

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
  /** Queue URLs by `<account>/<name>`; a failed lookup is not kept, so the next message asks again. */
  private readonly urls = new Map<string, Promise<string>>();

  constructor(private readonly client: SQSClient) {}

  private urlOf(name: string, account: string): Promise<string> {
    const key = `${account}/${name}`;
    let url = this.urls.get(key);
    if (url === undefined) {
      url = (async () => {
        const { QueueUrl } = await this.client.send(
          new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
        );
        if (QueueUrl === undefined) throw new Error(`GetQueueUrl gave no URL for queue ${name}`);
        return QueueUrl;
      })();
      url.catch(() => this.urls.delete(key));
      this.urls.set(key, url);
    }
    return url;
  }

  /** The URL of the queue `queueArn` names. */
  queueUrl(queueArn: string): Promise<string> {
    return this.urlOf(queueNameOfArn(queueArn), queueAccountOfArn(queueArn));
  }

  /** The URL of the dead-letter queue of the queue `queueArn` names. */
  deadLetterQueueUrl(queueArn: string): Promise<string> {
    return this.urlOf(deadLetterQueueName(queueNameOfArn(queueArn)), queueAccountOfArn(queueArn));
  }

  async deadLetter(fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: await this.deadLetterQueueUrl(fromQueueArn),
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
        QueueUrl: await this.queueUrl(fromQueueArn),
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }
}
