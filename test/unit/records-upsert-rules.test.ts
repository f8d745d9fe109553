/**
 * The upsert rules (functions/core/record-upsert.ts), example by example and then against the
 * model in test/support/records-model.ts over many generated histories. The same model is held
 * against the real DynamoDB adapter and moto in test/integration/records-upsert-property.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyUpsert,
  compareObservationKeys,
  decideUpsert,
  diffData,
  type ObservationKey,
  type RecordState,
} from '../../functions/core/record-upsert.js';
import {
  entitiesOf,
  expectedRecord,
  type History,
  histories,
  inOrder,
  keyOf,
  newestOf,
  observationOf,
  versionsInObservationOrder,
} from '../support/records-model.js';

const at = (observedAt: string, observationId = 'f1', parserRevision = 1): ObservationKey => ({
  observedAt,
  observationId,
  parserRevision,
});
const T1 = '2026-11-01T08:00:00.000Z';
const T2 = '2026-11-01T09:00:00.000Z';

describe('decideUpsert', () => {
  it('creates a record that does not exist', () => {
    expect(decideUpsert(undefined, { contentHash: 'a', key: at(T1) })).toEqual({
      outcome: 'created',
      write: 'data',
    });
  });

  it('replaces the data for a strictly newer observation with different content', () => {
    const stored = { contentHash: 'a', lastSeen: at(T1) };
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T2) })).toEqual({
      outcome: 'updated',
      write: 'data',
    });
  });

  it('only touches the last-seen key for a newer observation of the same content', () => {
    const stored = { contentHash: 'a', lastSeen: at(T1) };
    expect(decideUpsert(stored, { contentHash: 'a', key: at(T2) })).toEqual({
      outcome: 'unchanged',
      write: 'touch',
    });
  });

  it('writes nothing for a redelivery of the newest observation', () => {
    const stored = { contentHash: 'a', lastSeen: at(T2) };
    expect(decideUpsert(stored, { contentHash: 'a', key: at(T2) })).toEqual({
      outcome: 'unchanged',
      write: 'none',
    });
  });

  it('skips an older observation that arrives late, whatever its content', () => {
    const stored = { contentHash: 'a', lastSeen: at(T2) };
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T1) })).toEqual({
      outcome: 'stale',
      write: 'none',
    });
    expect(decideUpsert(stored, { contentHash: 'a', key: at(T1) })).toEqual({
      outcome: 'stale',
      write: 'none',
    });
  });

  it('breaks a tie at the same instant by the observation ID', () => {
    const stored = { contentHash: 'a', lastSeen: at(T1, '20261101T080000000Z-aaaa') };
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T1, '20261101T080000000Z-bbbb') }).outcome).toBe(
      'updated',
    );
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T1, '20261101T080000000Z-0000') }).outcome).toBe(
      'stale',
    );
  });

  it('lets a higher parser revision rewrite a record made from the same observation', () => {
    const stored = { contentHash: 'a', lastSeen: at(T1, 'f1', 1) };
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T1, 'f1', 2) }).outcome).toBe('updated');
    expect(
      decideUpsert({ ...stored, lastSeen: at(T1, 'f1', 2) }, { contentHash: 'a', key: at(T1, 'f1', 1) })
        .outcome,
    ).toBe('stale');
  });

  it('treats the same observation with other content (a non-deterministic parser) as stale', () => {
    const stored = { contentHash: 'a', lastSeen: at(T1) };
    expect(decideUpsert(stored, { contentHash: 'b', key: at(T1) })).toEqual({
      outcome: 'stale',
      write: 'none',
    });
  });
});

describe('compareObservationKeys', () => {
  it('orders observation IDs by their UTF-8 bytes, as DynamoDB does', () => {
    // U+FF5E sorts below U+1F600 in UTF-8 but above its surrogate pair in UTF-16.
    expect(compareObservationKeys(at(T1, '\uff5e'), at(T1, '\u{1f600}'))).toBeLessThan(0);
  });
});

describe('applyUpsert', () => {
  it('keeps the lineage of the current data when only the last-seen key moves', () => {
    const first = observationOf({ entity: 0, minute: 0, fetch: 'a', revision: 1, content: 'A' }, 's', 'x');
    const later = observationOf({ entity: 0, minute: 3, fetch: 'a', revision: 1, content: 'A' }, 's', 'x');
    const created = applyUpsert(undefined, first).state;
    const touched = applyUpsert(created, later).state as RecordState;
    expect(touched.current).toEqual(keyOf({ entity: 0, minute: 0, fetch: 'a', revision: 1, content: 'A' }));
    expect(touched.lastSeen.observedAt).toBe(later.observedAt.toISOString());
    expect(touched.rawKey).toBe(first.rawKey);
    expect(touched.version).toBe(1);
  });
});

describe('diffData', () => {
  it('lists changed fields by dotted path and ignores equal ones', () => {
    expect(
      diffData({ a: 1, b: { c: 'x', d: [1, 2] }, e: true }, { a: 1, b: { c: 'y', d: [1, 2] }, f: 'new' }),
    ).toEqual([
      { field: 'b.c', before: 'x', after: 'y' },
      { field: 'e', before: true, after: undefined },
      { field: 'f', before: undefined, after: 'new' },
    ]);
  });
});

/** Folds the rules over every arrival, per entity, as a store applying them one by one would. */
function replayRules(history: History) {
  const states = new Map<number, RecordState | undefined>();
  const outcomes = new Map<number, string[]>();
  for (const arrival of history.arrivals) {
    const { decision, state } = applyUpsert(states.get(arrival.entity), observationOf(arrival, 'model', 'p'));
    states.set(arrival.entity, state);
    outcomes.set(arrival.entity, [...(outcomes.get(arrival.entity) ?? []), decision.outcome]);
  }
  return { states, outcomes };
}

describe('the upsert rules against the model (fast-check)', () => {
  it('leave every record equal to its newest observation, with the model version, for any arrival order', () => {
    fc.assert(
      fc.property(histories({ maxObservations: 14 }), (history) => {
        const { states, outcomes } = replayRules(history);
        for (const entity of entitiesOf(history)) {
          const arrivals = history.arrivals.filter((o) => o.entity === entity);
          const observations = history.observations.filter((o) => o.entity === entity);
          const expected = expectedRecord(arrivals);
          const state = states.get(entity);
          const newest = newestOf(observations);
          expect(state?.data).toEqual(observationOf(newest, 'model', 'p').data);
          expect(state?.lastSeen).toEqual(keyOf(newest));
          expect(state?.version).toBe(expected.version);
          expect(state?.current).toEqual(expected.current);
          expect(state?.firstSeenAt).toBe(expected.firstSeenAt);
          expect(outcomes.get(entity)).toEqual(expected.outcomes);
          expect(state?.version).toBeLessThanOrEqual(versionsInObservationOrder(observations));
        }
      }),
      { seed: 20261127, numRuns: 2000 },
    );
  });

  it('count every content change in observation order when observations arrive in order', () => {
    fc.assert(
      fc.property(histories({ maxObservations: 14 }).map(inOrder), (history) => {
        const { states } = replayRules(history);
        for (const entity of entitiesOf(history)) {
          const observations = history.observations.filter((o) => o.entity === entity);
          expect(states.get(entity)?.version).toBe(versionsInObservationOrder(observations));
        }
      }),
      { seed: 4711, numRuns: 1000 },
    );
  });
});
