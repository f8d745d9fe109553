/**
 * The job ledger: one summary item per job and one item per attempt, so a job in a DLQ can be
 * explained from the ledger alone (DESIGN.md decision 5). Beside them, the job's collection
 * claim: the one idempotency mechanism of the collectors (decision 3), a conditional write.
 *
 *   pk = job#<jobKey>   sk = job                          summary (status, last error, attempts)
 *   pk = job#<jobKey>   sk = claim                        lease (owner, until), collectedAt,
 *                                                          duplicate and deferred deliveries
 *   pk = job#<jobKey>   sk = attempt#<startedAt>#<id>      one per attempt (and per skipped delivery)
 *   GSI byTrace: traceId → every item of the job
 *
 * The claim has its own item so that the summary keeps meaning "what happened to the job": a
 * duplicate delivery is recorded as such and never changes the job's status.
 *
 * Retention: every write of a job's items sets `expiresAt` (epoch seconds, the table's TTL
 * attribute) to the write time plus the retention, so DynamoDB removes a job's items that long
 * after they were last written, and a job that is still being worked on is never half gone.
 * The retention is far longer than any dedupe window (the synth refuses one that is not) and than
 * a message can live in SQS (14 days), so a claim never expires while it can still stop a second
 * collection. Items that are not a job's (a source's freshness mark) carry no `expiresAt`.
 */

import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type {
  AttemptEntry,
  AttemptOutcome,
  ClaimRequest,
  ClaimResult,
  JobClaims,
  JobLedger,
} from '../core/ports.js';

/** Outcomes that describe a delivery rather than the job: they never change the job's status. */
const DELIVERY_ONLY: ReadonlySet<AttemptOutcome> = new Set(['duplicate', 'deferred']);

/** Collect outcomes after which the job counts as collected: a second delivery is a duplicate. */
function marksCollected(outcome: AttemptOutcome): boolean {
  return outcome === 'collected' || outcome === 'scheduled';
}

/** The ledger table's TTL attribute: epoch seconds after which DynamoDB may delete the item. */
export const LEDGER_EXPIRY_ATTRIBUTE = 'expiresAt';

export interface JobLedgerOptions {
  /**
   * Days a job's items live after their last write. @default - no expiry (tests, tools that only read)
   */
  readonly retentionDays?: number;
}

/** The `expiresAt` of an item written at `at`, or undefined when nothing expires. */
export function ledgerExpiry(at: Date, retentionDays: number | undefined): number | undefined {
  if (retentionDays === undefined) return undefined;
  return Math.floor(at.getTime() / 1000) + retentionDays * 86_400;
}

/** Sort key of a job's claim item. */
export const CLAIM_SK = 'claim';

export function jobPartitionKey(jobKey: string): string {
  return `job#${jobKey}`;
}

/** The summary's claim fields as DynamoDB returns them when a claim is refused. */
const ClaimState = z.object({
  claimedAt: z.object({ S: z.string() }).optional(),
  collectedAt: z.object({ S: z.string() }).optional(),
  // NULL on claims written before scheduled runs left the attribute out.
  manifestKey: z.union([z.object({ S: z.string() }), z.object({ NULL: z.literal(true) })]).optional(),
  leaseUntil: z.object({ S: z.string() }).optional(),
  leaseOwner: z.object({ S: z.string() }).optional(),
});

/**
 * What a recorded collection takes off its claim: a manifest it did not store (a scheduled run),
 * and the lease, when the entry releases it.
 */
function claimRemovals(entry: { readonly manifestKey?: string; readonly releasesClaimOf?: string }): string {
  const removed = [
    ...(entry.manifestKey === undefined ? ['manifestKey'] : []),
    ...(entry.releasesClaimOf === undefined ? [] : ['leaseOwner', 'leaseUntil']),
  ];
  return removed.length === 0 ? '' : ` REMOVE ${removed.join(', ')}`;
}

/** A cancelled ledger transaction whose claim item (its third action) failed its condition. */
function claimConditionFailed(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException &&
    error.CancellationReasons?.[2]?.Code === 'ConditionalCheckFailed'
  );
}

export class DynamoJobLedger implements JobLedger, JobClaims {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: JobLedgerOptions = {},
  ) {}

  /** `SET`-able expiry of an item written at `at`: the clause and its value, or nothing. */
  private expiry(at: Date): { clause: string; values: { [key: string]: number } } {
    const expiresAt = ledgerExpiry(at, this.options.retentionDays);
    return expiresAt === undefined
      ? { clause: '', values: {} }
      : { clause: `, ${LEDGER_EXPIRY_ATTRIBUTE} = :expiresAt`, values: { ':expiresAt': expiresAt } };
  }

  async recordAttempt(entry: AttemptEntry): Promise<void> {
    // The random part keeps two deliveries that start in the same millisecond from sharing an item.
    const attemptId = `${entry.stage}#${entry.startedAt.toISOString()}#${entry.attempt}#${randomBytes(4).toString('hex')}`;
    if (entry.releasesClaimOf !== undefined && !(entry.stage === 'collect' && marksCollected(entry.outcome)))
      throw new Error(`releasesClaimOf goes with a collected attempt, got ${entry.stage} ${entry.outcome}`);
    try {
      await this.writeAttempt(entry, attemptId);
    } catch (error) {
      if (entry.releasesClaimOf === undefined || !claimConditionFailed(error)) throw error;
      // The claim is no longer this owner's (its lease lapsed and another delivery took it): the
      // collection is recorded all the same, under the same attempt item, and the other
      // delivery's claim is left alone.
      await this.writeAttempt({ ...entry, releasesClaimOf: undefined }, attemptId);
    }
  }

  private async writeAttempt(entry: AttemptEntry, attemptId: string): Promise<void> {
    const pk = jobPartitionKey(entry.jobKey);
    const durationMs = entry.finishedAt.getTime() - entry.startedAt.getTime();
    const expiry = this.expiry(entry.finishedAt);
    const attemptItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          pk,
          sk: `attempt#${attemptId}${DELIVERY_ONLY.has(entry.outcome) ? `#${entry.outcome}` : ''}`,
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
          snapshotKeys: entry.snapshotKeys,
          retryInSeconds: entry.retryInSeconds,
          retryAfterSeconds: entry.retryAfterSeconds,
          counts: entry.counts,
          followUps: entry.followUps,
          followUpsRefused: entry.followUpsRefused,
          ...(expiry.values[':expiresAt'] === undefined
            ? {}
            : { [LEDGER_EXPIRY_ATTRIBUTE]: expiry.values[':expiresAt'] }),
        },
      },
    };
    if (DELIVERY_ONLY.has(entry.outcome)) {
      // The job's status stays what its real attempts made it; the summary only counts these.
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            attemptItem,
            {
              Update: {
                TableName: this.tableName,
                Key: { pk, sk: CLAIM_SK },
                UpdateExpression: `SET lastDeliveryOutcome = :outcome, lastDeliveryAt = :now${expiry.clause} ADD #counter :one`,
                ExpressionAttributeNames: {
                  '#counter': entry.outcome === 'duplicate' ? 'duplicateDeliveries' : 'deferredDeliveries',
                },
                ExpressionAttributeValues: {
                  ':outcome': entry.outcome,
                  ':now': entry.finishedAt.toISOString(),
                  ':one': 1,
                  ...expiry.values,
                },
              },
            },
          ],
        }),
      );
      return;
    }
    const collected = entry.stage === 'collect' && marksCollected(entry.outcome);
    // A follow-up's lineage, and the keys of the follow-ups it enqueued (a set: an attempt that
    // enqueues the same children again adds nothing), so a tree can be walked from its root.
    const lineage =
      entry.followUpOf === undefined
        ? { clause: '', values: {} }
        : {
            clause: ', parentJobKey = :parentJobKey, rootJobKey = :rootJobKey, followUpDepth = :depth',
            values: {
              ':parentJobKey': entry.followUpOf.parentJobKey,
              ':rootJobKey': entry.followUpOf.rootJobKey,
              ':depth': entry.followUpOf.depth,
            },
          };
    const children =
      entry.followUps === undefined || entry.followUps.length === 0
        ? { clause: '', values: {} }
        : {
            clause: ', followUpKeys :children',
            values: { ':children': new Set(entry.followUps.map((f) => f.jobKey)) },
          };
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          attemptItem,
          {
            Update: {
              TableName: this.tableName,
              Key: { pk, sk: 'job' },
              // The transform's status wins over the collector's: the collector records its attempt
              // after writing the manifest, and the transform it starts can finish first.
              UpdateExpression:
                `SET kind = :kind, jobKey = :jobKey, #source = :source, traceId = :traceId, ${
                  entry.stage === 'transform'
                    ? '#status = :status, transformStatus = :status'
                    : '#status = if_not_exists(transformStatus, :status), collectStatus = :status'
                }, ` +
                'updatedAt = :now, lastStage = :stage, lastReason = :reason, lastMessage = :message, ' +
                'firstSeenAt = if_not_exists(firstSeenAt, :started), lastCounts = :counts, ' +
                `lastManifestKey = :manifestKey, lastSnapshotKeys = :snapshots${expiry.clause}${lineage.clause} ` +
                `ADD attempts :one${children.clause}`,
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
                ':snapshots': entry.snapshotKeys ?? null,
                ':one': 1,
                ...expiry.values,
                ...lineage.values,
                ...children.values,
              },
            },
          },
          ...(collected
            ? [
                {
                  Update: {
                    TableName: this.tableName,
                    Key: { pk, sk: CLAIM_SK },
                    // A scheduled run collects nothing itself and has no manifest to name.
                    UpdateExpression: `SET kind = :kind, collectedAt = :now${
                      entry.manifestKey === undefined ? '' : ', manifestKey = :manifestKey'
                    }${expiry.clause}${claimRemovals(entry)}`,
                    // The release, folded into the record: only the owner's own claim is given up.
                    ...(entry.releasesClaimOf === undefined
                      ? {}
                      : { ConditionExpression: 'leaseOwner = :owner' }),
                    ExpressionAttributeValues: {
                      ':kind': 'claim',
                      ':now': entry.finishedAt.toISOString(),
                      ...(entry.manifestKey === undefined ? {} : { ':manifestKey': entry.manifestKey }),
                      ...expiry.values,
                      ...(entry.releasesClaimOf === undefined ? {} : { ':owner': entry.releasesClaimOf }),
                    },
                  },
                },
              ]
            : []),
        ],
      }),
    );
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const expiry = this.expiry(request.now);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: jobPartitionKey(request.jobKey), sk: CLAIM_SK },
          UpdateExpression:
            'SET kind = :kind, jobKey = :jobKey, #source = :source, traceId = :traceId, ' +
            `leaseOwner = :owner, leaseUntil = :until, claimedAt = :now${expiry.clause}`,
          // ISO-8601 UTC strings of one format compare like the times they name.
          ConditionExpression:
            '(attribute_not_exists(collectedAt) OR collectedAt < :since) AND ' +
            '(attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeNames: { '#source': 'source' },
          ExpressionAttributeValues: {
            ':kind': 'claim',
            ':jobKey': request.jobKey,
            ':source': request.source,
            ':traceId': request.traceId,
            ':owner': request.owner,
            ':until': request.leaseUntil.toISOString(),
            ':now': request.now.toISOString(),
            ':since': request.collectedSince.toISOString(),
            ...expiry.values,
          },
          ReturnValues: 'UPDATED_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'claimed', previouslyClaimed: result.Attributes?.claimedAt !== undefined };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The SDK leaves the item in DynamoDB's attribute-value form here.
      const state = ClaimState.parse(error.Item ?? {});
      if (state.leaseOwner?.S === request.owner) {
        // Our own write: DynamoDB applied it and answered 500 (or the answer was lost), and the
        // SDK's retry met it. The claim is ours; whether another delivery held it before is
        // no longer visible, so say it may have.
        return { status: 'claimed', previouslyClaimed: true };
      }
      const collectedAt = state.collectedAt?.S;
      if (collectedAt !== undefined && collectedAt >= request.collectedSince.toISOString()) {
        const manifestKey =
          state.manifestKey !== undefined && 'S' in state.manifestKey ? state.manifestKey.S : undefined;
        return {
          status: 'already-collected',
          collectedAt: new Date(collectedAt),
          ...(manifestKey === undefined ? {} : { manifestKey }),
        };
      }
      return {
        status: 'held-elsewhere',
        until: new Date(state.leaseUntil?.S ?? request.leaseUntil.toISOString()),
        owner: state.leaseOwner?.S ?? 'unknown',
      };
    }
  }

  async release(jobKey: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: jobPartitionKey(jobKey), sk: CLAIM_SK },
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      // Someone else holds it now (ours lapsed): theirs is not ours to give up.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    const items: { [key: string]: unknown }[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': jobPartitionKey(jobKey) },
      },
    )) {
      items.push(...(page.Items ?? []));
    }
    return items;
  }
}
