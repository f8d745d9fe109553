import { z } from 'zod';
import { defineSource } from '../define.js';
import { sourceWorkflow } from '../workflow.js';

export const ShipmentsInput = z.object({ page: z.number().int().min(1).max(1000) }).strict();
export type ShipmentsInput = z.infer<typeof ShipmentsInput>;

/**
 * A partner's paginated JSON API of shipments, collected over plain HTTP. One job collects every
 * page: each page's `links.next` becomes a follow-up job for the next page (the parser reads it),
 * until a page has no next link, so the sender never needs to know how many pages there are. A
 * page past the last one answers 404, which the source declares as `no-such-page`. The API
 * rate-limits with 429 and Retry-After; the collector treats that as transient and waits at least
 * as long as asked. It is also collected every hour on its own, from page 1.
 */
export const demoShipments = defineSource<ShipmentsInput>({
  name: 'demo-shipments',
  title: 'Demo shipments API',
  description: 'Shipment status, carrier, weight and destination from a paginated, rate-limited JSON API.',
  kind: 'http',
  input: ShipmentsInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-logistics',
  },
  freshnessSlaMinutes: 2 * 60,
  dedupeWindowSeconds: 600,
  retry: { delaysSeconds: [30, 120, 600] },
  maxConcurrency: 3,
  batchSize: 5,
  schedule: { expression: 'rate(1 hour)', timeZone: 'UTC', inputs: [{ page: 1 }] },
  followUps: { targets: ['demo-shipments'], maxFollowUps: 1, maxDepth: 50 },
  noSuchPageStatuses: [404],
  origin: 'https://api.demo.sluice.example',
  allowedHosts: ['api.demo.sluice.example'],
  workflow: sourceWorkflow({
    kind: 'http',
    collect: [
      {
        id: 'fetch',
        does: 'GET /api/v1/shipments?page=<page>&page_size=25 from api.demo.sluice.example over plain HTTP',
        owner: 'collection',
        stage: 'collect',
        branches: [
          {
            when: 'the API answers 429 with Retry-After',
            does: 'wait at least as long as asked (within the retry budget), then fetch again',
          },
        ],
      },
    ],
    transform: {
      parses: 'each shipment in the JSON envelope becomes one record (status, carrier, weight, destination)',
      noRecordsDecidedBy: 'transformation',
      follows: 'a next page (`links.next`)',
      invalidRecordsDecidedBy: 'businessRules',
    },
    failurePoints: [
      {
        step: 'fetch',
        failure: 'the page asked for is past the last page (the API answers 404)',
        reasons: ['no-such-page'],
        handling: 'dead-letter',
      },
    ],
  }),
  request: (input) => ({
    path: `/api/v1/shipments?page=${input.page}&page_size=25`,
    accept: 'application/json',
  }),
});
