/**
 * The job ledger: one summary item per job and one item per attempt, so a job in a DLQ can be
 * explained from the ledger alone (DESIGN.md decision 5).
 *
 *   pk = job#<jobKey>   sk = job                          summary (status, last error, attempts)
 *   pk = job#<jobKey>   sk = attempt#<startedAt>#<id>      one per attempt
 *   GSI byTrace: traceId → every item of the job
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

export type AttemptOutcome = 'collected' | 'retrying' | 'dead-lettered' | 'handed-off' | 'transformed';

export interface AttemptEntry {
  readonly jobKey: string;
  readonly source: string | undefined;
  readonly traceId: string;
  /** The SQS receive count of the message this attempt processed. */
  readonly attempt: number;
  /** Which stage made the attempt. */
  readonly stage: 'collect' | 'transform';
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly outcome: AttemptOutcome;
  readonly errorClass?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly manifestKey?: string;
  readonly artifactKeys?: readonly string[];
  /** Stage-specific figures, e.g. records written by a transform. */
  readonly counts?: { readonly [name: string]: number };
}

export interface JobLedger {
  recordAttempt(entry: AttemptEntry): Promise<void>;
  history(jobKey: string): Promise<{ [key: string]: unknown }[]>;
}

export function jobPartitionKey(jobKey: string): string {
  return `job#${jobKey}`;
}

export class DynamoJobLedger implements JobLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordAttempt(entry: AttemptEntry): Promise<void> {
    const pk = jobPartitionKey(entry.jobKey);
    const attemptId = `${entry.stage}#${entry.startedAt.toISOString()}#${entry.attempt}`;
    const durationMs = entry.finishedAt.getTime() - entry.startedAt.getTime();
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                pk,
                sk: `attempt#${attemptId}`,
                kind: 'attempt',
                jobKey: entry.jobKey,
                source: entry.source,
                traceId: entry.traceId,
                stage: entry.stage,
                attempt: entry.attempt,
                startedAt: entry.startedAt.toISOString(),
                finishedAt: entry.finishedAt.toISOString(),
                durationMs,
                outcome: entry.outcome,
                errorClass: entry.errorClass,
                reason: entry.reason,
                message: entry.message,
                manifestKey: entry.manifestKey,
                artifactKeys: entry.artifactKeys,
                counts: entry.counts,
              },
            },
          },
          {
            Update: {
              TableName: this.tableName,
              Key: { pk, sk: 'job' },
              UpdateExpression:
                'SET kind = :kind, jobKey = :jobKey, #source = :source, traceId = :traceId, #status = :status, ' +
                'updatedAt = :now, lastStage = :stage, lastReason = :reason, lastMessage = :message, ' +
                'firstSeenAt = if_not_exists(firstSeenAt, :started), lastCounts = :counts, ' +
                'lastManifestKey = :manifestKey ADD attempts :one',
              ExpressionAttributeNames: { '#source': 'source', '#status': 'status' },
              ExpressionAttributeValues: {
                ':kind': 'job',
                ':jobKey': entry.jobKey,
                ':source': entry.source ?? 'unknown',
                ':traceId': entry.traceId,
                ':status': entry.outcome,
                ':now': entry.finishedAt.toISOString(),
                ':stage': entry.stage,
                ':reason': entry.reason ?? null,
                ':message': entry.message ?? null,
                ':started': entry.startedAt.toISOString(),
                ':counts': entry.counts ?? null,
                ':manifestKey': entry.manifestKey ?? null,
                ':one': 1,
              },
            },
          },
        ],
      }),
    );
  }

  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    const items: { [key: string]: unknown }[] = [];
    let startKey: { [key: string]: unknown } | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': jobPartitionKey(jobKey) },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}
