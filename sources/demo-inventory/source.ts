import { z } from 'zod';
import { defineSource } from '../define.js';
import { sourceWorkflow } from '../workflow.js';

export const InventoryInput = z
  .object({
    warehouse: z.string().regex(/^[a-z][a-z-]{1,30}$/, 'warehouse must be lowercase letters and dashes'),
  })
  .strict();
export type InventoryInput = z.infer<typeof InventoryInput>;

/** A daily CSV inventory export per warehouse, collected over plain HTTP: one job, one export. */
export const demoInventory = defineSource<InventoryInput>({
  name: 'demo-inventory',
  title: 'Demo inventory export',
  description: 'Stock levels per SKU and warehouse, from the daily CSV export of a warehouse system.',
  kind: 'http',
  input: InventoryInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-supply-chain',
  },
  freshnessSlaMinutes: 26 * 60,
  dedupeWindowSeconds: 3600,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 2,
  batchSize: 5,
  origin: 'https://exports.demo.sluice.example',
  allowedHosts: ['exports.demo.sluice.example'],
  workflow: sourceWorkflow({
    kind: 'http',
    collect: [
      {
        id: 'fetch',
        does: 'GET /exports/inventory/<warehouse>.csv from exports.demo.sluice.example over plain HTTP',
        owner: 'collection',
        stage: 'collect',
      },
    ],
    transform: {
      parses:
        'each CSV row becomes one record per SKU and warehouse (on hand, reorder point, low-stock flag)',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'businessRules',
    },
  }),
  request: (input) => ({
    path: `/exports/inventory/${encodeURIComponent(input.warehouse)}.csv`,
    accept: 'text/csv',
  }),
});
