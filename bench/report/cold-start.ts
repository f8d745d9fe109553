/** ## 5 and 5b: bundles, module initialisation, Chromium's unpack and launch; the cheerio/slim what-if. */
import { formatSpread } from '../stats.js';
import { kb, mb, table } from './markdown.js';
import type { BenchRun } from './run-file.js';

export function coldStartSection(run: BenchRun): string | undefined {
  if (run.coldStart === undefined) return undefined;
  const c = run.coldStart;
  return `## 5. Cold start

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
${slimSection(run)}`;
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
