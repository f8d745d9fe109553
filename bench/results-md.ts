/**
 * Renders a run's figures: the summary table `npm run bench` prints, and bench/RESULTS.md with the
 * machine, what exactly was measured, the per-step profiles, the cost arithmetic and the caveats.
 * Every sentence that depends on a figure is computed from the figures of the run it renders.
 */
import { z } from 'zod';
import type { ColdStartResult } from './cold-start.js';
import type { CollectionResult, VariantResult } from './collection.js';
import {
  type CostLine,
  dynamoLine,
  lambdaLines,
  logsLine,
  PRICES,
  PRICES_AS_OF,
  s3Lines,
  sqsLine,
  totalPerMillionJobs,
  writeUnits,
} from './cost-model.js';
import type { MachineDescription } from './machine.js';
import type { MotoCalibration } from './moto-calibration.js';
import type { TransactionMemory } from './moto-workarounds.js';
import type { PipelineResult } from './pipeline.js';
import type { ReplayBenchResult } from './replay.js';
import { formatSpread, formatNumber as n, type Spread, spread } from './stats.js';
import type { TransformBenchResult } from './transform.js';

/** The run file's outline; sections are the benchmark's own output, checked for presence only. */
const RunFile = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  quick: z.boolean(),
  machine: z.object({ cpuModel: z.string(), cores: z.number() }).passthrough(),
  loadAverageAtEnd: z.array(z.number()).optional(),
  loadAverageSamples: z.array(z.number()).optional(),
  emulator: z.object({ name: z.string(), version: z.string() }),
  chromiumVersion: z.string().optional(),
  sizes: z.record(z.string(), z.unknown()),
  functionConfig: z
    .array(z.object({ entry: z.string(), memoryMB: z.number(), architecture: z.enum(['arm64', 'x86_64']) }))
    .optional(),
  browser: z.object({ source: z.string() }).passthrough().optional(),
  calibration: z.object({ calls: z.number() }).passthrough().optional(),
  motoTransactionMemory: z.object({ transactions: z.number() }).passthrough().optional(),
  browserVariants: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  http: z.object({ source: z.string() }).passthrough().optional(),
  transform: z.object({ floor: z.unknown() }).passthrough().optional(),
  replay: z.object({ objectsInPrefix: z.number() }).passthrough().optional(),
  coldStart: z
    .object({ functions: z.array(z.unknown()) })
    .passthrough()
    .optional(),
  transformSlimWhatIf: z.object({ bundleBytes: z.number() }).passthrough().optional(),
  pipeline: z.object({ jobs: z.number() }).passthrough().optional(),
});

export interface BenchRun {
  readonly runId: string;
  readonly startedAt: string;
  /** Absent when the run died before its end (its checkpoint is rendered). */
  readonly finishedAt?: string;
  readonly quick: boolean;
  readonly machine: MachineDescription;
  readonly loadAverageAtEnd?: readonly number[];
  /** The 1-minute load average every LOAD_SAMPLE_SECONDS while the run measured. */
  readonly loadAverageSamples?: readonly number[];
  readonly emulator: { readonly name: string; readonly version: string };
  readonly chromiumVersion?: string;
  readonly sizes: { readonly [part: string]: unknown };
  readonly functionConfig?: readonly { entry: string; memoryMB: number; architecture: 'arm64' | 'x86_64' }[];
  readonly calibration?: MotoCalibration;
  readonly motoTransactionMemory?: TransactionMemory;
  readonly browser?: CollectionResult;
  readonly browserVariants?: readonly VariantResult[];
  readonly http?: CollectionResult;
  readonly transform?: TransformBenchResult;
  readonly replay?: ReplayBenchResult;
  readonly coldStart?: ColdStartResult;
  readonly transformSlimWhatIf?: {
    readonly bundleBytes: number;
    readonly initMs: Spread;
    readonly parsersAgree: {
      readonly pages: number;
      readonly agree: number;
      readonly firstDifference?: string;
    };
  };
  readonly pipeline?: PipelineResult;
}

export function parseRun(json: unknown): BenchRun {
  RunFile.parse(json);
  // The sections are this harness's own output of the same version; their outline was checked above.
  return json as BenchRun;
}

/** How often run.ts samples the load average. */
export const LOAD_SAMPLE_SECONDS = 30;

/** A claim item (job key, source, trace ID, lease, collectedAt, manifest key) stays under 1 KiB. */
const CLAIM_ITEM_BYTES = 1024;

const kb = (bytes: number) => `${n(bytes / 1024)} KiB`;
const mb = (bytes: number) => `${n(bytes / 1024 ** 2)} MiB`;
const ms = (value: number) => `${n(value)} ms`;
const ratio = (s: Spread) => `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Cost lines per source kind, from the pipeline's measured durations and the other parts' counts. */
export function costBySource(run: BenchRun): Map<string, CostLine[]> | undefined {
  const { pipeline, browser, http, transform, replay } = run;
  if (pipeline === undefined || browser === undefined || http === undefined) return undefined;
  if (transform === undefined || replay === undefined) return undefined;
  const config = run.functionConfig ?? run.coldStart?.functions;
  if (config === undefined) return undefined;
  const arch = (entry: string) => config.find((f) => f.entry === entry)?.architecture ?? 'x86_64';
  const fn = (entry: string) => {
    const usage = pipeline.functions.find((f) => f.entry === entry);
    if (usage === undefined || usage.messages === 0) throw new Error(`the pipeline ran no ${entry}`);
    return usage;
  };
  const transformFn = fn('functions/transform/handler.ts');
  const transformStages = pipeline.stages.filter((s) => s.stage === 'transform');
  const transformTotal = transformStages.reduce((sum, s) => sum + s.totalMs, 0);
  const calls = pipeline.sqsCalls;
  const received = Math.max(1, pipeline.sqsMessagesReceived);
  const receivesPerMessage = (calls.ReceiveMessageCommand ?? 0) / received;
  const deletesPerMessage =
    ((calls.DeleteMessageBatchCommand ?? 0) + (calls.DeleteMessageCommand ?? 0)) / received;
  const totalLogBytes = pipeline.functions.reduce((sum, f) => sum + f.logBytes, 0);
  const summaryBytes = pipeline.ledgerSummaryItemBytes;

  const result = new Map<string, CostLine[]>();
  const kinds = [
    {
      source: http.source,
      collection: http,
      entry: 'functions/collector/http-handler.ts',
      recordsPerJob: transform.recordsPerRepeat / transform.manifestsPerRepeat,
    },
    {
      source: browser.source,
      collection: browser,
      entry: 'functions/collector/browser-handler.ts',
      recordsPerJob: replay.records / Math.max(1, replay.manifests),
    },
  ];
  for (const kind of kinds) {
    const collector = fn(kind.entry);
    const stage = (name: string) => pipeline.stages.find((s) => s.source === kind.source && s.stage === name);
    const collect = stage('collect');
    const transformStage = stage('transform');
    if (collect === undefined || transformStage === undefined) continue;
    const transformShare = transformStage.totalMs / Math.max(1, transformTotal);
    const transformMsPerJob = (transformFn.totalDurationMs * transformShare) / transformStage.attempts;
    const recordBytes = pipeline.recordItemBytes[kind.source];
    const ledgerWrites = (attemptBytes: number) =>
      writeUnits(attemptBytes, true) +
      writeUnits(summaryBytes, true) +
      writeUnits(attemptBytes, false) +
      writeUnits(summaryBytes, false);
    const lines: CostLine[] = [
      ...lambdaLines('collector', {
        memoryMB: collector.memoryMB,
        architecture: arch(kind.entry),
        msPerJob: collector.totalDurationMs / collector.messages,
        invocationsPerJob: collector.invocations / collector.messages,
      }),
      ...lambdaLines('transform', {
        memoryMB: transformFn.memoryMB,
        architecture: arch('functions/transform/handler.ts'),
        msPerJob: transformMsPerJob,
        invocationsPerJob: transformFn.invocations / transformFn.messages,
      }),
      sqsLine(
        'jobs queue + transform queue',
        2 + 2 * (receivesPerMessage + deletesPerMessage),
        `(1 send by upstream + 1 send by the S3 notification) + 2 messages × (${receivesPerMessage.toFixed(3)} receives + ${deletesPerMessage.toFixed(3)} batch deletes per message, measured)`,
      ),
      ...s3Lines(kind.collection.sluicePutsPerPage, 2, kind.collection.sluiceBytesPerPage),
      dynamoLine(
        'job ledger (collect + transform attempts, with byTrace index)',
        ledgerWrites(collect.attemptItemBytes) + ledgerWrites(transformStage.attemptItemBytes),
        `2 attempts × [transaction: attempt item (${collect.attemptItemBytes} / ${transformStage.attemptItemBytes} B) ×2 + summary item (${summaryBytes} B) ×2; index copies ×1]`,
      ),
      dynamoLine(
        "collection claim (the job's claim item, with byTrace index)",
        2 * (writeUnits(CLAIM_ITEM_BYTES, false) * 2) + writeUnits(CLAIM_ITEM_BYTES, true) + 1,
        `claim + release (conditional UpdateItems, ${CLAIM_ITEM_BYTES} B or less) ×1 + index copy ×1 each; collectedAt set in the collect transaction ×2 + index copy ×1`,
      ),
      dynamoLine(
        'records (conditional upserts)',
        Math.round(kind.recordsPerJob) * writeUnits(recordBytes ?? 1, false),
        `${Math.round(kind.recordsPerJob)} records × ${writeUnits(recordBytes ?? 1, false)} WRU (${
          recordBytes === undefined
            ? 'size not sampled in this run; under 1 KB assumed'
            : `${recordBytes} B each`
        }, created or changed; an unchanged record costs a failed conditional write plus a touch)`,
      ),
      logsLine(totalLogBytes / Math.max(1, pipeline.succeeded)),
    ];
    result.set(kind.source, lines);
  }
  return result;
}

/** Lambda compute (priced by measured duration) and everything priced per request or byte. */
function splitCost(lines: readonly CostLine[]): { compute: number; requests: number } {
  const compute = lines.filter((l) => l.unit === 'GB-s').reduce((sum, l) => sum + l.dollarsPerMillionJobs, 0);
  return { compute, requests: totalPerMillionJobs(lines) - compute };
}

/** The summary table: one row per measurement, Sluice against its baseline where it has one. */
export function renderTable(json: unknown): string {
  const run = parseRun(json);
  const rows: string[][] = [];
  for (const c of [run.browser, run.http]) {
    if (c === undefined) continue;
    const what = c.kind === 'browser' ? 'Browser collection' : 'HTTP collection';
    rows.push([
      `${what} (${c.source}, ${c.settings.concurrency} at a time), pages/min`,
      formatSpread(c.sluice),
      `${c.baselineName}: ${formatSpread(c.baseline)}`,
      ratio(c.ratio),
    ]);
    rows.push([
      `  … Sluice's collector alone (nothing stored), pages/min`,
      formatSpread(c.sluiceFetchOnly),
      '',
      `${(c.sluiceFetchOnly.median / c.baseline.median).toFixed(2)}×`,
    ]);
  }
  if (run.transform !== undefined) {
    const t = run.transform;
    for (const full of t.full) {
      rows.push([
        `Transform (demo-catalog), ${full.concurrency} at a time: records/s · raw MiB/s`,
        `${formatSpread(full.recordsPerSecond)} · ${n(full.rawMBPerSecond.median)}`,
        `bare parser: ${formatSpread(t.floor.recordsPerSecond)} · ${n(t.floor.rawMBPerSecond.median)}`,
        `${(full.recordsPerSecond.median / t.floor.recordsPerSecond.median).toPrecision(2)}× of the floor`,
      ]);
    }
    rows.push([
      '  … parse + validate + hash, in memory: records/s',
      formatSpread(t.parseAndValidate.recordsPerSecond),
      '',
      `${(t.parseAndValidate.recordsPerSecond.median / t.floor.recordsPerSecond.median).toFixed(2)}× of the floor`,
    ]);
  }
  if (run.replay !== undefined) {
    const r = run.replay;
    rows.push([
      `Replay over ${r.objectsInPrefix.toLocaleString('en-US')} raw objects (${r.manifests} fetches), ${r.concurrency} at a time`,
      `${n((r.objectsInPrefix / r.wallMs) * 1000)} stored objects/s · ${n(r.objectsPerSecond)} read/s · ${n(r.recordsPerSecond)} records/s`,
      '',
      `tenths: ${formatSpread(r.objectsPerSecondByTenth)} read/s`,
    ]);
  }
  if (run.coldStart !== undefined) {
    for (const f of run.coldStart.functions) {
      rows.push([
        `Cold start ${f.entry}`,
        `init ${formatSpread(f.initMs, 'ms')}`,
        `bundle ${kb(f.bundleBytes)}, asset dir ${mb(f.assetDirBytes)}`,
        '',
      ]);
    }
    const b = run.coldStart.browser;
    rows.push([
      'Chromium: unpack into empty TMPDIR · first launch · warm launch',
      `${formatSpread(b.unpackMs, 'ms')} · ${formatSpread(b.firstLaunchMs, 'ms')} · ${formatSpread(b.warmLaunchMs, 'ms')}`,
      '',
      '',
    ]);
  }
  if (run.pipeline !== undefined) {
    const p = run.pipeline;
    rows.push([
      `Pipeline, ${p.jobs} jobs locally: jobs/min · enqueue→record p50 / p95`,
      `${n(p.jobsPerMinute)} · ${ms(p.latencyMs.p50 ?? Number.NaN)} / ${ms(p.latencyMs.p95 ?? Number.NaN)}`,
      `${p.succeeded} succeeded, ${p.deadLettered} dead-lettered, ${p.handedOff} handed off, ${p.unaccounted} unaccounted`,
      '',
    ]);
  }
  const cost = costBySource(run);
  for (const [source, lines] of cost ?? []) {
    const { compute, requests } = splitCost(lines);
    rows.push([
      `Cost, ${source}: $ per million jobs (${PRICES.region}, list prices of ${PRICES_AS_OF})`,
      `$${n(totalPerMillionJobs(lines))}`,
      `Lambda compute $${n(compute)} (local durations: an upper bound) + requests and bytes $${n(requests)}`,
      '',
    ]);
  }
  return table(['measure', 'Sluice', 'baseline / detail', 'Sluice ÷ baseline'], rows);
}

function collectionSection(c: CollectionResult, number: number): string {
  const steps = table(
    ['step (per job)', 'median', 'p95'],
    c.steps.map((s) => [s.step, ms(s.medianMs), ms(s.p95Ms)]),
  );
  const faster = c.ratio.median >= 1 ? 'faster' : 'slower';
  return `## ${number}. ${c.kind === 'browser' ? 'Browser' : 'HTTP'} collection: Sluice vs ${c.baselineName}

Source \`${c.source}\` on the demo site, ${c.settings.concurrency} pages in flight on each side,
${c.settings.repeats} repeats of ${c.settings.pagesPerRepeat} pages after ${c.settings.warmupPages}
warm-up pages each (not counted). Repeats alternate who goes first.

- **Sluice: ${formatSpread(c.sluice, 'pages/min')}** — the whole collection through the collector's core
  (\`collectJob\`): ${c.kind === 'browser' ? 'render in a fresh browser context, ' : 'fetch, '}raw artifacts
  and \`manifest.json\` last into the raw bucket (moto; ${n(c.sluicePutsPerPage ?? 0)} S3 PUTs with the manifest, ${kb(c.sluiceBytesPerPage)} per page), between claiming the job in the ledger (a conditional UpdateItem) and recording
  the attempt (a DynamoDB transaction) and releasing the claim, all in moto.
- **${c.baselineName}: ${formatSpread(c.baseline, 'pages/min')}** — Crawlee's defaults, with the page's HTML
  stored in a key-value store and one dataset item per page, on local disk (${kb(c.baselineBytesPerPage)} per
  page including its request queue).
- **Sluice ÷ ${c.baselineName}: ${ratio(c.ratio)}** per pair of repeats: Sluice is ${faster} here.
- Sluice's collector alone, nothing stored: ${formatSpread(c.sluiceFetchOnly, 'pages/min')}.
- Failures: Sluice ${c.sluiceFailures}, ${c.baselineName} ${c.baselineFailures}.${c.failureSamples.length > 0 ? ` First: ${c.failureSamples.slice(0, 2).join('; ')}` : ''}

How: Sluice is driven in this process through the collector's core (\`collectJob\`) with the real
adapters (${c.kind === 'browser' ? 'BrowserCollector and BrowserSession, launched as `launchChromium` does' : 'HttpCollector'}, S3RawStore, DynamoJobLedger),
built with the options of its Lambda entry point, not through the bundled handler in a local Lambda
container: Crawlee runs in-process too, so both sides get the same process model (one Node.js
process${c.kind === 'browser' ? ', one browser with several pages in flight' : ''}); the emulated event source
mapping and worker-thread hop stay out of a collector comparison (part 6 measures the bundles end to
end); and each step can be timed from outside the collector without changing it.${
    c.kind === 'browser'
      ? ` Both sides run the same Chromium binary (@sparticuz/chromium's, unpacked once) with the flags
the collector passes (\`safeChromiumArgs(chromium.args)\`), headless, and wait for the same ready
selector before taking the DOM. Crawlee keeps its defaults otherwise: one persistent browser context
shared by its pages, browser fingerprints injected, \`load\` navigation, a new browser every 100 pages,
no resource blocking, no proxy; Sluice opens a fresh context per job behind the job's own egress
proxy (an in-process forward proxy that resolves and checks every connection against the source's
allowlist; the browser itself sits behind a deny-all one), blocks the source's blocked resource types
(images, fonts and media by default), and also takes a full-page screenshot and keeps the response
body and console log.`
      : ` Crawlee's CheerioCrawler fetches through got-scraping with generated browser headers and parses
every page with cheerio before its handler runs; Sluice's HTTP collector parses nothing (the
transform does), checks every hop against the egress allowlist and connects only to addresses the
egress guard has resolved and admitted.`
  }

Where a Sluice job's time goes (medians and p95 over every measured job; steps overlap with
other jobs' steps, and the browser steps are inside \`collector.collect()\`):

${steps}
`;
}

function memorySection(run: BenchRun): string {
  const m = run.motoTransactionMemory;
  if (m === undefined) return '';
  return `Unpatched, moto 5.2's TransactWriteItems deep-copies each table it touches, once per item, and
keeps the copies; concurrent transactions can also fail with HTTP 500 ("dictionary changed size
during iteration"). The job ledger writes one transaction per attempt, so memory grows with the
square of the jobs run. Measured in this run on a fresh moto, ${m.transactions} ledger transactions one at a time:

${table(
  ['moto', 'resident memory before → after', 'time'],
  [
    ['as installed', `${n(m.unpatched.beforeMiB)} → ${n(m.unpatched.afterMiB)} MiB`, ms(m.unpatched.ms)],
    ['with bench/moto-patch', `${n(m.patched.beforeMiB)} → ${n(m.patched.afterMiB)} MiB`, ms(m.patched.ms)],
  ],
)}

On this machine, \`npm start -- --jobs 1000\` with moto as installed got moto killed by the kernel's
OOM killer at 21.7 GB resident after about 950 jobs (found while writing this benchmark). Every moto
the benchmark starts therefore loads \`bench/moto-patch/sitecustomize.py\`: no table copy. (One
DynamoDB request at a time, which moto's threaded server needs for atomic conditional writes, is
now the local emulator's own launcher, \`local/emulator.ts\`, for every moto including these.)
Nothing in Sluice changes; the patch keeps the emulator alive and its transaction cost flat.
`;
}

function slimSection(run: BenchRun): string {
  const w = run.transformSlimWhatIf;
  const current = run.coldStart?.functions.find((f) => f.entry === 'functions/transform/handler.ts');
  if (w === undefined || current === undefined) return '';
  return `
### 5b. What-if: the transform bundle with \`cheerio/slim\`

The parsers import cheerio's main entry, which brings an HTTP client (undici), an encoding sniffer
(iconv-lite) and parse5 for \`cheerio.fromURL\`, unused by a parser. Built again with that import
resolved to \`cheerio/slim\` (htmlparser2 only) and PipelineFunction's esbuild options
(\`bench/bundle-whatif.ts\`):

${table(
  ['transform bundle', 'bundle', 'module init'],
  [
    ['as synthesized', kb(current.bundleBytes), formatSpread(current.initMs, 'ms')],
    ['with cheerio/slim', kb(w.bundleBytes), formatSpread(w.initMs, 'ms')],
  ],
)}

The slim parsers gave the same candidates as the current ones on ${w.parsersAgree.agree} of
${w.parsersAgree.pages} demo pages${w.parsersAgree.firstDifference === undefined ? '' : ` (first difference: ${w.parsersAgree.firstDifference})`}.
htmlparser2 is not an HTML5-conformant parser (parse5 is), so real pages can parse differently:
the change belongs to the parsers' owners, with their tests.
`;
}

function variantsSection(variants: readonly VariantResult[]): string {
  const stepOf = (v: VariantResult, name: string) => v.steps.find((s) => s.step === name);
  return `### 1b. What-ifs: the screenshot and the zygote

The same Sluice collection with one thing changed from outside the collector (its code unchanged):
the options of its \`page.screenshot\` call, through the benchmark's browser wrapper, or Chromium
launched without \`--no-zygote\` (@sparticuz/chromium passes it for \`--single-process\`, which Sluice
removes; without a zygote every new context's renderer starts as a fresh process instead of a fork).
Interleaved with the collector as it is, same sizes and concurrency as above, each variant with its
own warm browser. The new-page step is where the zygote shows:

${table(
  [
    'variant',
    'pages/min',
    '÷ as is',
    'screenshot step median / p95',
    'new page median',
    'collector.collect() median',
    'whole collection median',
  ],
  variants.map((v) => [
    v.name,
    formatSpread(v.pagesPerMinute),
    ratio(v.ratioToCurrent),
    stepOf(v, 'screenshot') === undefined
      ? '—'
      : `${ms(stepOf(v, 'screenshot')?.medianMs ?? 0)} / ${ms(stepOf(v, 'screenshot')?.p95Ms ?? 0)}`,
    ms(stepOf(v, 'new page')?.medianMs ?? Number.NaN),
    ms(stepOf(v, 'collector.collect()')?.medianMs ?? Number.NaN),
    ms(stepOf(v, 'whole collection (collectJob)')?.medianMs ?? Number.NaN),
  ]),
)}
`;
}

/** The largest per-job steps of a profile, excluding the totals that contain them. */
function largestSteps(steps: readonly { step: string; medianMs: number }[], count: number): string {
  return [...steps]
    .filter(
      (s) =>
        !s.step.startsWith('whole') &&
        !s.step.startsWith('collector.collect') &&
        !s.step.includes('incl. wait'),
    )
    .sort((a, b) => b.medianMs - a.medianMs)
    .slice(0, count)
    .map((s) => `${s.step} (${ms(s.medianMs)})`)
    .join(', ');
}

/** Where Sluice loses, why, and what would change it: computed from this run's figures. */
function findingsSection(run: BenchRun): string {
  const items: string[] = [];
  const stepMedian = (c: CollectionResult, name: string) => c.steps.find((s) => s.step === name)?.medianMs;
  for (const c of [run.browser, run.http]) {
    if (c === undefined) continue;
    const ledgerWrite = stepMedian(c, 'ledger write');
    const cal = run.calibration;
    // moto's own time per collection, one call at a time: the claim, its artifact and manifest
    // PUTs, one ledger transaction and the release. moto serves them from one process, so this
    // bounds the stored rate. (Runs before the claim existed have no claim figure.)
    const claimMs = cal?.ledgerClaimAndReleaseMs?.median ?? 0;
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
  transaction at ${ms(cal.ledgerTransactionEmptyMs.median)}${claimMs > 0 ? ` and the job's claim and release at ${ms(claimMs)}` : ''}, part 0), a ceiling of about ${n(60_000 / motoMs)} collections/min for the
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
  if (run.transform !== undefined) {
    const t = run.transform;
    const full = t.full[0];
    const upsert = run.calibration?.recordUpsertMs.median;
    const cpuRatio = t.parseAndValidate.recordsPerSecond.median / t.floor.recordsPerSecond.median;
    const addedMicroseconds =
      1e6 / t.parseAndValidate.recordsPerSecond.median - 1e6 / t.floor.recordsPerSecond.median;
    items.push(`- **Transform**: Sluice's CPU work (parse, validate, hash) runs at
  ${cpuRatio.toFixed(2)}× the bare parser's records/s: validating and hashing add ${n(Math.max(0, addedMicroseconds))} µs per record${
    cpuRatio < 0.9
      ? " (zod's schema check and the content hash: visible beside a fast parser, but microseconds against a record's conditional write, which takes milliseconds)"
      : ', within the noise of the parser'
  }; the full transform runs at ${full === undefined ? '—' : (full.recordsPerSecond.median / t.floor.recordsPerSecond.median).toPrecision(2)}× of the floor
  because every record is a conditional write to moto${upsert === undefined ? '' : ` (${ms(upsert)} per UpdateItem, one at a time)`}.
  DynamoDB's single-digit-millisecond writes would leave the transform far closer to the floor; this
  machine cannot show how close.`);
  }
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
  if (run.pipeline !== undefined) {
    items.push(`- **Pipeline**: ${n(run.pipeline.jobsPerMinute)} jobs/min locally, every stage's storage in one moto process
  serving DynamoDB one request at a time, on two shared cores; a catalogue job's transform (20 conditional
  writes) is the slowest stage in the ledger. The local figure measures the emulator as much as Sluice.`);
  }
  return `## Findings: where Sluice loses, and why

${items.join('\n')}
`;
}

export function renderResults(json: unknown): string {
  const run = parseRun(json);
  const m = run.machine;
  const parts: string[] = [];
  parts.push(`# Benchmarks: Sluice against the tools a team would pick instead

_Generated by \`npm run bench -- --write\` (run ${run.runId}, ${run.startedAt} → ${run.finishedAt ?? 'unfinished: a checkpoint'}${run.quick ? ', **--quick: sizes too small for the figures to mean anything**' : ''}).
Do not edit by hand: change bench/ and run it again._

## Machine

| | |
| --- | --- |
| CPU | ${m.cpuModel}, ${m.cores} cores |
| memory | ${m.memoryGiB} GiB |
| OS | ${m.os} |
| Node.js | ${m.node} |
| Chromium | ${run.chromiumVersion ?? 'not launched'} (@sparticuz/chromium), flags as the collector passes them |
| AWS emulator | ${run.emulator.name} ${run.emulator.version} (server mode, one Python process) |
| load average (1, 5, 15 min) | at start ${m.loadAverageAtStart.join(', ')}; at end ${run.loadAverageAtEnd?.join(', ') ?? '—'} |
| 1-min load average during the run | ${run.loadAverageSamples === undefined || run.loadAverageSamples.length === 0 ? '—' : `${formatSpread(spread(run.loadAverageSamples))}, sampled every ${LOAD_SAMPLE_SECONDS} s`} |
| commit | ${m.gitCommit} |

The cores are shared with other engineers' test runs, so every figure is a median over repeats
with its range (min–max, n) beside it; take differences smaller than the range as noise.

## Summary

${renderTable(json)}

Reproduce: \`npm run bench\` (prints this table), \`npm run bench -- --write\` (rewrites this file),
\`npm run bench -- --only browser,http\` (some parts), \`npm run bench -- --quick\` (a smoke run).
Raw figures of every run: \`.sluice/bench/results-<run>.json\`; re-render one with
\`npm run bench -- --from <file> --write\`.
`);
  parts.push(findingsSection(run));
  if (run.calibration !== undefined) {
    const c = run.calibration;
    parts.push(`## 0. Calibration: what moto costs per call

Every figure that stores something stores it in moto, a Python emulator serving all of S3, SQS and
DynamoDB from one process (one core at most). One call at a time, ${c.calls} calls each, through
Sluice's own adapters:

${table(
  ['call', 'median (min–max)'],
  [
    ['S3 PutObject, 8 KiB, If-None-Match + SHA-256 (S3RawStore.put)', formatSpread(c.s3PutMs, 'ms')],
    ['S3 GetObject, 8 KiB (S3RawStore.get)', formatSpread(c.s3GetMs, 'ms')],
    [
      'DynamoDB conditional UpdateItem, new record (DynamoRecordStore.upsert)',
      formatSpread(c.recordUpsertMs, 'ms'),
    ],
    [
      'DynamoDB TransactWriteItems, 2 items, empty ledger (DynamoJobLedger.recordAttempt)',
      formatSpread(c.ledgerTransactionEmptyMs, 'ms'),
    ],
    [
      `… the same with ${c.ledgerItemsWhenFull} items in the ledger table`,
      formatSpread(c.ledgerTransactionFullMs, 'ms'),
    ],
    ...(c.ledgerClaimAndReleaseMs === undefined
      ? []
      : [
          [
            "A job's claim and release: 2 conditional UpdateItems (DynamoJobLedger.claim, .release)",
            formatSpread(c.ledgerClaimAndReleaseMs, 'ms'),
          ],
        ]),
  ],
)}

${memorySection(run)}`);
  }
  if (run.browser !== undefined) parts.push(collectionSection(run.browser, 1));
  if (run.browserVariants !== undefined) parts.push(variantsSection(run.browserVariants));
  if (run.http !== undefined) parts.push(collectionSection(run.http, 2));
  if (run.transform !== undefined) {
    const t = run.transform;
    parts.push(`## 3. Transform

${t.manifestsPerRepeat} stored demo-catalog observations per repeat (${t.recordsPerRepeat} records,
${kb(t.rawBytesPerRepeat)} of raw HTML), each with products no earlier observation had, so every
upsert creates. Each repeat writes into a fresh records table (the template's key schema). The
full transform is \`transformManifest\`: read the manifest and the raw body from S3 (moto), check
its checksum, parse (cheerio), validate (zod), hash, and upsert each record conditionally into
DynamoDB (moto, 8 writes in flight). The ledger write the Lambda handler adds is not included.

${table(
  ['what', 'records/s', 'raw MiB/s'],
  [
    [t.floor.label, formatSpread(t.floor.recordsPerSecond), formatSpread(t.floor.rawMBPerSecond)],
    [
      t.parseAndValidate.label,
      formatSpread(t.parseAndValidate.recordsPerSecond),
      formatSpread(t.parseAndValidate.rawMBPerSecond),
    ],
    ...t.full.map((f) => [f.label, formatSpread(f.recordsPerSecond), formatSpread(f.rawMBPerSecond)]),
  ],
)}

Per manifest, one at a time (the upserts overlap, so their sum exceeds their wall time):

${table(
  ['step', 'median', 'p95'],
  t.steps.map((s) => [s.step, ms(s.medianMs), ms(s.p95Ms)]),
)}

Failures: ${t.failures}.
`);
  }
  if (run.replay !== undefined) {
    const r = run.replay;
    parts.push(`## 4. Replay

What was measured: \`replayRawObjects\` in \`bench/replay-target.ts\`: Sluice's replay
(\`replayRange\` in \`functions/core/replay.ts\`, as \`npm run replay\` runs it) over one day of
\`demo-rates\`, with the real S3 catalogue listing and file checkpoints, as fast as it can send.
Only the transform queue is replaced: each manifest sent goes to ${r.concurrency} in-process workers that
run the transform's core (\`transformManifest\`) — read the manifest and its primary artifact (the
rendered DOM), parse, validate, upsert into a fresh records table — never fetching from the source.
SQS and the transform Lambda's polling are left out (the pipeline part measures those;
\`npm run bench:replay\` measures replay through them). The stored objects are browser observations
(response, rendered DOM, screenshot, console log, manifest: five per fetch), copied from real
collections of each board with the board renamed so every record is new, plus the browser part's
own collections of the same day.

| | |
| --- | --- |
| raw objects under the day's prefix | ${r.objectsInPrefix.toLocaleString('en-US')} (${r.manifests} manifests replayed) |
| wall time | ${n(r.wallMs / 1000)} s (of which replayRange listing and sending: ${ms(r.sendMs)}) |
| stored objects covered per second | ${n((r.objectsInPrefix / r.wallMs) * 1000)} |
| objects read per second (manifest + primary artifact) | ${n(r.objectsPerSecond)}; by tenth of the run ${formatSpread(r.objectsPerSecondByTenth)} |
| records upserted per second | ${n(r.recordsPerSecond)} (${r.records} records) |
| failures | ${r.failures}${r.firstFailure === undefined ? '' : ` (first: ${r.firstFailure})`} |

One long run, not repeated: the spread is across the ten tenths of the run.
`);
  }
  if (run.coldStart !== undefined) {
    const c = run.coldStart;
    parts.push(`## 5. Cold start

Bundles as \`cdk synth --quiet\` writes them to \`cdk.out\` (the bundle file, and the whole asset
directory Lambda unpacks). Module initialisation: \`import()\` of the bundle in a fresh Node.js
process with the function's environment (\`bench/import-probe.mjs\`), after one import that only
warms the page cache; Lambda's own runtime start comes on top.

${table(
  ['function', 'memory, arch', 'bundle', 'asset dir', 'module init'],
  c.functions.map((f) => [
    f.entry,
    `${f.memoryMB} MB, ${f.architecture}`,
    kb(f.bundleBytes),
    mb(f.assetDirBytes),
    formatSpread(f.initMs, 'ms'),
  ]),
)}

Chromium (\`bench/browser-launch-probe.ts\`, a fresh process each time, TMPDIR empty as in a new
Lambda container): unpacking @sparticuz/chromium's brotli archives
**${formatSpread(c.browser.unpackMs, 'ms')}**; first launch until a page can open
**${formatSpread(c.browser.firstLaunchMs, 'ms')}**; a warm launch (binary already unpacked)
**${formatSpread(c.browser.warmLaunchMs, 'ms')}**. A new browser container pays unpack + first launch
once; Sluice keeps one browser per warm container, so later jobs pay neither.
${slimSection(run)}`);
  }
  if (run.pipeline !== undefined) {
    const p = run.pipeline;
    parts.push(`## 6. Pipeline

\`${p.jobs}\` demo jobs (every fifth a browser job) through the local environment exactly as
\`npm start -- --jobs ${p.jobs}\` runs it: the real bundles in local Lambda containers, pollers in place
of event source mappings, moto. Jobs per minute count every job that ended (records written,
dead-lettered or handed off) over the time from the first enqueue to the last ledger update.

| | |
| --- | --- |
| jobs per minute | ${n(p.jobsPerMinute)} (wall ${n(p.wallMs / 1000)} s) |
| enqueue → record | p50 ${ms(p.latencyMs.p50 ?? Number.NaN)}, p95 ${ms(p.latencyMs.p95 ?? Number.NaN)}, max ${ms(p.latencyMs.max ?? Number.NaN)} |
| outcomes | ${p.succeeded} succeeded, ${p.deadLettered} dead-lettered${Object.keys(p.deadLetterReasons).length > 0 ? ` (${JSON.stringify(p.deadLetterReasons)})` : ''}, ${p.handedOff} handed off, ${p.unaccounted} unaccounted |
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
`);
  }
  const cost = costBySource(run);
  if (cost !== undefined) {
    const sections = [...cost].map(
      ([source, lines]) => `### ${source}: $${n(totalPerMillionJobs(lines))} per million jobs

Lambda compute $${n(splitCost(lines).compute)}, priced from durations measured here (an upper bound:
every call to S3 and DynamoDB went to moto, one DynamoDB request at a time, on two shared cores);
everything priced per request or per byte $${n(splitCost(lines).requests)} (exact counts, independent of speed).

${table(
  ['service', 'item', 'per job', 'working', '$ / million jobs'],
  lines.map((l) => [
    l.service,
    l.item,
    `${l.quantityPerJob.toPrecision(3)} ${l.unit}`,
    l.formula,
    `$${n(l.dollarsPerMillionJobs)}`,
  ]),
)}
`,
    );
    parts.push(`## 7. Cost per million jobs

List prices, region ${PRICES.region}, written down on ${PRICES_AS_OF} (first tier, no free tier;
DynamoDB on-demand at the rates in force since AWS halved them in November 2024). They are not fetched
by the benchmark — this machine reaches no AWS price list — so check them against AWS's pricing
pages before quoting a figure:
Lambda $${PRICES.lambdaGbSecond.arm64}/GB-s arm64 and $${PRICES.lambdaGbSecond.x86_64}/GB-s x86_64, $${PRICES.lambdaPerMillionRequests} per million requests;
SQS standard $${PRICES.sqsPerMillionRequests} per million requests (each 64 KiB of payload is one request);
S3 Standard $${PRICES.s3PutPerThousand} per 1,000 PUTs, $${PRICES.s3GetPerThousand} per 1,000 GETs, $${PRICES.s3StandardGbMonth} per GB-month;
DynamoDB on-demand $${PRICES.dynamoPerMillionWriteUnits} per million write request units (a transactional write costs two per KB);
CloudWatch Logs $${PRICES.cloudWatchLogsIngestedPerGb} per GB ingested.

Durations are the pipeline run's (part 6): each function's invocation time, cold starts and
their initialisation included (Lambda bills INIT), divided among the messages it processed; the
transform's time is split between sources by their share of transform attempt time in the
ledger. Memory and architecture come from the synthesized template. Item sizes are computed from
the items read back from the ledger and records tables. Requests per message are the pollers'
measured ones. Not included: the idle long-polling of event source mappings (a fixed cost per
queue, not per job), X-Ray traces, CloudWatch metrics and alarms (per metric-month), KMS calls of
the AWS-managed table keys, data transfer.

${sections.join('\n')}`);
  }
  return `${parts.join('\n')}\n`;
}
