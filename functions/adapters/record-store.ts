/**
 * The records table and its conditional upsert (DESIGN.md decision 4; the rules are in
 * core/record-upsert.ts). No read ever precedes a write: each write carries, as its condition,
 * the precondition of the rule it applies, and a failed condition returns the stored item
 * (ReturnValuesOnConditionCheckFailure), which says which rule applies instead.
 *
 * Why sometimes two writes. DynamoDB has no conditional branch inside one update (only
 * `if_not_exists`), so no single UpdateItem can both "replace the data and bump the version when
 * the content differs" and "advance only lastSeen when it is the same" — the second must leave
 * the lineage of the current data alone. There are therefore two writes, `data` and `touch`, each
 * conditional; whichever is tried first, the other case costs one more round trip (never a read).
 * The caller says which to try first (the transform guesses from the previous record of the same
 * raw object: a first load or a rule change is all `data`, a routine re-collection all `touch`),
 * so a homogeneous batch costs one round trip per record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { RecordItem } from '../core/contracts.js';
import { PermanentError, TransientError } from '../core/errors.js';
import type { RecordStore, UpsertOptions } from '../core/ports.js';
import {
  decideUpsert,
  type Observation,
  observationKeyOf,
  recordKey,
  type StoredRecordHead,
  type UpsertOutcome,
} from '../core/record-upsert.js';

/** `:observedAt`/`:observationId`/`:parserRevision` is strictly newer than the newest the item has seen. */
const NEWER_THAN_LAST_SEEN =
  '(lastSeenAt < :observedAt OR (lastSeenAt = :observedAt AND (lastObservationId < :observationId OR ' +
  '(lastObservationId = :observationId AND lastParserRevision < :parserRevision))))';

/** Each lost race means another writer changed the record; this many in a row is contention, not bad luck. */
const MAX_WRITES_PER_UPSERT = 4;

/** The attributes of ALL_OLD the rules need, in DynamoDB's attribute-value form. */
const StoredHeadAttributes = z
  .object({
    contentHash: z.object({ S: z.string() }),
    lastSeenAt: z.object({ S: z.string() }),
    lastObservationId: z.object({ S: z.string() }),
    lastParserRevision: z.object({ N: z.string().regex(/^\d+$/) }),
  })
  .transform(
    (item): StoredRecordHead => ({
      contentHash: item.contentHash.S,
      lastSeen: {
        observedAt: item.lastSeenAt.S,
        observationId: item.lastObservationId.S,
        parserRevision: Number(item.lastParserRevision.N),
      },
    }),
  );

type WriteResult =
  | { readonly applied: true; readonly created: boolean }
  | {
      readonly applied: false;
      readonly stored: StoredRecordHead | undefined;
      /** Set when the stored item lacked attributes the rules compare. */
      readonly incomplete?: string;
    };

export class DynamoRecordStore implements RecordStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async upsert(observation: Observation, options: UpsertOptions = {}): Promise<UpsertOutcome> {
    const pk = recordKey(observation.source, observation.entityId);
    const key = observationKeyOf(observation);
    let write: 'data' | 'touch' = options.firstAttempt ?? 'touch';
    let incomplete: string | undefined;
    for (let attempt = 1; attempt <= MAX_WRITES_PER_UPSERT; attempt += 1) {
      const result =
        write === 'data' ? await this.writeData(pk, observation) : await this.touch(pk, observation);
      if (result.applied) return write === 'touch' ? 'unchanged' : result.created ? 'created' : 'updated';
      incomplete = result.incomplete;
      // An item without the attributes the rules compare is read as one another writer is
      // still creating; the next conditional write sees it finished (or the loop ends below).
      const decision = decideUpsert(result.stored, { contentHash: observation.contentHash, key });
      if (decision.write === 'none') return decision.outcome;
      write = decision.write;
    }
    if (incomplete !== undefined) {
      throw new PermanentError(
        `record ${pk} lacks the attributes the upsert compares (contentHash, lastSeenAt, lastObservationId, lastParserRevision): ${incomplete}`,
        { reason: 'record-invalid' },
      );
    }
    throw new TransientError(
      `record ${pk} changed under ${MAX_WRITES_PER_UPSERT} conditional writes in a row; expected it to settle`,
      { reason: 'record-contention' },
    );
  }

  /** Creates the record, or replaces its data with a strictly newer observation of different content. */
  private async writeData(pk: string, observation: Observation): Promise<WriteResult> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression:
            'SET #source = :source, entityId = :entityId, #data = :data, contentHash = :contentHash, ' +
            'observedAt = :observedAt, observationId = :observationId, parserRevision = :parserRevision, ' +
            'rawKey = :rawKey, traceId = :traceId, ' +
            'lastSeenAt = :observedAt, lastObservationId = :observationId, lastParserRevision = :parserRevision, ' +
            'firstSeenAt = if_not_exists(firstSeenAt, :observedAt), version = if_not_exists(version, :zero) + :one',
          ConditionExpression: `attribute_not_exists(pk) OR (contentHash <> :contentHash AND ${NEWER_THAN_LAST_SEEN})`,
          ExpressionAttributeNames: { '#source': 'source', '#data': 'data' },
          ExpressionAttributeValues: {
            ...this.observationValues(observation),
            ':source': observation.source,
            ':entityId': observation.entityId,
            ':data': observation.data,
            ':rawKey': observation.rawKey,
            ':traceId': observation.traceId,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'UPDATED_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { applied: true, created: result.Attributes?.version === undefined };
    } catch (error) {
      return this.conditionFailure(error);
    }
  }

  /** Same content, strictly newer: advances the last-seen observation and nothing else. */
  private async touch(pk: string, observation: Observation): Promise<WriteResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression:
            'SET lastSeenAt = :observedAt, lastObservationId = :observationId, lastParserRevision = :parserRevision',
          ConditionExpression: `contentHash = :contentHash AND ${NEWER_THAN_LAST_SEEN}`,
          ExpressionAttributeValues: this.observationValues(observation),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { applied: true, created: false };
    } catch (error) {
      return this.conditionFailure(error);
    }
  }

  private observationValues(observation: Observation): { [name: string]: unknown } {
    return {
      ':contentHash': observation.contentHash,
      ':observedAt': observation.observedAt.toISOString(),
      ':observationId': observation.observationId,
      ':parserRevision': observation.parserRevision,
    };
  }

  /** A failed condition carries the stored item (none when the record does not exist). */
  private conditionFailure(error: unknown): WriteResult {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // The document client leaves this item in DynamoDB's attribute-value form.
    if (error.Item === undefined) return { applied: false, stored: undefined };
    const parsed = StoredHeadAttributes.safeParse(error.Item);
    if (parsed.success) return { applied: false, stored: parsed.data };
    // DynamoDB never shows a half-written item, but moto (the local emulator) applies an update
    // attribute by attribute with no lock, so a concurrent writer can see one. The caller tries
    // again, and gives up with a permanent error if the item stays incomplete.
    const missing = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    return { applied: false, stored: undefined, incomplete: `missing ${missing}` };
  }

  async get(pk: string): Promise<RecordItem | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    if (result.Item === undefined) return undefined;
    const parsed = RecordItem.safeParse(result.Item);
    if (!parsed.success) {
      throw new PermanentError(`record ${pk} does not match the Record contract: ${parsed.error.message}`, {
        reason: 'record-invalid',
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
}
