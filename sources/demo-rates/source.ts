import { z } from 'zod';
import { defineSource } from '../define.js';
import { sourceWorkflow } from '../workflow.js';

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
  workflow: sourceWorkflow({
    kind: 'browser',
    collect: [
      {
        id: 'render',
        does:
          'Open /rates/<board> on rates.demo.sluice.example in headless Chromium, wait until the page marks ' +
          'itself ready (body[data-ready="true"]), and keep the raw response, the rendered DOM, a ' +
          'full-page screenshot and the console log',
        owner: 'collection',
        stage: 'collect',
        branches: [
          {
            when: 'the page requests a host outside the allowlist, or images, fonts or media',
            does: 'those requests are blocked and the page renders without them',
          },
          {
            when: "the container's browser has crashed or disconnected",
            does: 'a new browser is launched before the page opens',
          },
        ],
      },
    ],
    transform: {
      parses: 'each row of the rendered rates table becomes one record per board and currency pair',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'businessRules',
    },
  }),
  browse: (input) => ({
    path: `/rates/${encodeURIComponent(input.board)}`,
    readyWhen: 'body[data-ready="true"]',
  }),
});
