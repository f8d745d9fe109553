/**
 * The change feed's core: which writes of the records table are changes, and the RecordChanged
 * event each becomes. It reads the table's own history (its DynamoDB stream, old and new image of
 * every write), so an event follows from a write that happened, never from a write a transform
 * meant to make: a transform that dies after its write still has its event published, and a
 * redelivered or replayed observation that changed nothing writes nothing to publish.
 *
 *   write                                            event
 *   a record created (INSERT)                        created, version 1
 *   its data replaced (MODIFY, version goes up)      updated, with the previous data and the diff
 *   only lastSeen moved (MODIFY, same version)       none: unchanged
 *   a stale or redelivered observation               none: nothing was written
 *   the record removed (REMOVE; Sluice never does)   none
 *
 * Each event's ID is `<source>#<entityId>#<version>`: publishing one again (the stream's
 * at-least-once delivery) repeats the same ID, which subscribers deduplicate on.
 */
import { z } from 'zod';
import type { ChangeRules } from '../../sources/define.js';
import { RecordItem } from './contracts.js';
import { diffData } from './record-upsert.js';

/** The bus event's `source` and `detail-type`: what a subscriber's rule matches. */
export const RECORD_CHANGED = { source: 'sluice.records', detailType: 'RecordChanged' } as const;

/** The detail of a RecordChanged event: the contract downstream teams subscribe to (schemas/). */
export const RecordChangedDetail = z
  .object({
    eventId: z
      .string()
      .describe('<source>#<entityId>#<version>: the same for every publication of one change.'),
    source: z.string(),
    entityId: z.string(),
    version: z.number().int().positive(),
    previousVersion: z
      .number()
      .int()
      .nonnegative()
      .describe('The version before this change; 0 for a record just created.'),
    change: z.enum(['created', 'updated']),
    observedAt: z.iso.datetime().describe('When the fetch that produced the new data received it.'),
    observationId: z.string(),
    traceId: z.string(),
    rawKey: z.string().describe('The raw object the new data was parsed from.'),
    data: z.record(z.string(), z.unknown()).nullable(),
    previousData: z.record(z.string(), z.unknown()).nullable(),
    changes: z
      .array(z.object({ field: z.string(), before: z.unknown().optional(), after: z.unknown().optional() }))
      .describe('Field-level differences, nested fields as dotted paths; every field for a created record.'),
    meaningful: z.boolean().describe("The source's meaningful-change rule (true when it has none)."),
    priority: z.enum(['high', 'normal']),
    truncated: z
      .literal(true)
      .optional()
      .describe('Set when the data did not fit an event: read the record (pk <source>#<entityId>) instead.'),
  })
  .describe(
    'A record of a Sluice source was created or its content changed (EventBridge detail-type RecordChanged).',
  );
export type RecordChangedDetail = z.infer<typeof RecordChangedDetail>;

/** One write of the records table as its stream reports it, images already unmarshalled. */
export interface RecordWrite {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly sequenceNumber: string;
  readonly oldImage: { readonly [key: string]: unknown } | undefined;
  readonly newImage: { readonly [key: string]: unknown } | undefined;
}

export type ChangeDecision =
  | { readonly kind: 'change'; readonly pk: string; readonly detail: RecordChangedDetail }
  | { readonly kind: 'none'; readonly why: 'unchanged' | 'removed' }
  /** The new image is no Record: it is skipped (and logged), never published half-read. */
  | { readonly kind: 'invalid'; readonly pk: string; readonly problem: string };

/**
 * EventBridge takes entries of at most 256 KB; past this size an event carries the diff and the
 * lineage but not the two copies of the data (`truncated`).
 */
export const MAX_DETAIL_BYTES = 200 * 1024;

export interface RuleFailure {
  readonly source: string;
  readonly rule: 'meaningful' | 'highPriority';
  readonly error: unknown;
}

/** The event a write becomes, if any. `onRuleFailure` hears of a rule that threw (treated as meaningful). */
export function changeOf(
  write: RecordWrite,
  findRules: (source: string) => ChangeRules | undefined,
  onRuleFailure: (failure: RuleFailure) => void = () => undefined,
): ChangeDecision {
  if (write.eventName === 'REMOVE' || write.newImage === undefined) return { kind: 'none', why: 'removed' };
  const parsed = RecordItem.safeParse(write.newImage);
  if (!parsed.success) {
    return {
      kind: 'invalid',
      pk: String(write.newImage.pk ?? '?'),
      problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  }
  const record = parsed.data;
  const previous = write.eventName === 'MODIFY' ? RecordItem.safeParse(write.oldImage ?? {}) : undefined;
  const before = previous?.success === true ? previous.data : undefined;
  // Only a data write moves the version; a touch (same content, newer observation) leaves it.
  if (before !== undefined && record.version <= before.version) return { kind: 'none', why: 'unchanged' };

  const rules = findRules(record.source);
  let meaningful = true;
  let priority: 'high' | 'normal' = 'normal';
  if (rules !== undefined) {
    try {
      meaningful = rules.meaningful.test(before?.data, record.data);
    } catch (error) {
      onRuleFailure({ source: record.source, rule: 'meaningful', error });
    }
    try {
      if (rules.highPriority?.test(record.entityId, record.data) === true) priority = 'high';
    } catch (error) {
      onRuleFailure({ source: record.source, rule: 'highPriority', error });
    }
  }
  const detail: RecordChangedDetail = {
    eventId: `${record.source}#${record.entityId}#${record.version}`,
    source: record.source,
    entityId: record.entityId,
    version: record.version,
    previousVersion: before?.version ?? 0,
    change: before === undefined ? 'created' : 'updated',
    observedAt: record.observedAt,
    observationId: record.observationId,
    traceId: record.traceId,
    rawKey: record.rawKey,
    data: record.data,
    previousData: before?.data ?? null,
    changes: diffData(before?.data ?? {}, record.data),
    meaningful,
    priority,
  };
  if (Buffer.byteLength(JSON.stringify(detail)) <= MAX_DETAIL_BYTES) {
    return { kind: 'change', pk: record.pk, detail };
  }
  return {
    kind: 'change',
    pk: record.pk,
    detail: { ...detail, data: null, previousData: null, truncated: true },
  };
}

/**
 * Groups the changes of a batch into publications, in stream order, so that no publication holds
 * two changes of one record: a publication that partly fails is retried from its first failed
 * change, and a later version of a record can then never have gone out before an earlier one.
 */
export function publications<T extends { readonly pk: string }>(
  changes: readonly T[],
  maxPerCall = 10,
): T[][] {
  const calls: T[][] = [];
  let current: T[] = [];
  let records = new Set<string>();
  for (const change of changes) {
    if (current.length >= maxPerCall || records.has(change.pk)) {
      calls.push(current);
      current = [];
      records = new Set();
    }
    current.push(change);
    records.add(change.pk);
  }
  if (current.length > 0) calls.push(current);
  return calls;
}
