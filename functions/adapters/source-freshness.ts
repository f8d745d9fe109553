/**
 * Per source, the newest observation that became records: the transform advances it after every
 * successful transform, and the freshness checker reads it to publish each source's data age
 * (DESIGN.md: "a scheduled freshness checker publishes data age per source").
 *
 *   job ledger table: pk = source#<source>   sk = freshness
 *
 * The same item holds `trackedSince`, which the freshness checker sets the first time it sees a
 * source: a source's data age counts from it until the source's first records
 * (functions/core/freshness.ts).
 *
 * The trace ID is stored as `newestTraceId`, not `traceId`, so the item stays out of the ledger's
 * byTrace index (which answers "every item of one job").
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { FreshnessMark, MarkResult, SourceFreshness } from '../core/ports.js';

export function freshnessKey(source: string): { pk: string; sk: string } {
  return { pk: `source#${source}`, sk: 'freshness' };
}

const Tracked = z.object({ source: z.string(), trackedSince: z.iso.datetime().optional() });

const StoredMark = z.object({
  source: z.string(),
  newestObservedAt: z.iso.datetime(),
  newestTraceId: z.string(),
  newestJobKey: z.string(),
  updatedAt: z.iso.datetime(),
});

export class DynamoSourceFreshness implements SourceFreshness {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async markObserved(mark: FreshnessMark): Promise<MarkResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: freshnessKey(mark.source),
          UpdateExpression:
            'SET kind = :kind, #source = :source, newestObservedAt = :observedAt, ' +
            'newestTraceId = :traceId, newestJobKey = :jobKey, updatedAt = :updatedAt',
          // ISO-8601 UTC strings of one format compare in time order.
          ConditionExpression: 'attribute_not_exists(newestObservedAt) OR newestObservedAt < :observedAt',
          ExpressionAttributeNames: { '#source': 'source' },
          ExpressionAttributeValues: {
            ':kind': 'source-freshness',
            ':source': mark.source,
            ':observedAt': mark.newestObservedAt.toISOString(),
            ':traceId': mark.newestTraceId,
            ':jobKey': mark.newestJobKey,
            ':updatedAt': mark.updatedAt.toISOString(),
          },
        }),
      );
      return 'advanced';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'not-newer';
      throw error;
    }
  }

  async newest(sources: readonly string[]): Promise<Map<string, FreshnessMark>> {
    const marks = new Map<string, FreshnessMark>();
    for (const item of await this.freshnessItems(sources)) {
      // An item the checker made to track a source that has no records yet holds no mark.
      if (item.newestObservedAt === undefined) continue;
      const stored = StoredMark.parse(item);
      marks.set(stored.source, {
        source: stored.source,
        newestObservedAt: new Date(stored.newestObservedAt),
        newestTraceId: stored.newestTraceId,
        newestJobKey: stored.newestJobKey,
        updatedAt: new Date(stored.updatedAt),
      });
    }
    return marks;
  }

  async trackedSince(sources: readonly string[], at: Date): Promise<Map<string, Date>> {
    const tracked = new Map<string, Date>();
    const items = await this.freshnessItems(sources, {
      ProjectionExpression: '#source, trackedSince',
      ExpressionAttributeNames: { '#source': 'source' },
    });
    for (const item of items) {
      const stored = Tracked.safeParse(item);
      if (stored.success && stored.data.trackedSince !== undefined)
        tracked.set(stored.data.source, new Date(stored.data.trackedSince));
    }
    // Only a source seen for the first time is written: one write per source, ever.
    for (const source of sources.filter((s) => !tracked.has(s))) {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: freshnessKey(source),
          // Two checks racing keep the first time either wrote.
          UpdateExpression:
            'SET trackedSince = if_not_exists(trackedSince, :at), kind = :kind, #source = :source',
          ExpressionAttributeNames: { '#source': 'source' },
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ':kind': 'source-freshness',
            ':source': source,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const stored = Tracked.safeParse(Attributes);
      tracked.set(
        source,
        stored.success && stored.data.trackedSince !== undefined ? new Date(stored.data.trackedSince) : at,
      );
    }
    return tracked;
  }

  /** The freshness items of these sources (absent ones left out), in BatchGetItem's 100-key pages, unprocessed keys retried. */
  private async freshnessItems(
    sources: readonly string[],
    projection?: {
      readonly ProjectionExpression: string;
      readonly ExpressionAttributeNames: { [name: string]: string };
    },
  ): Promise<{ [key: string]: unknown }[]> {
    const items: { [key: string]: unknown }[] = [];
    for (let start = 0; start < sources.length; start += 100) {
      let keys: { [key: string]: unknown }[] | undefined = sources
        .slice(start, start + 100)
        .map((source) => freshnessKey(source));
      while (keys !== undefined && keys.length > 0) {
        const response: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ...projection } } }),
        );
        items.push(...(response.Responses?.[this.tableName] ?? []));
        keys = response.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }
}
