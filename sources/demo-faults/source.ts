import { z } from 'zod';
import { defineSource } from '../define.js';
import { sourceWorkflow } from '../workflow.js';

/**
 * Any path on the faults site. The input is deliberately a free-form path taken from the message
 * — the most hostile input a source can accept — so tests can prove the egress guard holds for
 * untrusted jobs: `//169.254.169.254/`, `file:///etc/passwd` and redirects to loopback are all
 * well-formed inputs here, and all are refused at the guard.
 */
export const FaultsInput = z.object({ path: z.string().min(1).max(2000) }).strict();
export type FaultsInput = z.infer<typeof FaultsInput>;

/** The demo site's fault routes over plain HTTP: errors, rate limits, hangs and redirects on demand. */
export const demoFaults = defineSource<FaultsInput>({
  name: 'demo-faults',
  title: 'Demo fault routes (HTTP)',
  description:
    'Pages that fail on purpose (5xx, 429, hangs, 404, hostile redirects), collected over plain HTTP.',
  kind: 'http',
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
  maxConcurrency: 5,
  batchSize: 5,
  origin: 'https://faults.demo.sluice.example',
  allowedHosts: ['faults.demo.sluice.example'],
  workflow: sourceWorkflow({
    kind: 'http',
    collect: [
      {
        id: 'fetch',
        does: 'GET the path the job names from faults.demo.sluice.example over plain HTTP (a test fixture)',
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
  request: (input) => ({ path: input.path, accept: 'text/html' }),
});
