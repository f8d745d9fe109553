/**
 * `npm run bench`: Sluice against the tools a team would pick instead, in one run on one machine.
 * Every ratio compares figures measured in this same run. Prints a table; with `--write`, also
 * writes bench/RESULTS.md (with the machine's description). The raw figures of every run are kept
 * in .sluice/bench/results-<run>.json; `--from <file>` renders them again without measuring.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium as playwright } from 'playwright-core';
import { synthesize } from '../local/environment.js';
import { CDK_OUT_DIR, PROJECT_ROOT, SCRATCH_DIR } from '../local/paths.js';
import type { Collection } from './sluice-ports.js';
import type { ScreenshotChange } from './step-profile.js';

const BENCH_DIR = join(SCRATCH_DIR, 'bench');
// @sparticuz/chromium unpacks into TMPDIR; keep the bench's copy apart from /tmp and from the
// local containers' own.
process.env.TMPDIR = join(BENCH_DIR, 'tmp');
mkdirSync(process.env.TMPDIR, { recursive: true });

const SECTIONS = ['calibration', 'browser', 'http', 'transform', 'replay', 'cold-start', 'pipeline'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'pipeline-jobs': { type: 'string' },
    'steady-jobs': { type: 'string' },
    'no-synth': { type: 'boolean', default: false },
    from: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run bench -- [--write] [--quick] [--only a,b] [--no-synth] [--from results.json]
  --write      write bench/RESULTS.md from this run
  --quick      tiny sizes: checks that every part runs (figures are not meaningful)
  --only LIST  run only these parts: ${SECTIONS.join(', ')}
  --pipeline-jobs N  jobs enqueued at once for the pipeline's capacity (default 1000)
  --steady-jobs N    jobs in each steady-rate latency run of the pipeline (default 200)
  --no-synth   reuse cdk.out instead of running cdk synth first
  --from FILE  render a previous run's JSON (and --write it) without measuring`);
  process.exit(0);
}

const only = new Set<Section>(
  values.only === undefined
    ? SECTIONS
    : values.only.split(',').map((name) => {
        if (!(SECTIONS as readonly string[]).includes(name)) {
          console.error(
            `--only names unknown part ${JSON.stringify(name)}; expected some of ${SECTIONS.join(', ')}`,
          );
          process.exit(2);
        }
        return name as Section;
      }),
);

/** Sizes of a full run, and of a --quick one that only proves every part runs. */
const DEFAULT_SIZES = values.quick
  ? {
      calibration: { calls: 5, fillLedgerAttempts: 10, memoryTransactions: 20 },
      browser: { pagesPerRepeat: 6, repeats: 1, warmupPages: 2, concurrency: 4 },
      http: { pagesPerRepeat: 20, repeats: 1, warmupPages: 5, concurrency: 25 },
      transform: { manifests: 10, repeats: 1, concurrency: 10 },
      replay: { fetches: 40, concurrency: 10 },
      coldStart: { samples: 2, browserSamples: 1 },
      pipeline: { jobs: 20, steady: { jobs: 10, warmupJobs: 2, utilisation: 0.6 } },
    }
  : {
      // Concurrency = the source's maxConcurrency × batchSize: the most jobs its event source
      // mapping can have in flight (Powertools runs a batch's records in parallel).
      calibration: { calls: 50, fillLedgerAttempts: 500, memoryTransactions: 400 },
      browser: { pagesPerRepeat: 40, repeats: 5, warmupPages: 4, concurrency: 4 },
      http: { pagesPerRepeat: 300, repeats: 5, warmupPages: 25, concurrency: 25 },
      // A transform Lambda's batch is up to 10 manifests, processed in parallel.
      transform: { manifests: 40, repeats: 3, concurrency: 10 },
      // A browser fetch stores five objects: 2,000 fetches are 10,000 raw objects.
      replay: { fetches: 2000, concurrency: 10 },
      coldStart: { samples: 5, browserSamples: 3 },
      // Latency at 60 % of the capacity just measured: well below it, so no queue builds up.
      pipeline: { jobs: 1000, steady: { jobs: 200, warmupJobs: 20, utilisation: 0.6 } },
    };

/** A size given on the command line, or the default. */
function sizeOption(name: 'pipeline-jobs' | 'steady-jobs', fallback: number): number {
  const value = values[name];
  if (value === undefined) return fallback;
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return size;
}
export const SIZES = {
  ...DEFAULT_SIZES,
  pipeline: {
    jobs: sizeOption('pipeline-jobs', DEFAULT_SIZES.pipeline.jobs),
    steady: {
      ...DEFAULT_SIZES.pipeline.steady,
      jobs: sizeOption('steady-jobs', DEFAULT_SIZES.pipeline.steady.jobs),
    },
  },
};

const log = (line: string) => console.log(line);

async function measure() {
  const { describeMachine } = await import('./machine.js');
  const runId = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);
  const machine = describeMachine(PROJECT_ROOT);
  const startedAt = new Date().toISOString();
  const results: { [key: string]: unknown } = {
    runId,
    startedAt,
    quick: values.quick,
    sizes: SIZES,
    machine,
  };
  // The machine is shared: the load while measuring, not just at the ends, says how far to trust it.
  const { loadavg } = await import('node:os');
  const { LOAD_SAMPLE_SECONDS } = await import('./results-md.js');
  const loadAverageSamples: number[] = [];
  results.loadAverageSamples = loadAverageSamples;
  const loadSampler = setInterval(
    () => loadAverageSamples.push(Math.round((loadavg()[0] ?? 0) * 100) / 100),
    LOAD_SAMPLE_SECONDS * 1000,
  );
  loadSampler.unref();
  const file = join(BENCH_DIR, `results-${runId}.json`);
  // Saved after every part, so a run that dies late keeps what it measured.
  const checkpoint = () => writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  if (!values['no-synth']) {
    log('• cdk synth (the bundles every part measures)…');
    synthesize();
  }
  const workarounds = await import('./moto-workarounds.js');
  workarounds.usePatchedMoto();
  // The pipeline first: it is the longest part and the one most likely to fail.
  if (only.has('pipeline')) {
    log(
      `• 6. pipeline: capacity (${SIZES.pipeline.jobs} demo jobs at once), then latency at a steady rate (${SIZES.pipeline.steady.jobs} jobs, twice)`,
    );
    const { benchPipeline } = await import('./pipeline.js');
    results.pipeline = await benchPipeline({
      jobs: SIZES.pipeline.jobs,
      steady: SIZES.pipeline.steady,
      timeoutMs: 40 * 60_000,
      log,
    });
    checkpoint();
  }
  const { startAwsStage } = await import('./aws-stage.js');
  const { startDemoSite } = await import('../local/demo-site/server.js');
  const ports = await import('./sluice-ports.js');
  const logDir = join(BENCH_DIR, 'logs', runId);
  const stage = await startAwsStage(logDir);
  const site = await startDemoSite();
  results.emulator = { name: 'moto', version: stage.emulatorVersion };
  const { appFunctions } = await import('./cold-start.js');
  results.functionConfig = appFunctions(stage.stacks);
  const overrides = ports.localOriginOverrides(site.origin);
  const rawStore = ports.rawStore(stage.s3, stage.rawBucket);
  const ledgerForBatch = async (label: string) =>
    ports.jobLedger(stage.documents, await stage.freshTable('ledger', label));
  const executablePath = await ports.chromiumExecutable();
  let ratesCollections: Collection[] = [];
  try {
    if (only.has('calibration')) {
      log("• 0. calibration: moto's own time per call, one call at a time");
      const { calibrateMoto } = await import('./moto-calibration.js');
      results.calibration = await calibrateMoto({
        rawStore,
        recordStore: ports.recordStore(stage.documents, await stage.freshTable('records', 'calibration')),
        ledger: ports.jobLedger(stage.documents, await stage.freshTable('ledger', 'calibration')),
        calls: SIZES.calibration.calls,
        fillLedgerAttempts: SIZES.calibration.fillLedgerAttempts,
      });
      log(
        `  moto memory: ${SIZES.calibration.memoryTransactions} ledger transactions, without and with the patch`,
      );
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
      const { createTableLike } = await import('./aws-stage.js');
      results.motoTransactionMemory = await workarounds.measureTransactionMemory(
        SIZES.calibration.memoryTransactions,
        logDir,
        async (endpoint, count) => {
          const dynamodb = new DynamoDBClient({
            region: 'us-east-1',
            endpoint,
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          });
          await createTableLike(dynamodb, stage.template, stage.provisioned, 'ledger', 'ledger');
          const ledger = ports.jobLedger(DynamoDBDocumentClient.from(dynamodb), 'ledger');
          for (let i = 0; i < count; i += 1) {
            await ledger.recordAttempt({
              jobKey: `memory-${i}`,
              source: 'demo-catalog',
              traceId: `trace-${i}`,
              attempt: 1,
              stage: 'collect',
              startedAt: new Date(),
              finishedAt: new Date(),
              outcome: 'collected',
              manifestKey: `raw/source=demo-catalog/dt=2026-11-27/memory-${i}/f/manifest.json`,
              artifactKeys: [`raw/source=demo-catalog/dt=2026-11-27/memory-${i}/f/response.html`],
            });
          }
          dynamodb.destroy();
        },
      );
      const memory = results.motoTransactionMemory as {
        unpatched: { afterMiB: number };
        patched: { afterMiB: number };
      };
      log(
        `  moto after the transactions: ${memory.unpatched.afterMiB.toFixed(0)} MiB unpatched, ${memory.patched.afterMiB.toFixed(0)} MiB patched`,
      );
    }
    checkpoint();
    if (only.has('browser') || only.has('replay')) {
      const { profiledBrowser } = await import('./step-profile.js');
      const collector = ports.browserCollector({
        functions: stage.provisioned.functions,
        originOverrides: overrides,
        launch: async (proxyUrl) =>
          profiledBrowser(await ports.launchSluiceChromium(executablePath, proxyUrl)),
      });
      try {
        const session = ports.browserSession((proxyUrl) =>
          ports.launchSluiceChromium(executablePath, proxyUrl),
        );
        results.chromiumVersion = (await session.current()).version();
        await session.close();
        if (only.has('browser')) {
          log('• 1. browser collection: Sluice vs Crawlee PlaywrightCrawler (demo-rates)');
          const { compareCollection } = await import('./collection.js');
          const { startPlaywrightBaseline } = await import('./crawlee-baselines.js');
          const storageDir = join(BENCH_DIR, 'crawlee-playwright', runId);
          const launch = ports.sluiceLaunchOptions(executablePath);
          const baseline = await startPlaywrightBaseline({
            launchOptions: { ...launch, args: [...launch.args] },
            concurrency: SIZES.browser.concurrency,
            storageDir,
            readySelector: 'body[data-ready="true"]',
            readyTimeoutMs: 15_000,
          });
          try {
            results.browser = await compareCollection({
              source: 'demo-rates',
              settings: SIZES.browser,
              collector,
              rawStore,
              ledgerForBatch,
              beforeBatch: stage.purgeTransformQueue,
              baseline,
              baselineStorageDir: storageDir,
              demoSiteOrigin: site.origin,
              log,
            });
          } finally {
            await baseline.close();
          }
        }
        if (only.has('browser')) {
          log("• 1b. browser collection what-ifs: the screenshot, changed through the benchmark's wrapper");
          const { compareVariants } = await import('./collection.js');
          const variant = (
            name: string,
            screenshot?: ScreenshotChange,
            launch?: (proxyUrl: string) => Promise<Browser>,
          ) => ({
            name,
            collector: ports.browserCollector({
              functions: stage.provisioned.functions,
              originOverrides: overrides,
              launch: async (proxyUrl) =>
                profiledBrowser(
                  await (launch ?? ((url: string) => ports.launchSluiceChromium(executablePath, url)))(
                    proxyUrl,
                  ),
                  screenshot === undefined ? {} : { screenshot },
                ),
            }),
          });
          // @sparticuz/chromium passes --no-zygote (meant for --single-process, which Sluice
          // removes): every renderer is then a fresh process instead of a fork of the zygote.
          const withZygote = (proxyUrl: string) => {
            const options = ports.sluiceLaunchOptions(executablePath);
            return playwright.launch({
              ...options,
              args: options.args.filter((flag) => flag !== '--no-zygote'),
              proxy: { server: proxyUrl },
            });
          };
          const variants = [
            variant('as is: full-page PNG'),
            variant('full-page JPEG, quality 80', { type: 'jpeg', quality: 80 }),
            variant('viewport-only PNG', { fullPage: false }),
            variant('no screenshot', 'skip'),
            variant('Chromium without --no-zygote', undefined, withZygote),
          ];
          try {
            results.browserVariants = await compareVariants({
              source: 'demo-rates',
              settings: SIZES.browser,
              variants,
              rawStore,
              ledgerForBatch,
              beforeBatch: stage.purgeTransformQueue,
              log,
            });
          } finally {
            for (const v of variants) await v.collector.close();
          }
        }
        // Real collections of every board, which replay's seeding copies.
        const { RATE_BOARDS } = await import('../local/demo-site/data.js');
        const rates = ports.findSource('demo-rates');
        ratesCollections = await Promise.all(
          RATE_BOARDS.map((board) =>
            collector.collect(rates, { input: { board }, traceId: `seed-${board}`, jobKey: `seed-${board}` }),
          ),
        );
      } finally {
        await collector.close();
      }
    }

    checkpoint();
    if (only.has('http')) {
      log('• 2. HTTP collection: Sluice vs Crawlee CheerioCrawler (demo-catalog)');
      const { compareCollection } = await import('./collection.js');
      const { startCheerioBaseline } = await import('./crawlee-baselines.js');
      const storageDir = join(BENCH_DIR, 'crawlee-cheerio', runId);
      const baseline = await startCheerioBaseline({ concurrency: SIZES.http.concurrency, storageDir });
      try {
        results.http = await compareCollection({
          source: 'demo-catalog',
          settings: SIZES.http,
          collector: ports.httpCollector({
            functions: stage.provisioned.functions,
            originOverrides: overrides,
          }),
          rawStore,
          ledgerForBatch,
          beforeBatch: stage.purgeTransformQueue,
          baseline,
          baselineStorageDir: storageDir,
          demoSiteOrigin: site.origin,
          log,
        });
      } finally {
        await baseline.close();
      }
    }

    checkpoint();
    if (only.has('http')) {
      log('• 2b. HTTP collection what-if: the claim released by a write of its own (before)');
      const { compareVariants, releaseAfterRecord } = await import('./collection.js');
      const collector = ports.httpCollector({
        functions: stage.provisioned.functions,
        originOverrides: overrides,
      });
      results.httpVariants = await compareVariants({
        source: 'demo-catalog',
        settings: SIZES.http,
        variants: [
          { name: 'as is: the release in the collection transaction', collector },
          { name: 'release after the ledger write (before)', collector, ledger: releaseAfterRecord },
        ],
        rawStore,
        ledgerForBatch,
        beforeBatch: stage.purgeTransformQueue,
        log,
      });
    }

    checkpoint();
    if (only.has('transform')) {
      log('• 3. transform: parse + validate + conditional upserts vs the bare parser; write what-ifs');
      const seed = await import('./raw-seed.js');
      const transform = await import('./transform.js');
      const { transformInTransactions } = await import('./transform-transaction.js');
      const { countDynamoWrites } = await import('./dynamo-writes.js');
      const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
      // A client of its own, so its write count is the transform's alone.
      const dynamo = stage.newDynamoClient();
      const writes = countDynamoWrites(dynamo);
      const documents = DynamoDBDocumentClient.from(dynamo, {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      });
      const pages = await seed.fetchCatalogPages(site.origin);
      const seedSet = (runTag: string) =>
        seed.seedCatalogObservations({
          count: SIZES.transform.manifests,
          pages,
          rawStore,
          concurrency: 16,
          runTag,
        });
      // The same pages (same products, same content) twice: the second set observes them later.
      const firstLoad = await seedSet(`transform-${runId}`);
      const recollection = await seedSet(`transform-again-${runId}`);
      await stage.purgeTransformQueue();
      results.transform = await transform.benchTransform({
        firstLoadKeys: firstLoad.manifestKeys,
        recollectionKeys: recollection.manifestKeys,
        pages,
        rawStore,
        freshRecordStore: async (label) => {
          const table = await stage.freshTable('records', label);
          return { store: ports.recordStore(documents, table), table };
        },
        writes,
        variants: [
          transform.AS_IT_RUNS,
          transform.GUESS_PER_MANIFEST,
          {
            name: 'what-if: one TransactWriteItems per manifest',
            transform: (key, container) =>
              transformInTransactions(key, { ...container, documents, tableName: container.recordsTable }),
          },
        ],
        concurrency: SIZES.transform.concurrency,
        repeats: SIZES.transform.repeats,
        log,
      });
      dynamo.destroy();
    }

    checkpoint();
    if (only.has('replay')) {
      log(
        `• 4. replay: seeding ${SIZES.replay.fetches} browser observations (${SIZES.replay.fetches * 5} raw objects)…`,
      );
      const seed = await import('./raw-seed.js');
      const { benchReplay } = await import('./replay.js');
      const seedStarted = performance.now();
      const seeded = await seed.seedRatesObservations({
        count: SIZES.replay.fetches,
        collections: ratesCollections,
        rawStore,
        concurrency: 16,
        runTag: `replay-${runId}`,
      });
      log(
        `  seeded ${seeded.objects} objects in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s; replaying`,
      );
      await stage.purgeTransformQueue();
      results.replay = await benchReplay({
        deps: {
          s3: stage.s3,
          bucket: stage.rawBucket,
          rawStore,
          recordStore: ports.recordStore(stage.documents, await stage.freshTable('records', 'replay')),
          checkpointDir: join(BENCH_DIR, 'replay-checkpoints', runId),
        },
        source: 'demo-rates',
        // The day the seeding (and the browser part) stored everything under.
        day: new Date().toISOString().slice(0, 10),
        concurrency: SIZES.replay.concurrency,
        log,
      });
    }

    checkpoint();
    if (only.has('cold-start')) {
      log('• 5. cold start: bundle sizes, module initialisation, Chromium unpack and launch');
      const { benchColdStart } = await import('./cold-start.js');
      results.coldStart = benchColdStart({
        stacks: stage.stacks,
        cdkOutDir: CDK_OUT_DIR,
        specs: stage.provisioned.functions,
        extraEnvironment: { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: stage.endpoint },
        samples: SIZES.coldStart.samples,
        browserSamples: SIZES.coldStart.browserSamples,
        scratchDir: BENCH_DIR,
        log,
      });
      log('• 5b. cold start what-if: the transform bundle with cheerio/slim');
      const whatIf = await import('./bundle-whatif.js');
      const { measureInit, functionEnvironment } = await import('./cold-start.js');
      const { spread } = await import('./stats.js');
      const transformSpec = [...stage.provisioned.functions.values()].find(
        (f) => f.entry === 'functions/transform/handler.ts',
      );
      if (transformSpec === undefined) throw new Error('the template has no transform function');
      const outDir = join(BENCH_DIR, 'whatif', runId);
      const slim = await whatIf.buildSlimTransform(outDir);
      const initMs = measureInit(
        slim.bundle,
        'handler',
        functionEnvironment(transformSpec, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: stage.endpoint }),
        SIZES.coldStart.samples,
        'transform with cheerio/slim',
        log,
      );
      const seed = await import('./raw-seed.js');
      const catalog = (await seed.fetchCatalogPages(site.origin)).map((p) => ({
        ...p,
        source: 'demo-catalog',
      }));
      const rendered = ratesCollections.flatMap((c) =>
        c.artifacts
          .filter((a) => a.role === 'rendered-dom')
          .map((a) => ({
            source: 'demo-rates',
            url: c.response.finalUrl,
            contentType: a.contentType,
            body: a.body,
          })),
      );
      results.transformSlimWhatIf = {
        bundleBytes: slim.bytes,
        initMs: spread(initMs),
        parsersAgree: await whatIf.slimParsersAgree(outDir, [...catalog, ...rendered], ports.findParser),
      };
    }
  } finally {
    await site.close();
    await stage.stop();
  }

  clearInterval(loadSampler);
  checkpoint();
  results.finishedAt = new Date().toISOString();
  results.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  checkpoint();
  log(`• raw figures: ${file}`);
  rmSync(join(BENCH_DIR, 'crawlee-playwright'), { recursive: true, force: true });
  rmSync(join(BENCH_DIR, 'crawlee-cheerio'), { recursive: true, force: true });
  return results;
}

const results = values.from === undefined ? await measure() : JSON.parse(readFileSync(values.from, 'utf8'));
const { renderResults, renderTable } = await import('./results-md.js');
console.log(`\n${renderTable(results)}`);
if (values.write) {
  const path = join(PROJECT_ROOT, 'bench', 'RESULTS.md');
  writeFileSync(path, renderResults(results));
  // The project's formatter owns Markdown layout too (tables padded); npm test checks it.
  execFileSync(join(PROJECT_ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', path], {
    stdio: 'ignore',
  });
  console.log(`\nwrote ${path}`);
}
