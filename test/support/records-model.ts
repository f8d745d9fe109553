/**
 * The specification the upsert property tests hold the code to, written from the definition and
 * not from the code, plus the fast-check generators of observation histories.
 *
 * An observation is identified by (observedAt, observationId, parserRevision); the same
 * observation always carries the same content. Observations of a few entities arrive in any
 * order, any number of times, interleaved across entities.
 *
 * The model. For one entity, let the arrival sequence be o1..on and call oi *accepted* when it is
 * strictly newer than every observation that arrived before it (a strict prefix maximum). Then:
 *   - the record's data is the content of the newest observation that arrived (always accepted);
 *   - `lastSeen` is that newest observation; `current` (observedAt/observationId/parserRevision,
 *     the lineage of the data) is the first accepted observation of the final run of equal content;
 *   - `version` = 1 + the number of content changes between consecutive accepted observations.
 * Observations that are not accepted are never written (older ones count as stale, a repeat of
 * the newest as unchanged). So `version` counts the content changes the record actually went
 * through; it equals 1 + the content changes in observation order whenever observations arrive
 * in order (duplicates allowed), and never exceeds it otherwise — a late observation cannot add a
 * version after the fact, because that would mean writing an older observation.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Observation, ObservationKey, UpsertOutcome } from '../../functions/core/record-upsert.js';

export interface ObservationSpec {
  readonly entity: number;
  /** Minutes after the epoch of the history; few values, so ties are common. */
  readonly minute: number;
  /** Two fetches at the same instant differ by their ID. */
  readonly fetch: 'a' | 'b';
  readonly revision: number;
  readonly content: 'A' | 'B' | 'C';
}

export interface History {
  readonly observations: readonly ObservationSpec[];
  /** Every observation at least once, some several times, in any order. */
  readonly arrivals: readonly ObservationSpec[];
}

const EPOCH = Date.UTC(2026, 10, 1, 8, 0, 0);

export function keyOf(spec: ObservationSpec): ObservationKey {
  return {
    observedAt: new Date(EPOCH + spec.minute * 60_000).toISOString(),
    observationId: `20261101T0800-${spec.fetch}`,
    parserRevision: spec.revision,
  };
}

export function dataOf(spec: Pick<ObservationSpec, 'entity' | 'content'>): { [key: string]: unknown } {
  return { entity: `e${spec.entity}`, value: spec.content, nested: { grade: spec.content.toLowerCase() } };
}

/**
 * The model's own content hash: equal exactly when entity and content are, which is all the
 * rules need of one. Not the core's contentHashOf, so the model does not borrow what it checks.
 */
export function contentHashOfSpec(spec: Pick<ObservationSpec, 'entity' | 'content'>): string {
  return createHash('sha256').update(`entity ${spec.entity} content ${spec.content}`).digest('hex');
}

/**
 * The model's order of observations, straight from the definition: the later minute is newer;
 * at the same instant the later fetch (`b` after `a`, as their IDs sort); for the same fetch the
 * higher parser revision. Negative when `a` is older than `b`, 0 for the same observation.
 */
export function compareSpecs(a: ObservationSpec, b: ObservationSpec): number {
  return (
    Math.sign(a.minute - b.minute) ||
    (a.fetch === b.fetch ? 0 : a.fetch < b.fetch ? -1 : 1) ||
    Math.sign(a.revision - b.revision)
  );
}

/** The observation a spec stands for; `entityPrefix` keeps every run of a property on fresh keys. */
export function observationOf(spec: ObservationSpec, source: string, entityPrefix: string): Observation {
  const key = keyOf(spec);
  const data = dataOf(spec);
  return {
    source,
    entityId: `${entityPrefix}-e${spec.entity}`,
    data,
    contentHash: contentHashOfSpec(spec),
    observedAt: new Date(key.observedAt),
    observationId: key.observationId,
    parserRevision: key.parserRevision,
    rawKey: `raw/source=${source}/dt=2026-11-01/job/${key.observationId}/response.json`,
    traceId: `trace-${spec.fetch}-${spec.minute}-${spec.revision}`,
  };
}

const observationSpec = fc.record({
  entity: fc.integer({ min: 0, max: 2 }),
  minute: fc.integer({ min: 0, max: 4 }),
  fetch: fc.constantFrom<'a' | 'b'>('a', 'b'),
  revision: fc.integer({ min: 1, max: 2 }),
  content: fc.constantFrom<'A' | 'B' | 'C'>('A', 'B', 'C'),
});

/** Distinct observations of up to three entities, each delivered one to three times, shuffled. */
export function histories(options: { readonly maxObservations: number }): fc.Arbitrary<History> {
  return fc
    .uniqueArray(observationSpec, {
      minLength: 1,
      maxLength: options.maxObservations,
      selector: (o) => `${o.entity}|${o.minute}|${o.fetch}|${o.revision}`,
    })
    .chain((observations) =>
      fc
        .array(fc.integer({ min: 1, max: 3 }), {
          minLength: observations.length,
          maxLength: observations.length,
        })
        .chain((copies) => {
          const deliveries = observations.flatMap((o, i) => Array.from({ length: copies[i] ?? 1 }, () => o));
          return fc
            .shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length })
            .map((arrivals) => ({ observations, arrivals }));
        }),
    );
}

/** Arrival in observation order, duplicates adjacent: the case the wording describes. */
export function inOrder(history: History): History {
  const arrivals = [...history.arrivals].sort(compareSpecs);
  return { observations: history.observations, arrivals };
}

export interface ExpectedRecord {
  readonly content: ObservationSpec['content'];
  readonly version: number;
  readonly current: ObservationKey;
  readonly lastSeen: ObservationKey;
  /** First seen: the observation that created the record (the first to arrive). */
  readonly firstSeenAt: string;
  readonly outcomes: readonly UpsertOutcome[];
}

/** The model above, for the arrivals of one entity. */
export function expectedRecord(arrivals: readonly ObservationSpec[]): ExpectedRecord {
  const [first] = arrivals;
  if (first === undefined) throw new Error('expectedRecord needs at least one arrival');
  const accepted: ObservationSpec[] = [];
  const outcomes: UpsertOutcome[] = [];
  for (const arrival of arrivals) {
    const newest = accepted.at(-1);
    const order = newest === undefined ? 1 : compareSpecs(arrival, newest);
    if (order > 0) {
      accepted.push(arrival);
      const previous = accepted.at(-2);
      outcomes.push(
        previous === undefined ? 'created' : previous.content === arrival.content ? 'unchanged' : 'updated',
      );
    } else {
      outcomes.push(order === 0 ? 'unchanged' : 'stale');
    }
  }
  let version = 1;
  let runStart = 0;
  for (let i = 1; i < accepted.length; i += 1) {
    if (accepted[i]?.content !== accepted[i - 1]?.content) {
      version += 1;
      runStart = i;
    }
  }
  const newest = accepted.at(-1) ?? first;
  return {
    content: newest.content,
    version,
    current: keyOf(accepted[runStart] ?? first),
    lastSeen: keyOf(newest),
    firstSeenAt: keyOf(first).observedAt,
    outcomes,
  };
}

/** 1 + the content changes along all distinct observations of one entity, in observation order. */
export function versionsInObservationOrder(observations: readonly ObservationSpec[]): number {
  const sorted = [...observations].sort(compareSpecs);
  return sorted.reduce(
    (count, o, i) => (i > 0 && sorted[i - 1]?.content !== o.content ? count + 1 : count),
    1,
  );
}

/** The newest observation of one entity, by key, regardless of arrival. */
export function newestOf(observations: readonly ObservationSpec[]): ObservationSpec {
  const sorted = [...observations].sort(compareSpecs);
  const newest = sorted.at(-1);
  if (newest === undefined) throw new Error('newestOf needs at least one observation');
  return newest;
}

export function entitiesOf(history: History): number[] {
  return [...new Set(history.observations.map((o) => o.entity))].sort();
}
