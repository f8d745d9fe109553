import { z } from 'zod';
import { defineSource } from '../define.js';

export const RatesInput = z
  .object({ board: z.string().regex(/^[a-z][a-z-]{1,40}$/, 'board must be lowercase letters and dashes') })
  .strict();
export type RatesInput = z.infer<typeof RatesInput>;

/** An exchange-rate board that renders its data with JavaScript, collected with headless Chromium. */
export const demoRates = defineSource<RatesInput>({
  name: 'demo-rates',
  title: 'Demo rates board',
  description: 'Exchange rates rendered client-side by a script; needs a real browser.',
  kind: 'browser',
  input: RatesInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-treasury',
  },
  freshnessSlaMinutes: 6 * 60,
  dedupeWindowSeconds: 900,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 2,
  batchSize: 2,
  origin: 'https://rates.demo.sluice.example',
  allowedHosts: ['rates.demo.sluice.example'],
  browse: (input) => ({
    path: `/rates/${encodeURIComponent(input.board)}`,
    readyWhen: 'body[data-ready="true"]',
  }),
});
