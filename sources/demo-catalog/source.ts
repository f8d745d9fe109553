import { z } from 'zod';
import { defineSource } from '../define.js';
import { sourceWorkflow } from '../workflow.js';

export const CatalogInput = z
  .object({
    category: z.string().regex(/^[a-z][a-z-]{1,30}$/, 'category must be lowercase letters and dashes'),
    page: z.number().int().min(1).max(500),
  })
  .strict();
export type CatalogInput = z.infer<typeof CatalogInput>;

/** A paginated product catalogue, collected over plain HTTP: one job fetches one page. */
export const demoCatalog = defineSource<CatalogInput>({
  name: 'demo-catalog',
  title: 'Demo product catalogue',
  description: 'Product listings (name, price, stock) from a paginated HTML catalogue.',
  kind: 'http',
  input: CatalogInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-merchandising',
  },
  freshnessSlaMinutes: 24 * 60,
  dedupeWindowSeconds: 3600,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 5,
  batchSize: 5,
  origin: 'https://catalog.demo.sluice.example',
  allowedHosts: ['catalog.demo.sluice.example'],
  workflow: sourceWorkflow({
    kind: 'http',
    collect: [
      {
        id: 'fetch',
        does: 'GET /catalog/<category>?page=<page> from catalog.demo.sluice.example over plain HTTP',
        owner: 'collection',
        stage: 'collect',
        branches: [
          {
            when: 'the catalogue answers with a redirect',
            does: 'follow it (at most 5 hops), each hop checked against the allowlist',
          },
        ],
      },
    ],
    transform: {
      parses: 'each product card on the page becomes one record per SKU (name, price in cents, stock)',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'businessRules',
    },
  }),
  request: (input) => ({
    path: `/catalog/${encodeURIComponent(input.category)}?page=${input.page}`,
    accept: 'text/html',
  }),
});
