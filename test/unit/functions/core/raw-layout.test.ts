import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extensionFor,
  fetchIdTime,
  fetchPrefix,
  jobDayPrefix,
  MANIFEST_NAME,
  newFetchId,
  parseRawKey,
} from '../../../../functions/core/raw-layout.js';

const LATEST_FOUR_DIGIT_YEAR = new Date('9999-12-31T23:59:59.999Z');

describe('fetchPrefix', () => {
  it('builds Hive-style source and dt partitions, then the job key and fetch ID', () => {
    const prefix = fetchPrefix('demo-catalog', new Date('2026-11-27T08:53:12.123Z'), 'id-order-42', 'f-1');

    expect(prefix).toBe('raw/source=demo-catalog/dt=2026-11-27/id-order-42/f-1/');
  });

  it('partitions by the UTC day of the observation', () => {
    const justBeforeUtcMidnight = new Date('2026-11-27T23:59:59.999-00:00');

    expect(fetchPrefix('demo-rates', justBeforeUtcMidnight, 'k', 'f')).toContain('/dt=2026-11-27/');
  });
});

describe('newFetchId', () => {
  it('starts with the compact UTC timestamp, to the millisecond, then the random suffix', () => {
    expect(newFetchId(new Date('2026-11-27T08:53:12.123Z'), () => '9f8e7d6c')).toBe(
      '20261127T085312123Z-9f8e7d6c',
    );
  });

  it('adds 8 hex characters of randomness by default', () => {
    expect(newFetchId(new Date('2026-11-27T08:53:12.123Z'))).toMatch(/^20261127T085312123Z-[0-9a-f]{8}$/);
  });

  it('sorts fetch IDs in the order of their times', () => {
    const date = fc.date({ min: new Date(0), max: LATEST_FOUR_DIGIT_YEAR, noInvalidDate: true });
    fc.assert(
      fc.property(
        date,
        date,
        fc.stringMatching(/^[0-9a-f]{8}$/),
        fc.stringMatching(/^[0-9a-f]{8}$/),
        (a, b, ra, rb) => {
          fc.pre(a.getTime() !== b.getTime());
          const [earlier, later] = a < b ? [a, b] : [b, a];

          expect(newFetchId(earlier, () => ra) < newFetchId(later, () => rb)).toBe(true);
        },
      ),
    );
  });
});

describe('parseRawKey', () => {
  it('reads every part of an artifact key', () => {
    expect(
      parseRawKey('raw/source=demo-catalog/dt=2026-11-27/id-order-42/20261127T085312123Z-9f8e7d6c/body.html'),
    ).toEqual({
      source: 'demo-catalog',
      day: '2026-11-27',
      jobKey: 'id-order-42',
      fetchId: '20261127T085312123Z-9f8e7d6c',
      name: 'body.html',
    });
  });

  it('reads back every key fetchPrefix builds', () => {
    const source = fc.stringMatching(/^[a-z][a-z0-9-]{1,40}$/);
    const jobKey = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/).map((id) => `id-${id}`),
      fc.stringMatching(/^[0-9a-f]{32}$/).map((hex) => `h-${hex}`),
    );
    const observedAt = fc.date({ min: new Date(0), max: LATEST_FOUR_DIGIT_YEAR, noInvalidDate: true });
    const suffix = fc.stringMatching(/^[0-9a-f]{8}$/);
    const name = fc.oneof(fc.constant(MANIFEST_NAME), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,40}$/));

    fc.assert(
      fc.property(source, jobKey, observedAt, suffix, name, (s, k, at, random, n) => {
        const fetchId = newFetchId(at, () => random);

        const parsed = parseRawKey(`${fetchPrefix(s, at, k, fetchId)}${n}`);

        expect(parsed).toEqual({
          source: s,
          day: at.toISOString().slice(0, 10),
          jobKey: k,
          fetchId,
          name: n,
        });
      }),
    );
  });

  it.each([
    ['a key outside raw/', 'processed/source=demo-catalog/dt=2026-11-27/k/f/body.html'],
    ['a source that is not lowercase', 'raw/source=Demo/dt=2026-11-27/k/f/body.html'],
    ['a day that is not yyyy-mm-dd', 'raw/source=demo-catalog/dt=20261127/k/f/body.html'],
    ['a missing fetch ID', 'raw/source=demo-catalog/dt=2026-11-27/k/body.html'],
    ['an extra path segment', 'raw/source=demo-catalog/dt=2026-11-27/k/f/sub/body.html'],
    ['a prefix with no object name', 'raw/source=demo-catalog/dt=2026-11-27/k/f/'],
  ])('rejects %s', (_, key) => {
    expect(parseRawKey(key)).toBeUndefined();
  });
});

describe('extensionFor', () => {
  it.each([
    ['text/html; charset=utf-8', 'html'],
    ['TEXT/HTML', 'html'],
    ['application/json', 'json'],
    ['application/ld+json', 'json'],
    ['application/problem+json; charset=utf-8', 'json'],
    ['text/csv', 'csv'],
    ['text/plain', 'txt'],
    ['image/png', 'png'],
    ['application/xml', 'xml'],
    ['application/atom+xml', 'xml'],
    ['text/xml', 'xml'],
    ['application/octet-stream', 'bin'],
    ['', 'bin'],
    [undefined, 'bin'],
  ])('names %j files .%s', (contentType, extension) => {
    expect(extensionFor(contentType)).toBe(extension);
  });
});

describe('jobDayPrefix', () => {
  it('is the part of every fetch prefix of a job on that day, before the fetch ID', () => {
    const at = new Date('2026-11-27T23:59:59.999Z');

    expect(jobDayPrefix('demo-catalog', at, 'id-order-42')).toBe(
      'raw/source=demo-catalog/dt=2026-11-27/id-order-42/',
    );
    expect(
      fetchPrefix('demo-catalog', at, 'id-order-42', 'f-1').startsWith(
        jobDayPrefix('demo-catalog', at, 'id-order-42'),
      ),
    ).toBe(true);
  });
});

describe('fetchIdTime', () => {
  it('reads back the time any fetch ID was made at', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00.000Z'),
          max: LATEST_FOUR_DIGIT_YEAR,
          noInvalidDate: true,
        }),
        (at) => {
          expect(fetchIdTime(newFetchId(at))).toEqual(at);
        },
      ),
    );
  });

  it.each(['f-1', 'fetch-1', '20261127T0853Z-abcd', ''])(
    'is undefined for %j, which no fetch ID looks like',
    (id) => {
      expect(fetchIdTime(id)).toBeUndefined();
    },
  );
});
