/**
 * Collects a source with headless Chromium (playwright-core + @sparticuz/chromium).
 *
 * - One browser per warm container, relaunched when it crashed, hung or was closed; a fresh
 *   context per job, with its own egress proxy: every connection the job makes (document,
 *   redirects, subresources, iframes, popups, fetches, websockets) passes the egress guard;
 *   service workers and downloads are blocked; resources the source does not need are not loaded.
 * - Every step has a timeout; the whole job has a watchdog that relaunches a hung browser.
 * - Portals: a login session is reused while the portal accepts it; an action is checked on the
 *   page before it is submitted, so a crash between submit and acknowledgement never submits twice.
 * - A snapshot (rendered DOM, screenshot, console errors, refused requests) is stored for every
 *   collection and every failure.
 *
 * This file holds the container's browser and the collector; one job's run is browser-job.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';
import type { BrowserSourceDefinition } from '../../sources/define.js';
import { BrowserCrashedError, FailureWithEvidence, StepTimeoutError } from '../core/classify-failure.js';
import type { Collection, CollectRequest } from '../core/collection.js';
import { assertUrlAllowed, type EgressPolicy, type OriginOverrides, resolveOrigin } from '../core/egress.js';
import { PermanentError } from '../core/errors.js';
import { redactError } from '../core/secret-redaction.js';
import { logger } from '../observability.js';
import { BrowserJob, CONTEXT_CLOSE_TIMEOUT_MS, type JobSetting } from './browser-job.js';
import { LoginSessions } from './browser-portal.js';
import { withTimeout } from './browser-steps.js';
import { EgressGuard, type Resolver, systemResolver } from './egress-guard.js';
import { type Connector, EgressProxy } from './egress-proxy.js';
import type { CredentialStore, SourceCredentials } from './source-credentials.js';

export { LoginSessions } from './browser-portal.js';

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

/**
 * Flags Sluice adds: WebRTC may only use UDP through the proxy (which has none), so a page cannot
 * reach a private address over STUN/TURN; QUIC is off, so nothing leaves Chromium but TCP through
 * the proxy.
 */
const ADDED_FLAGS = [
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--disable-quic',
];

export function safeChromiumArgs(defaults: readonly string[]): string[] {
  return [...defaults.filter((flag) => !REMOVED_FLAGS.has(flag.split('=')[0] ?? flag)), ...ADDED_FLAGS];
}

/** Where the Chromium brotli archives are: next to the bundle when deployed, else the package's own. */
function chromiumBinDir(): string | undefined {
  const beside = join(dirname(fileURLToPath(import.meta.url)), 'chromium-bin');
  return existsSync(beside) ? beside : undefined;
}

/**
 * Launches Chromium behind `proxyUrl` for everything not in a job's context (the container's
 * deny-all proxy). Playwright sends loopback through the proxy too, unless this variable is set.
 */
export async function launchChromium(
  executableOverride: string | undefined,
  proxyUrl: string,
): Promise<Browser> {
  if (process.env.PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK !== undefined) {
    throw new Error(
      'PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK is set: Chromium would reach loopback without the egress guard',
    );
  }
  const executablePath = executableOverride ?? (await chromium.executablePath(chromiumBinDir()));
  return playwright.launch({
    executablePath,
    args: safeChromiumArgs(chromium.args),
    headless: true,
    chromiumSandbox: false,
    proxy: { server: proxyUrl },
  });
}

/** The most a job may download by default, all its responses together: the HTTP collector's cap. */
export const DEFAULT_MAX_JOB_BYTES = 20 * 1024 * 1024;

const NO_EGRESS: EgressPolicy = { allowedHosts: new Set(), loopbackHosts: new Set() };

/** The container's one browser, relaunched when it crashed, hung or was closed. */
export class BrowserSession {
  private browser: Promise<Browser> | undefined;
  /** The browser process's ID, asked for while it answers, to kill it when it no longer does. */
  private processId: number | undefined;
  private denyAll: Promise<EgressProxy> | undefined;
  /** Launches so far; the first is the cold start, the rest are relaunches. */
  launches = 0;

  constructor(private readonly launch: (proxyUrl: string) => Promise<Browser>) {}

  async current(): Promise<Browser> {
    const existing = this.browser === undefined ? undefined : await this.browser.catch(() => undefined);
    if (existing?.isConnected()) return existing;
    if (this.launches > 0) logger.warn('browser gone; relaunching', { branch: 'browser-relaunch' });
    this.denyAll ??= EgressProxy.start(new EgressGuard(NO_EGRESS));
    const proxy = await this.denyAll;
    this.launches += 1;
    this.processId = undefined;
    this.browser = this.launch(proxy.url).then(async (browser) => {
      this.processId = await browserProcessId(browser);
      return browser;
    });
    return this.browser;
  }

  /**
   * Throws the browser away (it hung or misbehaved); the next job launches a new one. One that
   * still answers is asked to close; one that does not, or does not close in time, is killed with
   * its renderers: Playwright gives up on closing it but leaves the process, and a hung Chromium
   * left in a warm container holds its memory for every job after.
   */
  async discard(reason: string, options: { readonly answering: boolean }): Promise<void> {
    const browser = await this.browser?.catch(() => undefined);
    const processId = this.processId;
    this.browser = undefined;
    this.processId = undefined;
    if (browser === undefined) return;
    logger.warn('discarding the browser', { reason });
    const closed =
      options.answering &&
      (await withTimeout(browser.close(), BROWSER_CLOSE_TIMEOUT_MS, 'closing the browser').then(
        () => true,
        (error: unknown) => {
          logger.warn('closing a discarded browser failed', { error: (error as Error).message });
          return false;
        },
      ));
    if (!closed && processId !== undefined) killProcessGroup(processId);
  }

  async close(): Promise<void> {
    const browser = await this.browser?.catch(() => undefined);
    this.browser = undefined;
    await browser?.close();
    await (await this.denyAll?.catch(() => undefined))?.close();
    this.denyAll = undefined;
  }
}

export interface BrowserCollectorOptions {
  readonly navigationTimeoutMs: number;
  /** Every other step (a selector, a form, an acknowledgement, a snapshot) gets this long. */
  readonly stepTimeoutMs: number;
  /** The whole job; past it the browser is considered hung and is relaunched. */
  readonly jobTimeoutMs: number;
  readonly originOverrides: OriginOverrides;
  readonly userAgent: string;
  readonly credentials?: CredentialStore;
  readonly sessions?: LoginSessions;
  readonly clock?: () => Date;
  /** @default systemResolver */
  readonly resolver?: Resolver;
  /**
   * Opens the egress proxy's upstream connections, to the address the guard admitted. Tests stand
   * a local server in for a public address with it. @default a plain TCP connect
   */
  readonly connector?: Connector;
  /**
   * The most a job may receive, all its responses together (documents, subresources, every
   * connection); past it the job fails for good with body-too-large. @default DEFAULT_MAX_JOB_BYTES
   */
  readonly maxJobBytes?: number;
}

export class BrowserCollector {
  private readonly sessions: LoginSessions;

  constructor(
    private readonly browsers: BrowserSession,
    private readonly options: BrowserCollectorOptions,
  ) {
    this.sessions = options.sessions ?? new LoginSessions();
  }

  async collect(source: BrowserSourceDefinition, request: CollectRequest): Promise<Collection> {
    const { origin, policy } = resolveOrigin(source, this.options.originOverrides);
    const plan = source.browse(request.input);
    const url = assertUrlAllowed(new URL(plan.path, origin), policy);
    const credentials = source.login === undefined ? undefined : await this.credentialsFor(source.name);
    let browser = await this.browsers.current();
    // The job's own proxy: every connection of its context is admitted under its source's policy.
    const proxy = await EgressProxy.start(
      new EgressGuard(policy, this.options.resolver ?? systemResolver),
      this.options.connector,
      this.options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES,
    );
    const setting: JobSetting = {
      origin,
      url,
      plan,
      policy,
      proxy,
      credentials,
      secrets: credentials === undefined ? [] : [credentials.password],
      sessions: this.sessions,
      options: this.options,
    };
    let job = new BrowserJob(source, request, setting);
    const { secrets } = setting;
    const work = async (): Promise<Collection> => {
      try {
        await job.open(browser);
      } catch (error) {
        if (browser.isConnected()) throw error;
        // The browser died since the last job and nobody had noticed: nothing was done yet, so
        // relaunch it and start this job again, once.
        await job.close();
        browser = await this.browsers.current();
        job = new BrowserJob(source, request, setting);
        await job.open(browser);
      }
      return job.run();
    };
    try {
      return await this.watch(work(), () => ({ job, browser }));
    } catch (caught) {
      const error = redactError(caught, secrets);
      // A renderer that crashed reports "Target crashed" before the browser's own death is noticed.
      const crashed = !browser.isConnected() || job.pageCrashed;
      const observed =
        job.explain(error) ??
        (crashed ? new BrowserCrashedError(`${(error as Error).message}`, { cause: error }) : error);
      const evidence = await job.snapshotFailure(observed);
      throw new FailureWithEvidence(observed, evidence);
    } finally {
      if (!(await job.close()))
        await this.browsers.discard('a job context would not close', { answering: true });
      await proxy.close();
    }
  }

  private async credentialsFor(source: string): Promise<SourceCredentials> {
    if (this.options.credentials === undefined) {
      throw new PermanentError(`${source} signs in, but no credential store is configured`, {
        reason: 'credentials-missing',
      });
    }
    return this.options.credentials.read(source, 'login');
  }

  /**
   * Runs a job under the watchdog. A job past its time has hung somewhere: its context is closed,
   * and a browser that no longer answers is discarded so the next job gets a new one.
   */
  private async watch<T>(
    work: Promise<T>,
    current: () => { readonly job: BrowserJob; readonly browser: Browser },
  ): Promise<T> {
    work.catch(() => undefined);
    try {
      return await withTimeout(work, this.options.jobTimeoutMs, 'job');
    } catch (error) {
      if (!(error instanceof StepTimeoutError) || error.step !== 'job') throw error;
      const { job, browser } = current();
      const healthy = (await job.close()) && (await answers(browser));
      if (!healthy)
        await this.browsers.discard('a job outlived its watchdog and the browser does not answer', {
          answering: false,
        });
      throw new BrowserCrashedError(
        `the job did not finish within ${this.options.jobTimeoutMs} ms; browser ${healthy ? 'kept' : 'relaunched'}`,
      );
    }
  }
}

/** How long a discarded browser that still answers gets to close before it is killed. */
const BROWSER_CLOSE_TIMEOUT_MS = 10_000;

/** Sends one browser-level protocol command, each step given a few seconds. */
async function askBrowser<T>(browser: Browser, method: string): Promise<T> {
  const cdp = await withTimeout(browser.newBrowserCDPSession(), CONTEXT_CLOSE_TIMEOUT_MS, 'browser probe');
  const answer = await withTimeout(cdp.send(method as never), CONTEXT_CLOSE_TIMEOUT_MS, 'browser probe');
  await cdp.detach().catch(() => undefined);
  return answer as T;
}

/** The browser process's ID, from Chromium itself; undefined if it cannot say. */
async function browserProcessId(browser: Browser): Promise<number | undefined> {
  try {
    const info = await askBrowser<{ processInfo?: { type: string; id: number }[] }>(
      browser,
      'SystemInfo.getProcessInfo',
    );
    return info.processInfo?.find((p) => p.type === 'browser')?.id;
  } catch (error) {
    logger.warn('the browser did not say its process ID', { error: (error as Error).message });
    return undefined;
  }
}

/**
 * Kills a browser and every process it started: Playwright launches Chromium as the leader of
 * its own process group, as its own forced close does.
 */
function killProcessGroup(processId: number): void {
  for (const target of [-processId, processId]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch (error) {
      // ESRCH: no such group (then the process alone), or gone already.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        logger.warn('killing a discarded browser failed', { error: (error as Error).message });
        return;
      }
    }
  }
}

/** Whether a browser still answers a protocol round trip within a few seconds. */
async function answers(browser: Browser): Promise<boolean> {
  if (!browser.isConnected()) return false;
  try {
    await askBrowser(browser, 'Browser.getVersion');
    return true;
  } catch {
    return false;
  }
}
