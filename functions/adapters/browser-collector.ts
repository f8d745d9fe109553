/**
 * Collects a source with headless Chromium (playwright-core + @sparticuz/chromium). One browser
 * per warm container, a fresh context per job; every request the page makes passes the egress guard.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';
import type { BrowserPlan, BrowserSourceDefinition } from '../../sources/define.js';
import { classifyHttpStatus } from '../core/classify-failure.js';
import type { Collection, CollectRequest } from '../core/collection.js';
import {
  assertUrlAllowed,
  EgressBlockedError,
  type EgressPolicy,
  type OriginOverrides,
  resolveOrigin,
} from '../core/egress.js';
import { PermanentError, TransientError } from '../core/errors.js';
import { logger } from '../observability.js';

/**
 * Flags @sparticuz/chromium passes by default that Sluice removes:
 * - `--disable-web-security`, `--allow-running-insecure-content`: same-origin policy off and mixed
 *   content allowed; an untrusted page must never get either.
 * - `--single-process`: with it, closing a browser context closes Chromium (playwright#1904), so a
 *   browser could not outlive its first job; Playwright does not support the flag.
 */
const REMOVED_FLAGS = new Set([
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--single-process',
]);

export function safeChromiumArgs(defaults: readonly string[]): string[] {
  return defaults.filter((flag) => !REMOVED_FLAGS.has(flag.split('=')[0] ?? flag));
}

/** Where the Chromium brotli archives are: next to the bundle when deployed, else the package's own. */
function chromiumBinDir(): string | undefined {
  const beside = join(dirname(fileURLToPath(import.meta.url)), 'chromium-bin');
  return existsSync(beside) ? beside : undefined;
}

export async function launchChromium(executableOverride: string | undefined): Promise<Browser> {
  const executablePath = executableOverride ?? (await chromium.executablePath(chromiumBinDir()));
  return playwright.launch({
    executablePath,
    args: safeChromiumArgs(chromium.args),
    headless: true,
    chromiumSandbox: false,
  });
}

/** The container's one browser, relaunched when it crashed or was closed. */
export class BrowserSession {
  private browser: Promise<Browser> | undefined;

  constructor(private readonly launch: () => Promise<Browser>) {}

  async current(): Promise<Browser> {
    const existing = this.browser === undefined ? undefined : await this.browser.catch(() => undefined);
    if (existing?.isConnected()) return existing;
    if (existing !== undefined)
      logger.warn('browser disconnected; relaunching', { branch: 'browser-relaunch' });
    this.browser = this.launch();
    return this.browser;
  }

  async close(): Promise<void> {
    const browser = await this.browser?.catch(() => undefined);
    this.browser = undefined;
    await browser?.close();
  }
}

export interface BrowserCollectorOptions {
  readonly navigationTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly originOverrides: OriginOverrides;
  readonly userAgent: string;
  /** Playwright resource types that are never fetched (images, fonts, media by default). */
  readonly blockedResourceTypes: ReadonlySet<string>;
  readonly clock?: () => Date;
}

export class BrowserCollector {
  constructor(
    private readonly session: BrowserSession,
    private readonly options: BrowserCollectorOptions,
  ) {}

  async collect(source: BrowserSourceDefinition, request: CollectRequest): Promise<Collection> {
    const clock = this.options.clock ?? (() => new Date());
    const { origin, policy } = resolveOrigin(source, this.options.originOverrides);
    const plan = source.browse(request.input);
    const url = assertUrlAllowed(new URL(plan.path, origin), policy);
    const branches = ['browser-navigate'];

    const browser = await this.session.current();
    try {
      return await this.collectWith(browser, request, { url, plan, branches, policy, clock });
    } catch (error) {
      // Whatever Playwright threw, a browser that is gone means the job never had a fair try.
      if (!browser.isConnected()) {
        throw new TransientError(`browser crashed: ${(error as Error).message}`, {
          reason: 'browser-crash',
          cause: error,
        });
      }
      throw error;
    }
  }

  private async collectWith(
    browser: Browser,
    request: CollectRequest,
    job: { url: URL; plan: BrowserPlan; branches: string[]; policy: EgressPolicy; clock: () => Date },
  ): Promise<Collection> {
    const { url, plan, branches, policy, clock } = job;
    const blocked: string[] = [];
    const consoleErrors: string[] = [];
    const context = await browser.newContext({
      serviceWorkers: 'block',
      acceptDownloads: false,
      userAgent: this.options.userAgent,
      extraHTTPHeaders: { 'x-sluice-trace-id': request.traceId },
    });
    try {
      await context.route('**/*', async (route) => {
        const target = route.request();
        if (this.options.blockedResourceTypes.has(target.resourceType()))
          return route.abort('blockedbyclient');
        try {
          assertUrlAllowed(target.url(), policy);
        } catch (error) {
          if (!(error instanceof EgressBlockedError)) throw error;
          blocked.push(target.url());
          return route.abort('blockedbyclient');
        }
        return route.continue();
      });
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));

      const response = await page.goto(url.href, {
        waitUntil: 'domcontentloaded',
        timeout: this.options.navigationTimeoutMs,
      });
      if (response === null)
        throw new TransientError(`no response navigating to ${url.href}`, { reason: 'no-response' });
      if (response.status() < 200 || response.status() >= 300) throw classifyHttpStatus(response.status());
      const observedAt = clock();
      const responseBody = await response.body();
      const responseType = (await response.headerValue('content-type')) ?? 'text/html';

      try {
        await page.waitForSelector(plan.readyWhen, {
          timeout: this.options.readyTimeoutMs,
          state: 'attached',
        });
      } catch (cause) {
        throw new PermanentError(`page never showed ${plan.readyWhen}: the layout may have changed`, {
          reason: 'selector-missing',
          cause,
        });
      }
      branches.push('ready-selector-found');
      const rendered = Buffer.from(await page.content(), 'utf8');
      const screenshot = await page.screenshot({
        fullPage: true,
        type: 'png',
        timeout: this.options.readyTimeoutMs,
      });
      if (blocked.length > 0) branches.push('subresources-blocked');

      return {
        request: { url: url.href, method: 'GET' },
        response: { status: response.status(), finalUrl: page.url(), contentType: responseType },
        observedAt,
        artifacts: [
          { name: 'response.html', role: 'body', contentType: responseType, body: responseBody },
          {
            name: 'rendered.html',
            role: 'rendered-dom',
            contentType: 'text/html; charset=utf-8',
            body: rendered,
          },
          { name: 'screenshot.png', role: 'screenshot', contentType: 'image/png', body: screenshot },
          {
            name: 'console.json',
            role: 'console-log',
            contentType: 'application/json',
            body: Buffer.from(JSON.stringify({ consoleErrors, blockedRequests: blocked }, null, 2)),
          },
        ],
        primaryArtifact: 'rendered.html',
        branches,
      };
    } finally {
      await context
        .close()
        .catch((error: unknown) => logger.warn('closing browser context failed', { error }));
    }
  }
}
