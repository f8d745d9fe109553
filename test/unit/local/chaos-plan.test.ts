/** The chaos run's plan and rates: reproducible from the seed, every planned fault present, rates validated. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS_RATES, POISON_KINDS, parseRates, planChaosRun } from '../../../local/chaos/plan.js';
import { findSource } from '../../../sources/registry.js';

describe('planChaosRun', () => {
  const plan = planChaosRun({ jobs: 1000, seed: 's1', rates: DEFAULT_CHAOS_RATES });

  it('plans the same run for the same seed, and another for another seed', () => {
    const again = planChaosRun({ jobs: 1000, seed: 's1', rates: DEFAULT_CHAOS_RATES });
    const other = planChaosRun({ jobs: 1000, seed: 's2', rates: DEFAULT_CHAOS_RATES });

    expect(again).toEqual(plan);
    expect(other.jobs.filter((j) => j.layoutChanged).map((j) => j.index)).not.toEqual(
      plan.jobs.filter((j) => j.layoutChanged).map((j) => j.index),
    );
  });

  it('spreads jobs over every demo source, each with a valid input and its own job ID and trace ID', () => {
    const bySource = new Map<string, number>();
    for (const { source, job } of plan.jobs) {
      bySource.set(source, (bySource.get(source) ?? 0) + 1);
      expect(findSource(source)?.input.safeParse(job.input).success).toBe(true);
    }

    expect([...bySource.keys()].sort()).toEqual([
      'demo-catalog',
      'demo-inventory',
      'demo-portal',
      'demo-rates',
      'demo-shipments',
    ]);
    expect(new Set(plan.jobs.map((j) => j.job.jobId)).size).toBe(1000);
    expect(new Set(plan.jobs.map((j) => j.job.traceId)).size).toBe(1000);
  });

  it('plans crashes early in each source’s share and never for a job planned to fail', () => {
    const crashed = plan.jobs.filter((j) => j.crash !== undefined);

    expect(crashed.length).toBe(Math.ceil(DEFAULT_CHAOS_RATES.collectorCrash * 1000));
    expect(new Set(crashed.map((j) => j.crash))).toEqual(new Set(['after-raw', 'after-ledger']));
    for (const job of crashed) {
      expect(job.permanent).toBeUndefined();
      expect(job.index).toBeLessThan(0.35 * 1000);
    }
  });

  it('plans every poison kind, and at least one of each planned per-job fault even in a small run', () => {
    const small = planChaosRun({ jobs: 12, seed: 's1', rates: DEFAULT_CHAOS_RATES });

    expect(new Set(small.poison.map((p) => p.kind))).toEqual(new Set(POISON_KINDS));
    expect(small.jobs.some((j) => j.layoutChanged)).toBe(true);
    expect(small.jobs.some((j) => j.crash !== undefined)).toBe(true);
    expect(small.jobs.some((j) => j.resendAfterSeconds !== undefined)).toBe(true);
  });

  it('keeps HTTP jobs only among the crashes when browser crashes are off', () => {
    const httpOnly = planChaosRun({
      jobs: 200,
      seed: 's1',
      rates: DEFAULT_CHAOS_RATES,
      crashBrowserJobs: false,
    });

    for (const job of httpOnly.jobs.filter((j) => j.crash !== undefined)) {
      expect(findSource(job.source)?.kind).toBe('http');
    }
  });
});

describe('parseRates', () => {
  it('overrides the named rates and keeps the rest', () => {
    const rates = parseRates('site.hang=0.2, collectorCrash=0');

    expect(rates.site.hang).toBe(0.2);
    expect(rates.collectorCrash).toBe(0);
    expect(rates.site.serverError).toBe(DEFAULT_CHAOS_RATES.site.serverError);
  });

  it('refuses an unknown name and a rate outside [0, 1], naming them', () => {
    expect(() => parseRates('site.typo=0.1')).toThrow(/unknown rate "site.typo"/);
    expect(() => parseRates('site.hang=2')).toThrow(/site.hang must be a number in \[0, 1\], got "2"/);
    expect(() => parseRates('site.hang=')).toThrow(/site.hang/);
  });
});
