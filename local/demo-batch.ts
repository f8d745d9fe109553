/** The demo batch `npm start` enqueues: jobs for every demo source, deterministic for a run. */
import { randomUUID } from 'node:crypto';
import type { CollectJob } from '../functions/core/contracts.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, RATE_BOARDS } from './demo-site/data.js';
import { INVENTORY_WAREHOUSES } from './demo-site/exports.js';

/**
 * In every five jobs: two catalogue pages (HTML), an inventory export (CSV), a rates board
 * (browser) and, in the first five only, one shipments job — it asks for page 1 and follows every
 * next page of the API (JSON with 429s) by itself; the later rounds' fifth slot is another
 * catalogue page.
 */
export function demoBatch(count: number, runId: string, now: Date = new Date()): CollectJob[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`job count must be a positive integer, got ${count}`);
  let catalogPages = 0;
  return Array.from({ length: count }, (_, index): CollectJob => {
    const common = {
      jobId: `demo-${runId}-${String(index + 1).padStart(5, '0')}`,
      traceId: randomUUID(),
      requestedAt: now.toISOString(),
      priority: 'normal' as const,
    };
    const round = Math.floor(index / 5);
    // After the first round, the shipments slot is another catalogue page.
    const slot = index % 5 === 2 && round > 0 ? 0 : index % 5;
    switch (slot) {
      case 4: {
        const board = RATE_BOARDS[round % RATE_BOARDS.length] ?? 'majors';
        return { ...common, source: 'demo-rates', input: { board } };
      }
      case 3: {
        const warehouse = INVENTORY_WAREHOUSES[round % INVENTORY_WAREHOUSES.length] ?? 'north';
        return { ...common, source: 'demo-inventory', input: { warehouse } };
      }
      case 2:
        return { ...common, source: 'demo-shipments', input: { page: 1 } };
      default: {
        const catalogIndex = catalogPages++;
        const category = CATALOG_CATEGORIES[catalogIndex % CATALOG_CATEGORIES.length] ?? 'tools';
        const page = (Math.floor(catalogIndex / CATALOG_CATEGORIES.length) % CATALOG_PAGES) + 1;
        return { ...common, source: 'demo-catalog', input: { category, page } };
      }
    }
  });
}
