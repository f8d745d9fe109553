/**
 * Reading and resolving hand-off tasks (the tasks table the hand-off desk writes): the freshness
 * checker counts the open ones per source, and `sluice tasks` lists and resolves them.
 *
 *   tasks table: pk = task#<taskId>; GSI byStatus: status + createdAt (oldest first)
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

export const TASKS_BY_STATUS_INDEX = 'byStatus';

export const TaskStatus = z.enum(['open', 'resolved']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const StoredTask = z.object({
  taskId: z.string(),
  status: TaskStatus,
  stage: z.enum(['collect', 'transform']),
  jobKey: z.string(),
  source: z.string(),
  traceId: z.string(),
  reason: z.string(),
  message: z.string(),
  evidenceKeys: z.array(z.string()).default([]),
  createdAt: z.iso.datetime(),
  notifiedAt: z.iso.datetime().optional(),
  resolvedAt: z.iso.datetime().optional(),
  resolvedBy: z.string().optional(),
  resolution: z.string().optional(),
});
export type StoredTask = z.infer<typeof StoredTask>;

export type ResolveResult = 'resolved' | 'not-found' | 'already-resolved';

export interface HandoffTaskList {
  /** Tasks with `status`, oldest first. */
  list(status: TaskStatus): Promise<StoredTask[]>;
  get(taskId: string): Promise<StoredTask | undefined>;
  resolve(taskId: string, resolution: { by: string; note: string; at: Date }): Promise<ResolveResult>;
}

export class DynamoHandoffTaskList implements HandoffTaskList {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(status: TaskStatus): Promise<StoredTask[]> {
    const tasks: StoredTask[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: TASKS_BY_STATUS_INDEX,
        KeyConditionExpression: '#status = :status',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status },
      },
    )) {
      tasks.push(...(page.Items ?? []).map((item) => StoredTask.parse(item)));
    }
    return tasks;
  }

  async get(taskId: string): Promise<StoredTask | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `task#${taskId}` } }),
    );
    return Item === undefined ? undefined : StoredTask.parse(Item);
  }

  async resolve(taskId: string, resolution: { by: string; note: string; at: Date }): Promise<ResolveResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `task#${taskId}` },
          UpdateExpression: 'SET #status = :resolved, resolvedAt = :at, resolvedBy = :by, resolution = :note',
          ConditionExpression: 'attribute_exists(pk) AND #status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':resolved': 'resolved',
            ':open': 'open',
            ':at': resolution.at.toISOString(),
            ':by': resolution.by,
            ':note': resolution.note,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'resolved';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item === undefined ? 'not-found' : 'already-resolved';
    }
  }
}
