import { describe, expect, it } from 'vitest';
import { CollectJob } from '../../../functions/core/contracts.js';
import { demoBatch } from '../../../local/demo-batch.js';
import { findSource } from '../../../sources/registry.js';

const NOW = new Date('2026-11-27T08:00:00.000Z');

describe('demoBatch', () => {
  it.each([0, -1, 2.5, Number.NaN])('refuses a job count of %s', (count) => {
    expect(() => demoBatch(count, 'run1', NOW)).toThrow(RangeError);
  });

  it('makes exactly the number of jobs asked for', () => {
    expect(demoBatch(37, 'run1', NOW)).toHaveLength(37);
  });

  it('spreads every five jobs over the demo sources: catalogue pages, inventory, rates, and shipments once', () => {
    const sources = demoBatch(10, 'run1', NOW).map((job) => job.source);

    expect(sources).toEqual([
      ...['demo-catalog', 'demo-catalog', 'demo-shipments', 'demo-inventory', 'demo-rates'],
      ...['demo-catalog', 'demo-catalog', 'demo-catalog', 'demo-inventory', 'demo-rates'],
    ]);
  });

  it('asks for shipments once, from page 1: that one job follows every next page itself', () => {
    const shipments = demoBatch(50, 'run1', NOW).filter((job) => job.source === 'demo-shipments');

    expect(shipments.map((job) => job.input)).toEqual([{ page: 1 }]);
  });

  it('makes jobs that are valid CollectJobs', () => {
    for (const job of demoBatch(50, 'run1', NOW)) {
      expect(CollectJob.safeParse(job).error).toBeUndefined();
    }
  });

  it("makes inputs that are valid for their source's input schema", () => {
    for (const job of demoBatch(500, 'run1', NOW)) {
      const source = findSource(job.source);

      expect(source?.input.safeParse(job.input).error).toBeUndefined();
    }
  });

  it('gives every job a unique jobId', () => {
    const jobIds = demoBatch(1000, 'run1', NOW).map((job) => job.jobId);

    expect(new Set(jobIds).size).toBe(1000);
  });

  it('puts the run ID in every jobId, so two runs never share a job key', () => {
    const first = demoBatch(10, 'run1', NOW).map((job) => job.jobId);
    const second = new Set(demoBatch(10, 'run2', NOW).map((job) => job.jobId));

    expect(first.filter((id) => second.has(id))).toEqual([]);
  });

  it('stamps every job with the given request time', () => {
    const times = new Set(demoBatch(10, 'run1', NOW).map((job) => job.requestedAt));

    expect([...times]).toEqual([NOW.toISOString()]);
  });

  it('pages through every catalogue category before repeating one', () => {
    const catalogJobs = demoBatch(12, 'run1', NOW)
      .filter((job) => job.source === 'demo-catalog')
      .slice(0, 5);

    expect(catalogJobs.map((job) => job.input)).toEqual([
      { category: 'tools', page: 1 },
      { category: 'garden', page: 1 },
      { category: 'kitchen', page: 1 },
      { category: 'toys', page: 1 },
      { category: 'books', page: 1 },
    ]);
  });
});
