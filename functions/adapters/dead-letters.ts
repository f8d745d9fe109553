/**
 * Sends a message straight to its queue's DLQ with the reason attached, for failures that
 * retrying cannot fix (DESIGN.md decision 5). Transient failures reach the DLQ through redrive.
 */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';

export const DeadLetterRoutes = z.array(
  z.object({ queueArn: z.string().min(1), deadLetterQueueUrl: z.string().min(1) }).strict(),
);
export type DeadLetterRoutes = z.infer<typeof DeadLetterRoutes>;

export interface DeadLetterNote {
  readonly reason: string;
  readonly errorClass: string;
  readonly message: string;
  readonly jobKey: string;
  readonly traceId: string;
  readonly source: string | undefined;
  readonly originalMessageId: string;
}

export interface DeadLetters {
  send(fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void>;
}

function text(value: string): MessageAttributeValue {
  // SQS attribute values must be non-empty; 1,000 characters keeps the attributes small and readable.
  return { DataType: 'String', StringValue: value === '' ? '-' : value.slice(0, 1000) };
}

export class SqsDeadLetters implements DeadLetters {
  private readonly routes: ReadonlyMap<string, string>;

  constructor(
    private readonly client: SQSClient,
    routes: DeadLetterRoutes,
  ) {
    this.routes = new Map(routes.map((r) => [r.queueArn, r.deadLetterQueueUrl]));
  }

  async send(fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void> {
    const queueUrl = this.routes.get(fromQueueArn);
    if (queueUrl === undefined) throw new Error(`no dead-letter queue is configured for ${fromQueueArn}`);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: {
          'sluice-reason': text(note.reason),
          'sluice-error-class': text(note.errorClass),
          'sluice-error-message': text(note.message),
          'sluice-job-key': text(note.jobKey),
          'sluice-trace-id': text(note.traceId),
          'sluice-source': text(note.source ?? 'unknown'),
          'sluice-original-message-id': text(note.originalMessageId),
        },
      }),
    );
  }
}
