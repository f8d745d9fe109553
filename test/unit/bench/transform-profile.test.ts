/**
 * The transform benchmark times the stores through wrappers; a wrapper that dropped an argument
 * once made every benchmarked record pay a refused write the real transform never pays.
 */
import { describe, expect, it } from 'vitest';
import { profiledStores } from '../../../bench/transform.js';
import type { Observation } from '../../../functions/core/record-upsert.js';
import { InMemoryRawStore, InMemoryRecordStore } from '../../support/transform-fakes.js';

const observation: Observation = {
  source: 'unit-items',
  entityId: 'I-1',
  data: { id: 'I-1', qty: 1 },
  contentHash: 'hash-1',
  observedAt: new Date('2026-11-27T08:00:00.000Z'),
  observationId: 'fetch-1',
  parserRevision: 1,
  rawKey: 'raw/source=unit-items/x/response.bin',
  traceId: 'trace-1',
};

describe('the transform benchmark profiled stores', () => {
  it('pass the upsert options through to the record store', async () => {
    const records = new InMemoryRecordStore();
    const { recordStore } = profiledStores(new InMemoryRawStore(), records);

    await recordStore.upsert(observation, { firstAttempt: 'data' });

    expect(records.upserts.map((u) => u.options)).toEqual([{ firstAttempt: 'data' }]);
  });

  it('return what the raw store returns', async () => {
    const raw = new InMemoryRawStore();
    await raw.put('raw/a/manifest.json', Buffer.from('{}'), {
      contentType: 'application/json',
      metadata: {},
    });
    const { rawStore } = profiledStores(raw, new InMemoryRecordStore());

    expect((await rawStore.get('raw/a/manifest.json')).body.toString()).toBe('{}');
  });
});
