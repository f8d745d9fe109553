import { describe, expect, it } from 'vitest';
import { assessSources } from '../../../../functions/core/freshness.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const catalog = { name: 'demo-catalog', freshnessSlaMinutes: 60 };
const rates = { name: 'demo-rates', freshnessSlaMinutes: 360 };
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

describe('assessSources', () => {
  it('measures data age from the newest observation, in whole seconds', () => {
    const [health] = assessSources(
      [catalog],
      new Map([['demo-catalog', new Date('2026-11-27T11:59:30.400Z')]]),
      [],
      NOW,
    );

    expect(health).toMatchObject({
      source: 'demo-catalog',
      dataAgeSeconds: 29,
      slaSeconds: 3600,
      stale: false,
    });
  });

  it('calls data older than the SLA stale', () => {
    const [health] = assessSources([catalog], new Map([['demo-catalog', minutesAgo(61)]]), [], NOW);

    expect(health).toMatchObject({ dataAgeSeconds: 3660, stale: true });
  });

  it('calls data exactly at the SLA fresh', () => {
    const [health] = assessSources([catalog], new Map([['demo-catalog', minutesAgo(60)]]), [], NOW);

    expect(health?.stale).toBe(false);
  });

  it('calls a source with no records stale, with no age rather than zero', () => {
    const [health] = assessSources([catalog], new Map(), [], NOW);

    expect(health).toMatchObject({ dataAgeSeconds: undefined, newestObservedAt: undefined, stale: true });
  });

  it("counts each source's open hand-off tasks and the age of the oldest", () => {
    const health = assessSources(
      [catalog, rates],
      new Map(),
      [
        { source: 'demo-rates', createdAt: minutesAgo(10) },
        { source: 'demo-rates', createdAt: minutesAgo(90) },
        { source: 'other', createdAt: minutesAgo(500) },
      ],
      NOW,
    );

    expect(health.map((h) => [h.source, h.handoffBacklog, h.oldestHandoffAgeSeconds])).toEqual([
      ['demo-catalog', 0, 0],
      ['demo-rates', 2, 5400],
    ]);
  });

  it('never reports a negative age for an observation stamped in the future (clock skew)', () => {
    const [health] = assessSources([catalog], new Map([['demo-catalog', minutesAgo(-2)]]), [], NOW);

    expect(health?.dataAgeSeconds).toBe(0);
  });

  describe('a source with no records yet', () => {
    it('ages from when it was first tracked: a fresh deploy is fresh', () => {
      const [health] = assessSources(
        [catalog],
        new Map(),
        [],
        NOW,
        new Map([['demo-catalog', minutesAgo(5)]]),
      );

      expect(health).toMatchObject({ dataAgeSeconds: 300, ageFrom: 'tracked-since', stale: false });
    });

    it('goes stale once it has delivered nothing for its SLA', () => {
      const [health] = assessSources(
        [catalog],
        new Map(),
        [],
        NOW,
        new Map([['demo-catalog', minutesAgo(61)]]),
      );

      expect(health).toMatchObject({ dataAgeSeconds: 3660, stale: true });
    });
  });

  it('ages from the newest observation once there is one after tracking began', () => {
    const [health] = assessSources(
      [catalog],
      new Map([['demo-catalog', minutesAgo(10)]]),
      [],
      NOW,
      new Map([['demo-catalog', minutesAgo(600)]]),
    );

    expect(health).toMatchObject({ dataAgeSeconds: 600, ageFrom: 'newest-observation' });
  });

  it('ages from tracking when the only observation is older (a backfill before the source was tracked)', () => {
    const [health] = assessSources(
      [catalog],
      new Map([['demo-catalog', minutesAgo(900)]]),
      [],
      NOW,
      new Map([['demo-catalog', minutesAgo(20)]]),
    );

    expect(health).toMatchObject({ dataAgeSeconds: 1200, ageFrom: 'tracked-since', stale: false });
  });

  it('measures ages in local time when time runs faster', () => {
    const [health] = assessSources(
      [catalog],
      new Map([['demo-catalog', new Date(NOW.getTime() - 90_000)]]),
      [{ source: 'demo-catalog', createdAt: new Date(NOW.getTime() - 30_000) }],
      NOW,
      new Map(),
      { timeScale: 1 / 60 },
    );

    expect(health).toMatchObject({ dataAgeSeconds: 5400, stale: true, handoffAgesSeconds: [1800] });
  });
});
