/** The demo batch `npm start` enqueues: jobs for every demo source, deterministic for a run. */
import { randomUUID } from 'node:crypto';
import type { CollectJob } from '../functions/core/contracts.js';
import { SHIPMENT_PAGES } from './demo-site/api.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, RATE_BOARDS } from './demo-site/data.js';
import { INVENTORY_WAREHOUSES } from './demo-site/exports.js';

/**
 * In every five jobs: two catalogue pages (HTML), one shipments page (JSON API with 429s), one
 * inventory export (CSV) and one rates board (browser).
 */
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
    const round = Math.floor(index / 5);
    switch (index % 5) {
      case 4: {
        const board = RATE_BOARDS[round % RATE_BOARDS.length] ?? 'majors';
        return { ...common, source: 'demo-rates', input: { board } };
      }
      case 3: {
        const warehouse = INVENTORY_WAREHOUSES[round % INVENTORY_WAREHOUSES.length] ?? 'north';
        return { ...common, source: 'demo-inventory', input: { warehouse } };
      }
      case 2:
        return { ...common, source: 'demo-shipments', input: { page: (round % SHIPMENT_PAGES) + 1 } };
      default: {
        const catalogIndex = round * 2 + (index % 5);
        const category = CATALOG_CATEGORIES[catalogIndex % CATALOG_CATEGORIES.length] ?? 'tools';
        const page = (Math.floor(catalogIndex / CATALOG_CATEGORIES.length) % CATALOG_PAGES) + 1;
        return { ...common, source: 'demo-catalog', input: { category, page } };
      }
    }
  });
}
