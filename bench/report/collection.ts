/** ## 1, 1b and 2: browser and HTTP collection against Crawlee, and the browser what-ifs. */
import type { CollectionResult, VariantResult } from '../collection.js';
import { formatSpread, formatNumber as n } from '../stats.js';
import { kb, ms, ratio, table } from './markdown.js';

export function collectionSection(c: CollectionResult, number: number): string {
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
  the attempt with the claim's release (a DynamoDB transaction), all in moto.
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

export function variantsSection(variants: readonly VariantResult[]): string {
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
export function largestSteps(steps: readonly { step: string; medianMs: number }[], count: number): string {
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

/** ## 2b: the HTTP collection with one thing about its ledger writes changed from outside. */
export function httpVariantsSection(variants: readonly VariantResult[]): string {
  const stepOf = (v: VariantResult, name: string) => v.steps.find((s) => s.step === name)?.medianMs;
  return `### 2b. What-if: the claim released by a write of its own

The same Sluice HTTP collection, interleaved (the order rotates each repeat), same sizes and
concurrency as above: as it is, where the collection's ledger transaction also gives the job's claim
up, and as before issue 16, where a separate conditional UpdateItem released it after that
transaction (\`releaseAfterRecord\` in bench/collection.ts, wrapping the ledger from outside).

${table(
  ['variant', 'pages/min', '÷ as is', 'ledger write median', 'whole collection median'],
  variants.map((v) => [
    v.name,
    formatSpread(v.pagesPerMinute),
    ratio(v.ratioToCurrent),
    ms(stepOf(v, 'ledger write') ?? Number.NaN),
    ms(stepOf(v, 'whole collection (collectJob)') ?? Number.NaN),
  ]),
)}
`;
}
