/** ## 6: the local pipeline's capacity (a backlog drained) and its latency (a steady stream below capacity). */
import type { PipelineResult, SteadyRateResult } from '../pipeline.js';
import { formatNumber as n } from '../stats.js';
import { kb, ms, msOrDash, table } from './markdown.js';

/** A stream whose last third waited more than this many times its first third's p50 was building a queue. */
export const RISING_P50_FACTOR = 2;

/** Whether a steady-rate run kept up with its arrivals: its p50 did not climb through the stream. */
export function keptUp(s: SteadyRateResult): boolean {
  const [first, , last] = s.p50ByThirdMs;
  return first !== undefined && last !== undefined && last <= first * RISING_P50_FACTOR;
}

export function pipelineSection(p: PipelineResult): string {
  const sources = [...new Set(p.steady.flatMap((s) => Object.keys(s.bySource)))].sort();
  return `## 6. Pipeline

The whole local pipeline exactly as \`npm start\` runs it: the real bundles in local Lambda
containers, pollers in place of event source mappings, moto; demo jobs of every source (every fifth
a browser job). Two questions, measured apart because their answers are different things.

### 6a. Capacity: a backlog drained

\`${p.jobs}\` jobs enqueued at once. Capacity counts every job that ended (records written,
dead-lettered or handed off) per minute, from the first enqueue to the last ledger update. A job
ends when the follow-up jobs it started have (a demo-shipments job follows its pages to the last
one)${p.followUpJobs === undefined ? '' : `: these ${p.jobs} started ${p.followUpJobs.jobs} follow-up jobs, ${p.followUpJobs.succeeded} of which succeeded`}.

| | |
| --- | --- |
| **capacity** | **${n(p.jobsPerMinute)} jobs/min** (wall ${n(p.wallMs / 1000)} s) |
| time in the backlog, enqueue → record | p50 ${msOrDash(p.backlogWaitMs.p50)}, p95 ${msOrDash(p.backlogWaitMs.p95)}, max ${msOrDash(p.backlogWaitMs.max)}: waiting behind the other jobs, **not latency** |
| outcomes | ${p.succeeded} succeeded, ${p.deadLettered} dead-lettered${Object.keys(p.deadLetterReasons).length > 0 ? ` (${JSON.stringify(p.deadLetterReasons)})` : ''}, ${p.handedOff} handed off, ${p.unaccounted} unaccounted${p.transformDeadLetters ? ` (${p.transformDeadLetters} manifests in the transform's DLQ)` : ''} |
| ledger items at the end | ${p.ledgerItems} |

${table(
  ['function', 'invocations', 'messages', 'cold starts', 'duration p50 / p95', 'log bytes'],
  p.functions.map((f) => [
    f.entry,
    String(f.invocations),
    String(f.messages),
    String(f.coldStarts),
    `${ms(f.durationMsP50)} / ${ms(f.durationMsP95)}`,
    kb(f.logBytes),
  ]),
)}

Attempt durations from the ledger (per job):

${table(
  ['source', 'stage', 'attempts', 'median', 'p95', 'attempt item'],
  p.stages.map((s) => [
    s.source,
    s.stage,
    String(s.attempts),
    ms(s.medianMs),
    ms(s.p95Ms),
    `${s.attemptItemBytes} B`,
  ]),
)}

SQS calls made by the pollers and the enqueue: ${Object.entries(p.sqsCalls)
    .map(([k, v]) => `${k.replace('Command', '')} ${v}`)
    .join(', ')}; messages received ${p.sqsMessagesReceived}.

### 6b. Latency at a steady rate below capacity

Each run on a fresh local environment: jobs sent one at a time, evenly spaced, at a share of the
capacity just measured (open loop: a job is sent at its time whatever the pipeline is doing), the
first ones (cold starts) not counted. Enqueue → record is then what one job sees: collection,
raw storage, the S3 notification, the transform and every queue between. The same stream twice:
with the transform queue's batching window as the template sets it, and with the other setting
(changed in the local poller only). If a run's p50 climbs through the stream (last third more than
${RISING_P50_FACTOR}× the first), arrivals outran the pipeline and its figure is queueing again; the table says so.

${table(
  [
    'run',
    'arrivals/min (target)',
    'jobs (warm-up)',
    'succeeded',
    'p50',
    'p95',
    'max',
    'p50 by third',
    'kept up',
  ],
  p.steady.map((s) => [
    s.name,
    `${n(s.arrivalsPerMinute)} (${n(s.targetJobsPerMinute)}, ${Math.round(s.utilisation * 100)} % of capacity)`,
    `${s.jobs} (${s.warmupJobs})`,
    String(s.succeeded),
    msOrDash(s.latencyMs.p50),
    msOrDash(s.latencyMs.p95),
    msOrDash(s.latencyMs.max),
    s.p50ByThirdMs.map((v) => ms(v)).join(' → '),
    keptUp(s) ? 'yes' : '**no**',
  ]),
)}

p50 enqueue → record by source:

${table(
  ['source', ...p.steady.map((s) => s.name)],
  sources.map((source) => [
    source,
    ...p.steady.map((s) => {
      const mine = s.bySource[source];
      return mine === undefined ? '—' : `${msOrDash(mine.p50Ms)} (${mine.jobs} jobs)`;
    }),
  ]),
)}

Local time runs 60 times faster for visibility timeouts and retry delays (a demo-shipments 429 retries
after half a second, not 30 s), not for the batching window, which the local poller keeps in real seconds.
`;
}
