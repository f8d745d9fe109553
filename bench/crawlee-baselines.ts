/**
 * The baselines a team would pick instead of Sluice: Crawlee's PlaywrightCrawler and
 * CheerioCrawler, with Crawlee's defaults except where the comparison must be equal — the same
 * Chromium binary and flags, the same fixed concurrency, no silent retries, and the page's HTML
 * stored (key-value store) with a dataset item per page, as a Crawlee user would keep it.
 *
 * Each crawler runs with `keepAlive`, so one browser (or HTTP client) serves every batch of a run,
 * as Sluice's warm collector does; a batch is timed from adding its requests to its last page.
 */
import { CheerioCrawler } from '@crawlee/cheerio';
import { Configuration, KeyValueStore, log } from '@crawlee/core';
import { PlaywrightCrawler } from '@crawlee/playwright';
import { chromium } from 'playwright-core';
import { now } from './stats.js';

log.setLevel(log.LEVELS.ERROR);

export interface BatchResult {
  readonly ok: number;
  readonly failed: number;
  readonly wallMs: number;
  readonly errors: readonly string[];
}

export interface Baseline {
  readonly name: string;
  /** Crawls `urls` (each once, even when repeated) and resolves when every one has ended. */
  crawl(urls: readonly string[], tag: string): Promise<BatchResult>;
  close(): Promise<void>;
}

interface Tracker {
  pending: { remaining: number; resolve: () => void } | undefined;
  ok: number;
  failed: number;
  errors: string[];
}

function settle(tracker: Tracker): void {
  const pending = tracker.pending;
  if (pending === undefined) return;
  pending.remaining -= 1;
  if (pending.remaining === 0) {
    tracker.pending = undefined;
    pending.resolve();
  }
}

function storageConfiguration(storageDir: string): Configuration {
  return new Configuration({
    storageClientOptions: { localDataDirectory: storageDir },
    persistStorage: true,
    purgeOnStart: true,
  });
}

async function runBatches(
  name: string,
  crawler: PlaywrightCrawler | CheerioCrawler,
  tracker: Tracker,
): Promise<Baseline> {
  const running = crawler.run();
  running.catch(() => undefined);
  return {
    name,
    async crawl(urls, tag) {
      if (tracker.pending !== undefined) throw new Error('a batch is already running');
      tracker.ok = 0;
      tracker.failed = 0;
      tracker.errors = [];
      const started = now();
      const finished = new Promise<void>((resolve) => {
        tracker.pending = { remaining: urls.length, resolve };
      });
      // uniqueKey makes a repeated URL a new request, as a new Sluice job is a new collection.
      await crawler.addRequests(
        urls.map((url, index) => ({
          url,
          uniqueKey: `${tag}-${index}`,
          userData: { key: `${tag}-${index}` },
        })),
      );
      await finished;
      return { ok: tracker.ok, failed: tracker.failed, wallMs: now() - started, errors: tracker.errors };
    },
    async close() {
      crawler.stop();
      await running;
      await crawler.teardown();
    },
  };
}

export async function startPlaywrightBaseline(options: {
  readonly launchOptions: {
    executablePath: string;
    args: string[];
    headless: boolean;
    chromiumSandbox: boolean;
  };
  readonly concurrency: number;
  readonly storageDir: string;
  readonly readySelector: string;
  readonly readyTimeoutMs: number;
}): Promise<Baseline> {
  const config = storageConfiguration(options.storageDir);
  const pages = await KeyValueStore.open('pages', { config });
  const tracker: Tracker = { pending: undefined, ok: 0, failed: 0, errors: [] };
  const crawler = new PlaywrightCrawler(
    {
      keepAlive: true,
      minConcurrency: options.concurrency,
      maxConcurrency: options.concurrency,
      maxRequestRetries: 0,
      launchContext: { launcher: chromium, launchOptions: options.launchOptions },
      async requestHandler({ page, request, response, pushData }) {
        // The same readiness condition as the Sluice source (demo-rates' readyWhen).
        await page.waitForSelector(options.readySelector, {
          state: 'attached',
          timeout: options.readyTimeoutMs,
        });
        const key = String(request.userData.key);
        await pages.setValue(key, await page.content(), { contentType: 'text/html; charset=utf-8' });
        await pushData({ url: request.url, key, status: response?.status() });
        tracker.ok += 1;
        settle(tracker);
      },
      failedRequestHandler({ request }, error) {
        tracker.failed += 1;
        tracker.errors.push(`${request.url}: ${error.message}`);
        settle(tracker);
      },
    },
    config,
  );
  return runBatches('Crawlee PlaywrightCrawler', crawler, tracker);
}

export async function startCheerioBaseline(options: {
  readonly concurrency: number;
  readonly storageDir: string;
}): Promise<Baseline> {
  const config = storageConfiguration(options.storageDir);
  const pages = await KeyValueStore.open('pages', { config });
  const tracker: Tracker = { pending: undefined, ok: 0, failed: 0, errors: [] };
  const crawler = new CheerioCrawler(
    {
      keepAlive: true,
      minConcurrency: options.concurrency,
      maxConcurrency: options.concurrency,
      maxRequestRetries: 0,
      async requestHandler({ request, body, contentType, response, pushData }) {
        const key = String(request.userData.key);
        await pages.setValue(key, body, { contentType: contentType.type });
        await pushData({ url: request.url, key, status: response.statusCode });
        tracker.ok += 1;
        settle(tracker);
      },
      failedRequestHandler({ request }, error) {
        tracker.failed += 1;
        tracker.errors.push(`${request.url}: ${error.message}`);
        settle(tracker);
      },
    },
    config,
  );
  return runBatches('Crawlee CheerioCrawler', crawler, tracker);
}
