/**
 * `npm run bench:replay`: how fast a replay re-transforms raw storage on this machine.
 *
 * Starts the local environment, collects `--objects` catalogue pages through the real pipeline
 * (distinct jobs; the demo catalogue has 40 distinct pages, so pages repeat), waits until every
 * one is transformed, then replays the day(s) through the transform queue and measures:
 *   - the send rate (manifests put on the transform queue per second), and
 *   - the end-to-end rate (raw objects re-transformed per second, from the first message sent to
 *     the last transform finished), which is what a backfill takes.
 * Prints the figures and writes them to bench-replay.json. A benchmark, not a test: nothing here
 * passes or fails on time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { S3RawCatalog } from '../functions/adapters/raw-catalog.js';
import { FileReplayCheckpoints } from '../functions/adapters/replay-checkpoints.js';
import { SqsTransformQueue } from '../functions/adapters/transform-queue.js';
import { dayPrefix, replayRange } from '../functions/core/replay.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES } from '../local/demo-site/data.js';
import { startLocalEnvironment } from '../local/environment.js';
import { PROJECT_ROOT, SCRATCH_DIR } from '../local/paths.js';
import { enqueueJobs } from '../local/run-tracker.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '200' },
    rate: { type: 'string', default: 'max' },
    'no-synth': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run bench:replay -- [--objects N] [--rate <messages/s>|max] [--no-synth]
  --objects N   raw collections to replay (default 200)
  --rate R      replay messages sent per second, or max (default max)
  --no-synth    reuse cdk.out instead of synthesizing first`);
  process.exit(0);
}
const objects = Number(values.objects);
if (!Number.isInteger(objects) || objects < 1)
  throw new RangeError(`--objects must be a positive whole number, got ${values.objects}`);
const rate = values.rate === 'max' ? Number.POSITIVE_INFINITY : Number(values.rate);
if (!(rate > 0)) throw new RangeError(`--rate must be positive or max, got ${values.rate}`);

let transformed = 0;
let transformFailures = 0;
const env = await startLocalEnvironment({
  synth: !values['no-synth'],
  // A benchmark measures the pipeline alone.
  alarms: false,
  onBatch: (report) => {
    if (!/(^|\.)TransformFunction/.test(report.mapping)) return;
    transformed += report.size - report.failed;
    transformFailures += report.failed;
  },
});

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 900_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

try {
  const runId = env.runId.slice(-6);
  const jobs = Array.from({ length: objects }, (_, index) => ({
    source: 'demo-catalog',
    input: {
      category: CATALOG_CATEGORIES[index % CATALOG_CATEGORIES.length] ?? 'tools',
      page: (Math.floor(index / CATALOG_CATEGORIES.length) % CATALOG_PAGES) + 1,
    },
    jobId: `bench-${runId}-${index}`,
    priority: 'normal' as const,
  }));
  console.log(`• collecting ${objects} catalogue pages through the pipeline…`);
  await enqueueJobs(env, jobs);
  await until('the collections to be transformed', () => transformed >= objects);
  // A collector whose ledger write failed (moto answers 500 under load) collects again; wait
  // until no job and no transform is left in flight, so the replay is measured alone.
  await until('the pipeline to be idle', async () => {
    const depths = await Promise.all(
      [env.sourceQueues('demo-catalog').jobs.url, env.transformQueues.jobs.url].map(async (QueueUrl) => {
        const { Attributes } = await env.clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return (
          Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
        );
      }),
    );
    return depths.every((depth) => depth === 0);
  });
  const catalog = new S3RawCatalog(env.clients.s3, env.rawBucket);
  const today = new Date().toISOString().slice(0, 10);
  let manifests = 0;
  for await (const page of catalog.listKeys(dayPrefix('demo-catalog', today))) {
    manifests += page.filter((k) => k.endsWith('/manifest.json')).length;
  }
  console.log(
    `• ${manifests} manifests in raw storage for ${today}; replaying at ${values.rate} messages/s…`,
  );

  const before = transformed;
  const requestsBefore = env.demoSite.totalRequests();
  const startedAt = performance.now();
  const report = await replayRange(
    { source: 'demo-catalog', from: today, to: today, messagesPerSecond: rate, fresh: true },
    {
      catalog,
      queue: new SqsTransformQueue(env.clients.sqs, env.transformQueues.jobs.url, env.rawBucket),
      checkpoints: new FileReplayCheckpoints(join(SCRATCH_DIR, 'bench-replay')),
      now: () => performance.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  );
  const sentAt = performance.now();
  await until('the replayed manifests to be transformed', () => transformed - before >= report.sent);
  const finishedAt = performance.now();

  const figures = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    emulator: `moto ${env.emulatorVersion}`,
    rawObjects: report.sent,
    requestedRate: values.rate,
    sendSeconds: Number(((sentAt - startedAt) / 1000).toFixed(2)),
    sendRatePerSecond: Number((report.sent / ((sentAt - startedAt) / 1000)).toFixed(1)),
    endToEndSeconds: Number(((finishedAt - startedAt) / 1000).toFixed(2)),
    endToEndRawObjectsPerSecond: Number((report.sent / ((finishedAt - startedAt) / 1000)).toFixed(1)),
    transformBatchFailures: transformFailures,
    demoSiteRequestsDuringReplay: env.demoSite.totalRequests() - requestsBefore,
  };
  console.log(JSON.stringify(figures, null, 2));
  writeFileSync(join(PROJECT_ROOT, 'bench-replay.json'), `${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await env.stop();
}
