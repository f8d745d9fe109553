/** The findings at the top of RESULTS.md: where Sluice loses, why, and the decisions the figures support. */
import type { CollectionResult, VariantResult } from '../collection.js';
import { PRICES } from '../cost-model.js';
import type { PipelineResult } from '../pipeline.js';
import { formatSpread, formatNumber as n, type Spread } from '../stats.js';
import { largestSteps } from './collection.js';
import { kb, ms, msOrDash, ratio } from './markdown.js';
import { keptUp } from './pipeline.js';
import type { BenchRun } from './run-file.js';

/** Where Sluice loses, why, and what would change it: computed from this run's figures. */
export function findingsSection(run: BenchRun): string {
  const items: string[] = [];
  const stepMedian = (c: CollectionResult, name: string) => c.steps.find((s) => s.step === name)?.medianMs;
  for (const c of [run.browser, run.http]) {
    if (c === undefined) continue;
    const ledgerWrite = stepMedian(c, 'ledger write');
    const cal = run.calibration;
    // moto's own time per collection, one call at a time: the claim, its artifact and manifest
    // PUTs and one ledger transaction (which also releases the claim; older runs timed a separate
    // release with the claim). moto serves them from one process, so this bounds the stored rate.
    const claimMs = cal?.ledgerClaimMs?.median ?? cal?.ledgerClaimAndReleaseMs?.median ?? 0;
    const motoMs =
      cal === undefined
        ? undefined
        : c.sluicePutsPerPage * cal.s3PutMs.median + cal.ledgerTransactionEmptyMs.median + claimMs;
    const verdict =
      c.ratio.max < 1
        ? 'loses'
        : c.ratio.min > 1
          ? 'wins'
          : 'neither clearly wins nor loses (the ranges overlap)';
    items.push(`- **${c.kind === 'browser' ? 'Browser' : 'HTTP'} collection: Sluice ${verdict}** against
  ${c.baselineName} (${ratio(c.ratio)}). Its collector alone, storing nothing, runs ${formatSpread(c.sluiceFetchOnly, 'pages/min')},
  ${(c.sluiceFetchOnly.median / c.baseline.median).toFixed(2)}× the baseline's median; what separates that from the stored figure is
  raw storage and the ledger, in moto (${c.baselineName} writes its HTML and dataset item to local disk:
  no network call, no conditional write, nothing durable beyond this machine). The largest steps per job: ${largestSteps(c.steps, 4)}.${
    motoMs === undefined || cal === undefined
      ? ''
      : ` Alone, moto needs ${ms(motoMs)} per collection (${n(c.sluicePutsPerPage)} PUTs at ${ms(cal.s3PutMs.median)}, a ledger
  transaction at ${ms(cal.ledgerTransactionEmptyMs.median)}${claimMs > 0 ? ` and the job's claim at ${ms(claimMs)}` : ''}, part 0), a ceiling of about ${n(60_000 / motoMs)} collections/min for the
  one Python process${ledgerWrite === undefined ? '' : `; with ${c.settings.concurrency} jobs in flight a ledger write took ${ms(ledgerWrite)} (median), queued behind the others`}.${
    c.sluice.median > (60_000 / motoMs) * 0.3
      ? ' The stored figure is within sight of that ceiling: here the emulator, not the collector, sets it. In AWS these calls go to services that serve each job in parallel.'
      : ' The stored figure is far below that ceiling: the collector itself (the browser) sets it.'
  }`
  }`);
  }
  if (run.browserVariants !== undefined && run.browserVariants.length > 1) {
    const [current, ...others] = run.browserVariants;
    const best = [...others].sort((a, b) => b.ratioToCurrent.median - a.ratioToCurrent.median)[0];
    if (current !== undefined && best !== undefined) {
      const step = (v: VariantResult, name: string) =>
        v.steps.find((s) => s.step === name)?.medianMs ?? Number.NaN;
      const zygote = others.find((v) => v.name.includes('zygote'));
      items.push(`- **What-ifs (part 1b)**: the best, "${best.name}", ran at ${ratio(best.ratioToCurrent)} of the
  collector as it is (screenshot step ${ms(step(best, 'screenshot'))} against ${ms(step(current, 'screenshot'))}; whole
  collection ${ms(step(best, 'whole collection (collectJob)'))} against ${ms(step(current, 'whole collection (collectJob)'))}); ${
    best.ratioToCurrent.min > 1.05
      ? 'a gain larger than the noise.'
      : "its range includes no gain, so on this machine's evidence nothing in the collector is changed."
  } The screenshot is evidence a person reads when a job is handed off or fails, so dropping or
  shrinking it is a decision for the sources' owners, not a speed-up to take silently.${
    zygote === undefined
      ? ''
      : ` "${zygote.name}": ${ratio(zygote.ratioToCurrent)}, new page ${ms(step(zygote, 'new page'))} against ${ms(step(current, 'new page'))}; worth measuring on Lambda itself before changing the launch flags.`
  }`);
    }
  }
  const [foldedRelease, separateRelease] = run.httpVariants ?? [];
  if (foldedRelease !== undefined && separateRelease !== undefined) {
    items.push(`- **Decision, kept: the claim is released in the transaction that records the collection** (part 2b). An HTTP job
  now makes four round trips to AWS instead of five (the claim, the artifact and manifest PUTs, and the ledger transaction,
  which also gives the claim up), and one DynamoDB write less: the transaction already wrote the claim item (its \`collectedAt\`), so
  the release adds nothing to it, where the separate release cost a write unit plus one for the byTrace index copy ($${n(2 * PRICES.dynamoPerMillionWriteUnits)}
  per million jobs). On moto the collection as it is ran at ${ratio(invert(separateRelease.ratioToCurrent))} the pages/min of the old
  way. The release stays conditional (only the owner's own claim is given up): when the lease lapsed and another delivery holds the
  job, DynamoDB cancels the transaction and the ledger writes it again without the release (one more round trip, only then).
  A failed attempt still releases the claim with its own write after the ledger's.`);
  }
  if (run.transform !== undefined) items.push(...transformFindings(run));
  const slim = run.transformSlimWhatIf;
  const transformBundle = run.coldStart?.functions.find((f) => f.entry === 'functions/transform/handler.ts');
  if (slim !== undefined && transformBundle !== undefined) {
    items.push(`- **Cold start of the transform**: importing \`cheerio/slim\` instead of \`cheerio\` in the parsers
  takes the bundle from ${kb(transformBundle.bundleBytes)} to ${kb(slim.bundleBytes)} and module initialisation from
  ${ms(transformBundle.initMs.median)} to ${ms(slim.initMs.median)} (medians). Proposed to the parsers' owners (sources/*/parser.ts):
  \`import { load } from 'cheerio/slim'\`, with their parser tests run against it.`);
  }
  if (run.coldStart !== undefined) {
    const b = run.coldStart.browser;
    const browserFn = run.coldStart.functions.find(
      (f) => f.entry === 'functions/collector/browser-handler.ts',
    );
    items.push(`- **Cold start of the browser collector**: ${browserFn === undefined ? '' : `module init ${ms(browserFn.initMs.median)}, then `}unpacking
  Chromium ${ms(b.unpackMs.median)} and the first launch ${ms(b.firstLaunchMs.median)} on the first job; a warm
  container launches nothing (one browser per container).`);
  }
  if (run.pipeline !== undefined) items.push(...pipelineFindings(run.pipeline));
  return `## Findings and decisions: where Sluice loses, why, and what was changed

${items.join('\n')}
`;
}

/** What one transaction instead of three rounds of parallel writes might save per manifest on AWS (an estimate). */
const SAVED_WAIT_MS = 10;

function transformFindings(run: BenchRun): string[] {
  const t = run.transform;
  if (t === undefined) return [];
  const items: string[] = [];
  const [current, ...others] = t.variants;
  if (current === undefined) return [];
  const upsert = run.calibration?.recordUpsertMs.median;
  const cpuRatio = t.parseAndValidate.recordsPerSecond.median / t.floor.recordsPerSecond.median;
  const addedMicroseconds =
    1e6 / t.parseAndValidate.recordsPerSecond.median - 1e6 / t.floor.recordsPerSecond.median;
  const first = current.phases.firstLoad;
  items.push(`- **Transform**: Sluice's CPU work (parse, validate, hash) runs at
  ${cpuRatio.toFixed(2)}× the bare parser's records/s: validating and hashing add ${n(Math.max(0, addedMicroseconds))} µs per record${
    cpuRatio < 0.9
      ? " (zod's schema check and the content hash: visible beside a fast parser, but microseconds against a record's conditional write, which takes milliseconds)"
      : ', within the noise of the parser'
  }; the full transform runs at ${(first.recordsPerSecond.median / t.floor.recordsPerSecond.median).toPrecision(2)}× of the floor
  in a first load because every record is a conditional write to moto${upsert === undefined ? '' : ` (${ms(upsert)} per UpdateItem, one at a time)`},
  ${first.writeUnitsPerRecord.toFixed(2)} writes per record. DynamoDB's single-digit-millisecond writes, served in
  parallel, would leave the transform far closer to the floor; this machine cannot show how close.`);
  const before = others.find((v) => v.name.includes('(before)'));
  if (before !== undefined) {
    items.push(`- **Decision, kept: a source's next manifest starts with the write its last one needed** (\`RecentWrites\`,
  one per transform container). A first load went from ${before.phases.firstLoad.writeUnitsPerRecord.toFixed(2)} to ${first.writeUnitsPerRecord.toFixed(2)} writes per record
  (every manifest used to try a touch first for its first ${8} records, each refused and billed); in this run the transform as it runs
  did ${ratio(invert(before.phases.firstLoad.ratioToCurrent))} the records/s of the old way in a first load and
  ${ratio(invert(before.phases.recollection.ratioToCurrent))} in a re-collection (${current.phases.recollection.writeUnitsPerRecord.toFixed(2)} against
  ${before.phases.recollection.writeUnitsPerRecord.toFixed(2)} writes per record: the container's first re-collected manifests pay for the
  first load's guess once). On AWS the saving is the refused writes' units (up to 8 per manifest in a first load or a replay after a
  rule change) and one round trip; the cost is one entry per source in a container's memory. A wrong guess costs what every
  guess cost before, never a wrong record: the conditional writes decide, the guess only orders them.`);
  }
  const transaction = others.find((v) => v.name.includes('TransactWriteItems'));
  if (transaction !== undefined) {
    const gain = transaction.phases.firstLoad.ratioToCurrent;
    const recordsPerManifest = t.recordsPerRepeat / Math.max(1, t.manifestsPerRepeat);
    const extraUnits =
      Math.max(0, transaction.phases.firstLoad.writeUnitsPerRecord - first.writeUnitsPerRecord) *
      recordsPerManifest;
    // An estimate, not a measurement: AWS is not reachable from here.
    const savedComputeDollars = (SAVED_WAIT_MS / 1000) * 1 * PRICES.lambdaGbSecond.arm64;
    items.push(`- **Decision, rejected: one conditional TransactWriteItems per manifest** (a what-if, bench/transform-transaction.ts).
  On moto it ran at ${ratio(gain)} of the transform's records/s in a first load and
  ${ratio(transaction.phases.recollection.ratioToCurrent)} in a re-collection: moto serves DynamoDB one request at a time at
  ${upsert === undefined ? 'several milliseconds' : ms(upsert)} each, so fewer requests is all that counts here. On AWS it would cost
  ${transaction.phases.firstLoad.writeUnitsPerRecord.toFixed(2)} write units per record against ${first.writeUnitsPerRecord.toFixed(2)}
  (a committed transaction bills two per item), ${(transaction.phases.firstLoad.writeUnitsPerRecord / Math.max(0.01, first.writeUnitsPerRecord)).toFixed(1)}× the records line of
  part 7, to save the wait for two or three rounds of parallel single-digit-millisecond writes: about ${SAVED_WAIT_MS} ms of the 1 GB
  transform Lambda per manifest ($${n(savedComputeDollars * 1e6)} per million manifests at the arm64 price) against ${n(extraUnits)} more write units per
  manifest ($${n(extraUnits * PRICES.dynamoPerMillionWriteUnits)} per million manifests): ${n((extraUnits * PRICES.dynamoPerMillionWriteUnits) / Math.max(1e-12, savedComputeDollars * 1e6))}× the compute saved. A transaction also couples
  records that need no coupling (one record's newer observation elsewhere cancels the other 19 writes), and conflicts with
  any concurrent write to one of its items. Sluice keeps single conditional writes.`);
  }
  return items;
}

/** 1 ÷ each ratio: "the first over the second" from "the second over the first". */
function invert(s: Spread): Spread {
  return { median: 1 / s.median, min: 1 / s.max, max: 1 / s.min, n: s.n };
}

function pipelineFindings(p: PipelineResult): string[] {
  const items = [
    `- **Pipeline capacity**: ${n(p.jobsPerMinute)} jobs/min locally (a backlog of ${p.jobs} drained), every stage's storage
  in one moto process serving DynamoDB one request at a time, on two shared cores; the local figure measures the emulator
  as much as Sluice. The backlog's enqueue → record times (p50 ${msOrDash(p.backlogWaitMs.p50)}) are queueing, not latency.`,
  ];
  const [asIs, whatIf] = p.steady;
  if (asIs !== undefined) {
    items.push(`- **Pipeline latency**: at ${n(asIs.arrivalsPerMinute)} jobs/min (${Math.round(asIs.utilisation * 100)} % of that capacity) a job took
  p50 ${msOrDash(asIs.latencyMs.p50)}, p95 ${msOrDash(asIs.latencyMs.p95)} from enqueue to its records${keptUp(asIs) ? '' : ' — but its p50 rose through the stream, so the rate was not below capacity and this is queueing too'}.`);
  }
  if (asIs !== undefined && whatIf !== undefined) {
    const zero = asIs.transformBatchingWindowSeconds === 0 ? asIs : whatIf;
    const one = zero === asIs ? whatIf : asIs;
    const saved = (one.latencyMs.p50 ?? Number.NaN) - (zero.latencyMs.p50 ?? Number.NaN);
    items.push(`- **Decision, kept: no batching window on the transform queue** (it was ${one.transformBatchingWindowSeconds} s). At the same steady rate,
  p50 enqueue → record was ${msOrDash(zero.latencyMs.p50)} without a window and ${msOrDash(one.latencyMs.p50)} with it (${n(saved)} ms, one run each),
  p95 ${msOrDash(zero.latencyMs.p95)} against ${msOrDash(one.latencyMs.p95)}. A window makes each manifest wait up to that long for nine more
  unless they come at once; on AWS it is the largest wait a job meets that is not work. Its only saving is
  Lambda requests: without it a sparse stream invokes the transform once per manifest instead of once per batch, at most one more
  invocation per job, $${PRICES.lambdaPerMillionRequests} per million (part 7 prices a job at about a hundred dollars per million). A busy stream still fills
  batches of ten, window or not: Lambda's pollers take what the queue holds.`);
  }
  return items;
}
