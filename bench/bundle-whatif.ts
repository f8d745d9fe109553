/**
 * A what-if for the transform's cold start: the same bundle with the parsers' `cheerio` import
 * resolved to `cheerio/slim`, which parses with htmlparser2 alone and leaves out the HTTP client
 * (undici), the encoding sniffer (iconv-lite) and parse5 that cheerio's main entry pulls in for
 * `fromURL`. Built with the bundling options PipelineFunction gives esbuild; the parsers' output
 * on the demo pages is compared record for record, because the two HTML parsers can differ.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { PROJECT_ROOT } from '../local/paths.js';

const slimCheerio: Plugin = {
  name: 'cheerio-slim',
  setup(builder) {
    builder.onResolve({ filter: /^cheerio$/ }, (args) =>
      builder.resolve('cheerio/slim', { kind: args.kind, resolveDir: args.resolveDir }),
    );
  },
};

/** The options infra/constructs/pipeline-function.ts gives NodejsFunction's esbuild. */
const PIPELINE_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
  },
};

export async function buildSlimTransform(outDir: string): Promise<{ bundle: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const bundle = join(outDir, 'index.mjs');
  await build({
    ...PIPELINE_BUNDLING,
    entryPoints: [join(PROJECT_ROOT, 'functions/transform/handler.ts')],
    outfile: bundle,
    plugins: [slimCheerio],
    logLevel: 'error',
  });
  return { bundle, bytes: statSync(bundle).size };
}

interface ParserLike {
  readonly source: string;
  parse(body: Buffer, context: { finalUrl: string; contentType: string | undefined }): unknown[];
}

/** Whether the parsers, built against cheerio/slim, give the same candidates on `pages`. */
export async function slimParsersAgree(
  outDir: string,
  pages: readonly { source: string; url: string; contentType: string; body: Buffer }[],
  current: (source: string) => ParserLike,
): Promise<{ pages: number; agree: number; firstDifference?: string }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'parsers.mjs');
  await build({
    ...PIPELINE_BUNDLING,
    entryPoints: [join(PROJECT_ROOT, 'sources/parsers.ts')],
    outfile: file,
    plugins: [slimCheerio],
    logLevel: 'error',
  });
  const slim = (await import(file)) as { findParser: (source: string) => ParserLike | undefined };
  let agree = 0;
  let firstDifference: string | undefined;
  for (const page of pages) {
    const context = { finalUrl: page.url, contentType: page.contentType };
    const expected = current(page.source).parse(page.body, context);
    const actual = slim.findParser(page.source)?.parse(page.body, context);
    if (isDeepStrictEqual(expected, actual)) agree += 1;
    else firstDifference ??= page.url;
  }
  return { pages: pages.length, agree, ...(firstDifference === undefined ? {} : { firstDifference }) };
}
