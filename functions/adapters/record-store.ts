/**
 * The records table and its conditional upsert (DESIGN.md decision 4): a new record, or a strictly
 * newer observation with different content, replaces the data and bumps the version; the same
 * content only advances `lastSeenAt`; an older observation is skipped. There is no read before the
 * write: a failed condition returns the stored item, which says which case applied.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export interface Observation {
  readonly source: string;
  readonly entityId: string;
  readonly data: { readonly [key: string]: unknown };
  readonly contentHash: string;
  readonly observedAt: Date;
  /** Breaks ties between observations at the same instant (the fetch ID). */
  readonly observationId: string;
  readonly rawKey: string;
  readonly traceId: string;
}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

export interface RecordStore {
  upsert(observation: Observation): Promise<UpsertOutcome>;
  get(pk: string): Promise<{ [key: string]: unknown } | undefined>;
}

export function recordKey(source: string, entityId: string): string {
  return `${source}#${entityId}`;
}

/** `:o`/`:oid` is strictly newer than the newest observation the item has seen. */
const NEWER_THAN_LAST_SEEN =
  '(lastSeenAt < :observedAt OR (lastSeenAt = :observedAt AND lastObservationId < :observationId))';

export class DynamoRecordStore implements RecordStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async upsert(observation: Observation): Promise<UpsertOutcome> {
    const pk = recordKey(observation.source, observation.entityId);
    const observedAt = observation.observedAt.toISOString();
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression:
            'SET #source = :source, entityId = :entityId, #data = :data, contentHash = :contentHash, ' +
            'observedAt = :observedAt, observationId = :observationId, rawKey = :rawKey, traceId = :traceId, ' +
            'lastSeenAt = :observedAt, lastObservationId = :observationId, ' +
            'firstSeenAt = if_not_exists(firstSeenAt, :observedAt), version = if_not_exists(version, :zero) + :one',
          ConditionExpression: `attribute_not_exists(pk) OR (contentHash <> :contentHash AND ${NEWER_THAN_LAST_SEEN})`,
          ExpressionAttributeNames: { '#source': 'source', '#data': 'data' },
          ExpressionAttributeValues: {
            ':source': observation.source,
            ':entityId': observation.entityId,
            ':data': observation.data,
            ':contentHash': observation.contentHash,
            ':observedAt': observedAt,
            ':observationId': observation.observationId,
            ':rawKey': observation.rawKey,
            ':traceId': observation.traceId,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'UPDATED_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return result.Attributes?.version === undefined ? 'created' : 'updated';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The item exists (else the write would have succeeded), so either its content is the same
      // or this observation is not newer than the newest it has seen. The SDK leaves the returned
      // item in DynamoDB's attribute-value form.
      if (error.Item?.contentHash?.S !== observation.contentHash) return 'stale';
      const lastSeenAt = error.Item.lastSeenAt?.S ?? '';
      const lastObservationId = error.Item.lastObservationId?.S ?? '';
      const newer =
        lastSeenAt < observedAt ||
        (lastSeenAt === observedAt && lastObservationId < observation.observationId);
      return newer ? this.touch(pk, observation) : 'unchanged';
    }
  }

  /** Same content, possibly newer: advance lastSeenAt only. */
  private async touch(pk: string, observation: Observation): Promise<UpsertOutcome> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET lastSeenAt = :observedAt, lastObservationId = :observationId',
          ConditionExpression: `contentHash = :contentHash AND ${NEWER_THAN_LAST_SEEN}`,
          ExpressionAttributeValues: {
            ':observedAt': observation.observedAt.toISOString(),
            ':observationId': observation.observationId,
            ':contentHash': observation.contentHash,
          },
        }),
      );
      return 'unchanged';
    } catch (error) {
      // A newer observation of the same content got there first: nothing left to do.
      if (error instanceof ConditionalCheckFailedException) return 'unchanged';
      throw error;
    }
  }

  async get(pk: string): Promise<{ [key: string]: unknown } | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk } }));
    return result.Item;
  }
}
