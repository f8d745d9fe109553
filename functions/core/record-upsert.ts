/**
 * The rules of the conditional upsert (DESIGN.md decision 4), as pure functions. The DynamoDB
 * adapter encodes exactly these rules in its condition expressions; the dry-run planner and the
 * in-memory store apply them directly. Keeping them here lets a property test hold the adapter
 * and the model to the same definition.
 *
 * Ordering. An observation is identified by the fetch that made it and the parser revision that
 * read it: `(observedAt, observationId, parserRevision)`, compared in that order. `observationId`
 * (the time-sortable fetch ID) breaks ties between fetches at the same instant; `parserRevision`
 * orders two readings of the same fetch, so replaying raw data through a changed parser rewrites
 * records made from the very same observation by the previous rules.
 *
 * Outcomes for an incoming observation `o` against the stored record `r`:
 *   - no record                          → created  (write the data, version 1)
 *   - `o` strictly newer than `r.lastSeen`:
 *       different content                → updated  (write the data, version + 1)
 *       same content                     → unchanged (touch `lastSeen*` only)
 *   - `o` is exactly `r.lastSeen`, same content → unchanged (a redelivery: nothing to write)
 *   - otherwise (`o` older, or the same key with other content) → stale (skipped, never written)
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './job-key.js';

export interface ObservationKey {
  /** ISO 8601 with milliseconds, as `Date.toISOString()` writes it (fixed width, so it sorts as text). */
  readonly observedAt: string;
  /** The fetch ID; time-sortable, unique per fetch. */
  readonly observationId: string;
  /** The revision of the parser rules that turned the raw object into records. */
  readonly parserRevision: number;
}

/** One validated record candidate, ready to be upserted. */
export interface Observation {
  readonly source: string;
  readonly entityId: string;
  readonly data: { readonly [key: string]: unknown };
  readonly contentHash: string;
  readonly observedAt: Date;
  /** Breaks ties between observations at the same instant (the fetch ID). */
  readonly observationId: string;
  readonly parserRevision: number;
  readonly rawKey: string;
  readonly traceId: string;
}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

/** What the store must write for an observation: all of the data, only the last-seen key, or nothing. */
export type UpsertWrite = 'data' | 'touch' | 'none';

export interface UpsertDecision {
  readonly outcome: UpsertOutcome;
  readonly write: UpsertWrite;
}

/** The part of a stored record the decision depends on. */
export interface StoredRecordHead {
  readonly contentHash: string;
  readonly lastSeen: ObservationKey;
}

/** A record's full state as the rules evolve it (the stored item minus its constant identity). */
export interface RecordState extends StoredRecordHead {
  readonly data: { readonly [key: string]: unknown };
  /** The observation that produced the current data. */
  readonly current: ObservationKey;
  readonly rawKey: string;
  readonly traceId: string;
  readonly version: number;
  readonly firstSeenAt: string;
}

export function recordKey(source: string, entityId: string): string {
  return `${source}#${entityId}`;
}

export function contentHashOf(data: unknown): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

export function observationKeyOf(observation: Observation): ObservationKey {
  return {
    observedAt: observation.observedAt.toISOString(),
    observationId: observation.observationId,
    parserRevision: observation.parserRevision,
  };
}

/** DynamoDB orders strings by their UTF-8 bytes; so does this, so the model and the table agree. */
function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Negative when `a` is older than `b`, positive when newer, 0 for the same observation and revision. */
export function compareObservationKeys(a: ObservationKey, b: ObservationKey): number {
  return (
    compareText(a.observedAt, b.observedAt) ||
    compareText(a.observationId, b.observationId) ||
    Math.sign(a.parserRevision - b.parserRevision)
  );
}

export function decideUpsert(
  stored: StoredRecordHead | undefined,
  incoming: { readonly contentHash: string; readonly key: ObservationKey },
): UpsertDecision {
  if (stored === undefined) return { outcome: 'created', write: 'data' };
  const order = compareObservationKeys(incoming.key, stored.lastSeen);
  const sameContent = incoming.contentHash === stored.contentHash;
  if (order > 0)
    return sameContent ? { outcome: 'unchanged', write: 'touch' } : { outcome: 'updated', write: 'data' };
  if (order === 0 && sameContent) return { outcome: 'unchanged', write: 'none' };
  return { outcome: 'stale', write: 'none' };
}

/** The record after `observation` has been applied to `stored` by the rules above. */
export function applyUpsert(
  stored: RecordState | undefined,
  observation: Observation,
): { readonly decision: UpsertDecision; readonly state: RecordState | undefined } {
  const key = observationKeyOf(observation);
  const decision = decideUpsert(stored, { contentHash: observation.contentHash, key });
  switch (decision.write) {
    case 'none':
      return { decision, state: stored };
    case 'touch':
      return { decision, state: stored === undefined ? undefined : { ...stored, lastSeen: key } };
    case 'data':
      return {
        decision,
        state: {
          data: observation.data,
          contentHash: observation.contentHash,
          current: key,
          lastSeen: key,
          rawKey: observation.rawKey,
          traceId: observation.traceId,
          version: (stored?.version ?? 0) + 1,
          firstSeenAt: stored?.firstSeenAt ?? key.observedAt,
        },
      };
  }
}

export interface FieldChange {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

function isPlainObject(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field-level differences between two records' data, nested objects flattened to dotted paths. */
export function diffData(before: unknown, after: unknown, prefix = ''): FieldChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return fields.flatMap((field) =>
      diffData(before[field], after[field], prefix ? `${prefix}.${field}` : field),
    );
  }
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  return [{ field: prefix || '(root)', before, after }];
}
