/**
 * What-if (not Sluice's code): a manifest's records written by one conditional TransactWriteItems
 * — every record with the write the source's records needed last, the record store's own update
 * expressions (DynamoRecordStore's dataWrite/touchWrite) — falling back, when DynamoDB cancels the
 * transaction because one record needs the other write, to the record store's single writes as
 * transformManifest makes them. Measured beside the transform as it is, to decide whether Sluice
 * should write that way (docs/benchmarks.md has the decision).
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { RawStore, RecentWrites, RecordStore } from './sluice-ports.js';
import { dataWrite, observationsOf, recordKey, touchWrite } from './sluice-ports.js';

/** moto refuses more actions per transaction than this (AWS allows 100 since 2022). */
const ACTIONS_PER_TRANSACTION = 25;
/** As transformManifest. */
const WRITE_CONCURRENCY = 8;

/** Transforms one manifest with its writes in transactions; returns the records written or confirmed. */
export async function transformInTransactions(
  manifestKey: string,
  deps: {
    readonly rawStore: RawStore;
    readonly recordStore: RecordStore;
    readonly documents: DynamoDBDocumentClient;
    readonly tableName: string;
    readonly recentWrites: RecentWrites;
  },
): Promise<number> {
  const { manifest, observations } = await observationsOf(manifestKey, deps.rawStore);
  let guess = deps.recentWrites.firstGuess(manifest.source);
  for (let start = 0; start < observations.length; start += ACTIONS_PER_TRANSACTION) {
    const chunk = observations.slice(start, start + ACTIONS_PER_TRANSACTION);
    const write = guess === 'data' ? dataWrite : touchWrite;
    try {
      await deps.documents.send(
        new TransactWriteCommand({
          TransactItems: chunk.map((o) => ({
            Update: write(deps.tableName, recordKey(o.source, o.entityId), o),
          })),
        }),
      );
      continue;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
    }
    // Cancelled: some record needs the other write (or is stale). Each record on its own, as
    // transformManifest writes them, guessing from the record before.
    for (let batch = 0; batch < chunk.length; batch += WRITE_CONCURRENCY) {
      const firstAttempt = guess;
      const outcomes = await Promise.all(
        chunk
          .slice(batch, batch + WRITE_CONCURRENCY)
          .map((o) => deps.recordStore.upsert(o, { firstAttempt })),
      );
      for (const outcome of outcomes) {
        if (outcome === 'created' || outcome === 'updated') guess = 'data';
        else if (outcome === 'unchanged') guess = 'touch';
      }
    }
  }
  deps.recentWrites.remember(manifest.source, guess);
  return observations.length;
}
