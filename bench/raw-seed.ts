/**
 * Raw storage filled for the transform and replay benchmarks: demo catalogue pages stored the way
 * the collector stores them (collectJob: body, then manifest), each a distinct observation with
 * its own products, so every record a transform writes is a new one.
 */
import { randomUUID } from 'node:crypto';
import { CATALOG_CATEGORIES, CATALOG_PAGES } from '../local/demo-site/data.js';
import type { Collection, JobClaims, JobLedger, RawStore } from './sluice-ports.js';
import { collectOne, jobMessage, outcomeProblem } from './sluice-ports.js';
import { mapConcurrent } from './stats.js';

export interface DemoPage {
  readonly url: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** Every page of the demo catalogue, fetched once from the demo site. */
export async function fetchCatalogPages(demoSiteOrigin: string): Promise<DemoPage[]> {
  const pages: DemoPage[] = [];
  for (const category of CATALOG_CATEGORIES) {
    for (let page = 1; page <= CATALOG_PAGES; page += 1) {
      const url = new URL(`/catalog/${category}?page=${page}`, demoSiteOrigin).href;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`demo site answered ${response.status} for ${url}`);
      pages.push({
        url,
        contentType: response.headers.get('content-type') ?? 'text/html',
        body: Buffer.from(await response.arrayBuffer()),
      });
    }
  }
  return pages;
}

/** A three-letter SKU prefix for observation `n` (AAA, AAB, ...): 17,576 distinct ones. */
export function skuPrefix(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 26 ** 3)
    throw new RangeError(`sku prefix index must be 0..17575, got ${n}`);
  const letter = (i: number) => String.fromCharCode(65 + i);
  return `${letter(Math.floor(n / 676))}${letter(Math.floor(n / 26) % 26)}${letter(n % 26)}`;
}

/** The page with every SKU moved under `prefix`, so its products are new entities. */
export function withSkuPrefix(body: Buffer, prefix: string): Buffer {
  return Buffer.from(body.toString('utf8').replace(/\b[A-Z]{3}-(\d{4})\b/g, `${prefix}-$1`), 'utf8');
}

const noLedger: JobLedger & JobClaims = {
  recordAttempt: async () => undefined,
  history: async () => [],
  claim: async () => ({ status: 'claimed', previouslyClaimed: false }),
  release: async () => undefined,
};

/**
 * Stores `count` observations of catalogue pages through collectJob. The fetch is replaced by the
 * bytes at hand and the ledger by a no-op: seeding is set-up, not measured.
 */
export async function seedCatalogObservations(options: {
  readonly count: number;
  readonly pages: readonly DemoPage[];
  readonly rawStore: RawStore;
  readonly concurrency: number;
  readonly runTag: string;
}): Promise<{ manifestKeys: string[]; rawBytes: number }> {
  let rawBytes = 0;
  const manifestKeys = await mapConcurrent(
    Array.from({ length: options.count }, (_, i) => i),
    options.concurrency,
    async (index) => {
      const page = options.pages[index % options.pages.length] as DemoPage;
      const body = withSkuPrefix(page.body, skuPrefix(index));
      rawBytes += body.byteLength;
      const collection: Collection = {
        request: { url: page.url, method: 'GET' },
        response: { status: 200, finalUrl: page.url, contentType: page.contentType },
        observedAt: new Date(),
        artifacts: [{ name: 'response.html', role: 'body', contentType: page.contentType, body }],
        primaryArtifact: 'response.html',
        branches: ['http-get'],
      };
      const outcome = await collectOne(
        jobMessage(
          {
            source: 'demo-catalog',
            input: { category: 'tools', page: 1 },
            jobId: `seed-${options.runTag}-${index}`,
            traceId: randomUUID(),
            priority: 'normal',
          },
          randomUUID(),
        ),
        { collect: async () => collection, rawStore: options.rawStore, ledger: noLedger },
      );
      if (outcome.status !== 'collected') throw new Error(`seeding failed: ${outcomeProblem(outcome)}`);
      return outcome.manifestKey;
    },
  );
  return { manifestKeys, rawBytes };
}

/** The rendered rates page with its board renamed, so its rates are new entities. */
export function withBoardSuffix(rendered: Buffer, suffix: string): Buffer {
  return Buffer.from(
    rendered.toString('utf8').replace(/(<span id="board">)([^<]*)(<\/span>)/, `$1$2-${suffix}$3`),
    'utf8',
  );
}

/**
 * Stores `count` browser observations through collectJob, each a copy of a real collection of the
 * rates board (response, rendered DOM, screenshot, console log, then the manifest: five objects)
 * with the board renamed in the rendered DOM.
 */
export async function seedRatesObservations(options: {
  readonly count: number;
  readonly collections: readonly Collection[];
  readonly rawStore: RawStore;
  readonly concurrency: number;
  readonly runTag: string;
}): Promise<{ manifestKeys: string[]; objects: number }> {
  let objects = 0;
  const manifestKeys = await mapConcurrent(
    Array.from({ length: options.count }, (_, i) => i),
    options.concurrency,
    async (index) => {
      const original = options.collections[index % options.collections.length] as Collection;
      const collection: Collection = {
        ...original,
        observedAt: new Date(),
        artifacts: original.artifacts.map((artifact) =>
          artifact.role === 'rendered-dom'
            ? { ...artifact, body: withBoardSuffix(artifact.body, String(index)) }
            : artifact,
        ),
      };
      const outcome = await collectOne(
        jobMessage(
          {
            source: 'demo-rates',
            input: { board: 'majors' },
            jobId: `seed-${options.runTag}-${index}`,
            traceId: randomUUID(),
            priority: 'normal',
          },
          randomUUID(),
        ),
        { collect: async () => collection, rawStore: options.rawStore, ledger: noLedger },
      );
      if (outcome.status !== 'collected') throw new Error(`seeding failed: ${outcomeProblem(outcome)}`);
      objects += outcome.artifactKeys.length + 1;
      return outcome.manifestKey;
    },
  );
  return { manifestKeys, objects };
}
