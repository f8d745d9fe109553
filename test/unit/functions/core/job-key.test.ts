import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, deriveJobKey } from '../../../../functions/core/job-key.js';

/** The same JSON value with the keys of every object in reverse insertion order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  // Object.fromEntries defines own properties, so a generated `__proto__` key stays a plain key.
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reverseKeys(v)]),
  );
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth', () => {
    const text = canonicalJson({ b: 1, a: { d: [{ z: true, y: null }], c: 'x' } });

    expect(text).toBe('{"a":{"c":"x","d":[{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same text for values that differ only in key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(reverseKeys(value))).toBe(canonicalJson(value));
      }),
    );
  });

  it('keeps array order, which is meaningful', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('leaves out keys whose value is undefined, as JSON.stringify does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('refuses a value JSON cannot encode', () => {
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });
});

describe('deriveJobKey', () => {
  const HOUR = 3600;
  const options = { dedupeWindowSeconds: HOUR, fallbackRequestedAt: new Date('2026-11-27T10:15:00.000Z') };
  const job = {
    source: 'demo-catalog',
    input: { category: 'tools', page: 3 },
    requestedAt: '2026-11-27T10:15:00.000Z',
  };

  it('uses the upstream jobId when the job carries one', () => {
    expect(deriveJobKey({ ...job, jobId: 'order-42' }, options)).toBe('id-order-42');
  });

  it('uses the jobId even when the dedupe window is unusable', () => {
    expect(deriveJobKey({ ...job, jobId: 'order-42' }, { ...options, dedupeWindowSeconds: 0 })).toBe(
      'id-order-42',
    );
  });

  it('derives a hash key when the job has no jobId', () => {
    expect(deriveJobKey(job, options)).toMatch(/^h-[0-9a-f]{32}$/);
  });

  it('gives the same key for inputs that differ only in key order', () => {
    const reordered = { ...job, input: { page: 3, category: 'tools' } };

    expect(deriveJobKey(reordered, options)).toBe(deriveJobKey(job, options));
  });

  it('gives a different key for a different input', () => {
    const other = { ...job, input: { category: 'tools', page: 4 } };

    expect(deriveJobKey(other, options)).not.toBe(deriveJobKey(job, options));
  });

  it('gives a different key for the same input to a different source', () => {
    const other = { ...job, source: 'demo-rates' };

    expect(deriveJobKey(other, options)).not.toBe(deriveJobKey(job, options));
  });

  it('gives one key to identical jobs requested at the start and the last millisecond of a window', () => {
    const first = { ...job, requestedAt: '2026-11-27T10:00:00.000Z' };
    const last = { ...job, requestedAt: '2026-11-27T10:59:59.999Z' };

    expect(deriveJobKey(last, options)).toBe(deriveJobKey(first, options));
  });

  it('gives a new key to an identical job requested as the next window starts', () => {
    const last = { ...job, requestedAt: '2026-11-27T10:59:59.999Z' };
    const next = { ...job, requestedAt: '2026-11-27T11:00:00.000Z' };

    expect(deriveJobKey(next, options)).not.toBe(deriveJobKey(last, options));
  });

  it('gives a different key for the same request under a different dedupe window length', () => {
    expect(deriveJobKey(job, { ...options, dedupeWindowSeconds: 900 })).not.toBe(deriveJobKey(job, options));
  });

  it('reads requestedAt with a UTC offset as the same instant', () => {
    const withOffset = { ...job, requestedAt: '2026-11-27T12:15:00.000+02:00' };

    expect(deriveJobKey(withOffset, options)).toBe(deriveJobKey(job, options));
  });

  it('falls back to fallbackRequestedAt when the job has no requestedAt', () => {
    const withoutRequestedAt = { source: job.source, input: job.input };
    const fallbackInSameWindow = { ...options, fallbackRequestedAt: new Date('2026-11-27T10:45:00.000Z') };

    expect(deriveJobKey(withoutRequestedAt, fallbackInSameWindow)).toBe(deriveJobKey(job, options));
  });

  it('ignores fallbackRequestedAt when the job has its own requestedAt', () => {
    const fallbackNextDay = { ...options, fallbackRequestedAt: new Date('2026-11-28T10:15:00.000Z') };

    expect(deriveJobKey(job, fallbackNextDay)).toBe(deriveJobKey(job, options));
  });

  it.each([0, -60, 1.5, Number.NaN])('refuses a dedupe window of %s seconds', (dedupeWindowSeconds) => {
    expect(() => deriveJobKey(job, { ...options, dedupeWindowSeconds })).toThrow(RangeError);
  });

  it('refuses a requestedAt that is not a time', () => {
    expect(() => deriveJobKey({ ...job, requestedAt: 'yesterday' }, options)).toThrow(RangeError);
  });
});
