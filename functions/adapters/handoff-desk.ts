/**
 * Hand-off tasks: decisions that need a person (a captcha, ambiguous or invalid data, an action
 * that needs approval). A task is recorded once per job and stage, with the reason and the
 * snapshot or raw keys a person needs, and announced on the hand-off topic.
 *
 *   tasks table: pk = task#<taskId>; GSI byStatus: status + createdAt (open tasks, oldest first)
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export interface HandoffTask {
  readonly stage: 'collect' | 'transform';
  readonly jobKey: string;
  readonly source: string;
  readonly traceId: string;
  /** Stable reason code, e.g. `captcha`, `records-invalid`, `approval-required`. */
  readonly reason: string;
  /** What the person needs to know, in a sentence or two. */
  readonly message: string;
  /** Raw or snapshot keys the person should look at. */
  readonly evidenceKeys: readonly string[];
  readonly createdAt: Date;
}

export type HandoffResult = 'opened' | 'already-open';

export interface HandoffDesk {
  open(task: HandoffTask): Promise<HandoffResult>;
}

/** One task per job and stage: redeliveries of the same job never open a second one. */
export function taskIdOf(task: Pick<HandoffTask, 'stage' | 'jobKey'>): string {
  return `${task.stage}-${task.jobKey}`;
}

export class DynamoSnsHandoffDesk implements HandoffDesk {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async open(task: HandoffTask): Promise<HandoffResult> {
    const taskId = taskIdOf(task);
    let result: HandoffResult = 'opened';
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `task#${taskId}`,
            taskId,
            status: 'open',
            stage: task.stage,
            jobKey: task.jobKey,
            source: task.source,
            traceId: task.traceId,
            reason: task.reason,
            message: task.message,
            evidenceKeys: [...task.evidenceKeys],
            createdAt: task.createdAt.toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Opened by an earlier delivery. If that delivery died before the announcement went out,
      // announce it now; otherwise there is nothing left to do.
      if (error.Item?.notifiedAt !== undefined) return 'already-open';
      result = 'already-open';
    }
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `Sluice needs a decision: ${task.source} (${task.reason})`.slice(0, 100),
        Message: JSON.stringify({ taskId, ...task, createdAt: task.createdAt.toISOString() }, null, 2),
        MessageAttributes: {
          source: { DataType: 'String', StringValue: task.source },
          reason: { DataType: 'String', StringValue: task.reason },
        },
      }),
    );
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `task#${taskId}` },
        UpdateExpression: 'SET notifiedAt = :now',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    );
    return result;
  }
}
