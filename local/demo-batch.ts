/** The demo batch `npm start` enqueues: jobs for both demo sources, deterministic for a run. */
import { randomUUID } from 'node:crypto';
import type { CollectJob } from '../functions/core/contracts.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, RATE_BOARDS } from './demo-site/data.js';

/** Every fifth job goes to the browser source; the rest page through the catalogue. */
export function demoBatch(count: number, runId: string, now: Date = new Date()): CollectJob[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`job count must be a positive integer, got ${count}`);
  return Array.from({ length: count }, (_, index): CollectJob => {
    const common = {
      jobId: `demo-${runId}-${String(index + 1).padStart(5, '0')}`,
      traceId: randomUUID(),
      requestedAt: now.toISOString(),
      priority: 'normal' as const,
    };
    if (index % 5 === 4) {
      const board = RATE_BOARDS[Math.floor(index / 5) % RATE_BOARDS.length] ?? 'majors';
      return { ...common, source: 'demo-rates', input: { board } };
    }
    const catalogIndex = index - Math.floor(index / 5);
    const category = CATALOG_CATEGORIES[catalogIndex % CATALOG_CATEGORIES.length] ?? 'tools';
    const page = (Math.floor(catalogIndex / CATALOG_CATEGORIES.length) % CATALOG_PAGES) + 1;
    return { ...common, source: 'demo-catalog', input: { category, page } };
  });
}
