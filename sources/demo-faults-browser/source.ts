import { defineSource } from '../define.js';
import { FaultsInput } from '../demo-faults/source.js';
import { sourceWorkflow } from '../workflow.js';

/**
 * The demo site's fault routes in headless Chromium: hanging pages, changed layouts, captchas,
 * subresources on private addresses. Same hostile free-form path as `demo-faults`.
 */
export const demoFaultsBrowser = defineSource<FaultsInput>({
  name: 'demo-faults-browser',
  title: 'Demo fault routes (browser)',
  description: 'Pages that fail on purpose, collected with headless Chromium.',
  kind: 'browser',
  input: FaultsInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-collection',
  },
  // Short enough that the local environment sees its alarms both ways within minutes (local time
  // runs 60 times faster): a hand-off's backlog alarm after 90 s, a source no job reached stale
  // after 3 minutes; long enough that no healthy `npm start` comes near either.
  freshnessSlaMinutes: 3 * 60,
  dedupeWindowSeconds: 3600,
  // Retry-After capped so the budget surfaces a persistent failure within half the 3-hour SLA.
  retry: { delaysSeconds: [30, 300, 1800], maxRetryAfterSeconds: 300 },
  maxConcurrency: 2,
  batchSize: 2,
  origin: 'https://faults-browser.demo.sluice.example',
  allowedHosts: ['faults-browser.demo.sluice.example'],
  workflow: sourceWorkflow({
    kind: 'browser',
    collect: [
      {
        id: 'render',
        does: 'Open the path the job names on faults-browser.demo.sluice.example in headless Chromium (a test fixture)',
        owner: 'collection',
        stage: 'collect',
      },
    ],
    transform: {
      parses: 'the fault page, when it renders, becomes one record (a test fixture)',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'transformation',
    },
  }),
  browse: (input) => ({ path: input.path, readyWhen: 'main[data-ready="true"]' }),
});
