import { z } from 'zod';
import { defineSource } from '../define.js';
import { httpDecisions, httpFetchFailures, jobIntake, rawStorage, transformStage } from '../workflow.js';

export const ShipmentsInput = z.object({ page: z.number().int().min(1).max(1000) }).strict();
export type ShipmentsInput = z.infer<typeof ShipmentsInput>;

const transform = transformStage({
  parses: 'each shipment in the JSON envelope becomes one record (status, carrier, weight, destination)',
  noRecordsDecidedBy: 'transformation',
  invalidRecordsDecidedBy: 'businessRules',
});

/**
 * A partner's paginated JSON API of shipments, collected over plain HTTP: one job fetches one
 * page. The API rate-limits with 429 and Retry-After; the collector treats that as transient and
 * waits at least as long as asked.
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
  origin: 'https://api.demo.sluice.example',
  allowedHosts: ['api.demo.sluice.example'],
  workflow: {
    steps: [
      ...jobIntake.steps,
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
      ...rawStorage.steps,
      ...transform.steps,
    ],
    failurePoints: [
      ...jobIntake.failurePoints,
      ...httpFetchFailures('fetch'),
      ...rawStorage.failurePoints,
      ...transform.failurePoints,
    ],
    decisions: [...transform.decisions, ...httpDecisions('fetch')],
  },
  request: (input) => ({
    path: `/api/v1/shipments?page=${input.page}&page_size=25`,
    accept: 'application/json',
  }),
});
