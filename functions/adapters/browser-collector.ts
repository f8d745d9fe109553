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
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import {
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
  chromium as playwright,
  type Request,
  type Response,
  type Route,
} from 'playwright-core';
import {
  type BrowserPlan,
  type BrowserSourceDefinition,
  DEFAULT_BLOCKED_RESOURCES,
  DEFAULT_HANDOFF_SIGNS,
  type HandoffSign,
  type LoginPlan,
  type PortalAction,
} from '../../sources/define.js';
import {
  BrowserCrashedError,
  FailureWithEvidence,
  HttpStatusError,
  LoginRejectedError,
  NavigationFailedError,
  parseRetryAfter,
  SelectorMissingError,
  SessionExpiredError,
  StepTimeoutError,
} from '../core/classify-failure.js';
import type { CollectedArtifact, Collection, CollectRequest } from '../core/collection.js';
import {
  assertUrlAllowed,
  EgressBlockedError,
  type EgressPolicy,
  type OriginOverrides,
  resolveOrigin,
} from '../core/egress.js';
import { HandoffRequiredError, PermanentError } from '../core/errors.js';
import { REDACTED, redactSecrets, secretShapes } from '../core/secret-redaction.js';
import { logger } from '../observability.js';
import { EgressGuard, type Resolver, systemResolver } from './egress-guard.js';
import {
  type Connector,
  EGRESS_REFUSAL_HEADER,
  EGRESS_UNREACHABLE_HEADER,
  EgressProxy,
} from './egress-proxy.js';
import type { CredentialStore, SourceCredentials } from './source-credentials.js';

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

/** A context that takes longer than this to close belongs to a browser that no longer answers. */
const CONTEXT_CLOSE_TIMEOUT_MS = 5_000;

const NO_EGRESS: EgressPolicy = { allowedHosts: new Set(), loopbackHosts: new Set() };

/** The container's one browser, relaunched when it crashed, hung or was closed. */
export class BrowserSession {
  private browser: Promise<Browser> | undefined;
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
    this.browser = this.launch(proxy.url);
    return this.browser;
  }

  /** Throws the browser away (it hung or misbehaved); the next job launches a new one. */
  async discard(reason: string): Promise<void> {
    const browser = await this.browser?.catch(() => undefined);
    this.browser = undefined;
    if (browser === undefined) return;
    logger.warn('discarding the browser', { reason });
    await withTimeout(browser.close(), 10_000, 'closing the browser').catch((error: unknown) =>
      logger.warn('closing a discarded browser failed', { error: (error as Error).message }),
    );
  }

  async close(): Promise<void> {
    const browser = await this.browser?.catch(() => undefined);
    this.browser = undefined;
    await browser?.close();
    await (await this.denyAll?.catch(() => undefined))?.close();
    this.denyAll = undefined;
  }
}

/** Login sessions (cookies and storage) per source, reused by the container's jobs while valid. */
export class LoginSessions {
  private readonly states = new Map<string, StorageState>();

  get(source: string): StorageState | undefined {
    return this.states.get(source);
  }

  set(source: string, state: StorageState): void {
    this.states.set(source, state);
  }

  forget(source: string): void {
    this.states.delete(source);
  }
}

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

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

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Chromium refusals that are policy, not network trouble: retrying cannot change them. */
const POLICY_NET_ERRORS = new Set([
  'ERR_BLOCKED_BY_CLIENT',
  'ERR_UNSAFE_REDIRECT',
  'ERR_UNSAFE_PORT',
  'ERR_DISALLOWED_URL_SCHEME',
  'ERR_ACCESS_DENIED',
]);

function egressBlocked(reason: string, cause?: unknown): EgressBlockedError {
  return new EgressBlockedError(reason.startsWith('egress blocked') ? reason : `egress blocked: ${reason}`, {
    reason: 'egress-blocked',
    cause,
  });
}

/** Replaces every occurrence of a secret in an error's text (message, stack, causes). */
function scrub(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return error;
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    current.message = redactSecrets(current.message, secrets);
    if (current.stack !== undefined) current.stack = redactSecrets(current.stack, secrets);
    current = current.cause;
  }
  return error;
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
      const error = scrub(caught, secrets);
      // A renderer that crashed reports "Target crashed" before the browser's own death is noticed.
      const crashed = !browser.isConnected() || job.pageCrashed;
      const observed =
        job.explain(error) ??
        (crashed ? new BrowserCrashedError(`${(error as Error).message}`, { cause: error }) : error);
      const evidence = await job.snapshotFailure(observed);
      throw new FailureWithEvidence(observed, evidence);
    } finally {
      if (!(await job.close())) await this.browsers.discard('a job context would not close');
      await proxy.close();
    }
  }

  private async credentialsFor(source: string): Promise<SourceCredentials> {
    if (this.options.credentials === undefined) {
      throw new PermanentError(`${source} signs in, but no credential store is configured`, {
        reason: 'credentials-missing',
      });
    }
    return this.options.credentials.get(source);
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
        await this.browsers.discard('a job outlived its watchdog and the browser does not answer');
      throw new BrowserCrashedError(
        `the job did not finish within ${this.options.jobTimeoutMs} ms; browser ${healthy ? 'kept' : 'relaunched'}`,
      );
    }
  }
}

/** Whether a browser still answers a protocol round trip within a few seconds. */
async function answers(browser: Browser): Promise<boolean> {
  if (!browser.isConnected()) return false;
  try {
    const cdp = await withTimeout(browser.newBrowserCDPSession(), CONTEXT_CLOSE_TIMEOUT_MS, 'browser probe');
    await withTimeout(cdp.send('Browser.getVersion'), CONTEXT_CLOSE_TIMEOUT_MS, 'browser probe');
    await cdp.detach().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Marks an element that showed a secret, so the screenshot masks it. */
const REDACTED_ATTRIBUTE = 'data-sluice-redacted';

/**
 * Runs inside the page (self-contained: Playwright sends its source): replaces every shape of a
 * secret in text, comments, attributes and field values, in the document and its open shadow
 * roots, and marks each element that held one.
 */
function redactDocument(args: { shapes: readonly string[]; marker: string; attribute: string }): number {
  const { shapes, marker, attribute } = args;
  const redact = (text: string) => shapes.reduce((out, shape) => out.split(shape).join(marker), text);
  let redacted = 0;
  const roots: (Document | ShadowRoot)[] = [document];
  for (let root = roots.pop(); root !== undefined; root = roots.pop()) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_COMMENT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const text = node.nodeValue ?? '';
      const clean = redact(text);
      if (clean === text) continue;
      node.nodeValue = clean;
      node.parentElement?.setAttribute(attribute, '');
      redacted += 1;
    }
    for (const element of Array.from(root.querySelectorAll('*'))) {
      if (element.shadowRoot !== null) roots.push(element.shadowRoot);
      for (const { name, value } of Array.from(element.attributes)) {
        const clean = redact(value);
        if (clean === value) continue;
        element.setAttribute(name, clean);
        element.setAttribute(attribute, '');
        redacted += 1;
      }
      if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
        const clean = element.type === 'password' ? '' : redact(element.value);
        if (clean === element.value) continue;
        element.value = clean;
        element.setAttribute(attribute, '');
        redacted += 1;
      }
    }
  }
  return redacted;
}

interface JobSetting {
  readonly origin: string;
  readonly url: URL;
  readonly plan: BrowserPlan;
  readonly policy: EgressPolicy;
  readonly proxy: EgressProxy;
  readonly credentials: SourceCredentials | undefined;
  /** Values no artifact, error or log may show (the password of a login). */
  readonly secrets: readonly string[];
  readonly sessions: LoginSessions;
  readonly options: BrowserCollectorOptions;
}

/** A request the job refused before it left Chromium (URL policy or resource type). */
interface RefusedRequest {
  readonly url: string;
  readonly reason: string;
  readonly navigation: boolean;
}

/** One job in one fresh browser context. */
class BrowserJob {
  private context: BrowserContext | undefined;
  private page: Page | undefined;
  private readonly consoleErrors: string[] = [];
  private readonly refused: RefusedRequest[] = [];
  private readonly refusedDownloads: { readonly url: string; readonly mainPage: boolean }[] = [];
  /** Why the page's own navigations were refused since the job's last navigate() began. */
  private readonly navigationRefusals: string[] = [];
  private readonly branches = ['browser-navigate'];
  private step = 'start';
  private usedStoredSession = false;
  private closed = false;
  /** A page of this job crashed (its renderer died). */
  pageCrashed = false;
  private readonly handoffSigns: readonly HandoffSign[];
  private readonly blockedTypes: ReadonlySet<string>;

  constructor(
    private readonly source: BrowserSourceDefinition,
    private readonly request: CollectRequest,
    private readonly setting: JobSetting,
  ) {
    this.handoffSigns = source.handoffWhen ?? DEFAULT_HANDOFF_SIGNS;
    this.blockedTypes = new Set(source.blockedResources ?? DEFAULT_BLOCKED_RESOURCES);
  }

  /** Runs the job's steps on the page `open` made. */
  async run(): Promise<Collection> {
    const { options, plan, url } = this.setting;
    const clock = options.clock ?? (() => new Date());
    const page = this.page;
    if (page === undefined) throw new Error('run() needs open() first');

    if (this.source.login !== undefined && !this.usedStoredSession)
      await this.signIn(page, this.source.login);
    let response = await this.navigate(page, url, 'browse');
    await this.waitUntilReady(page, plan);

    const action = this.source.action?.(this.request.input);
    const extra: CollectedArtifact[] = [];
    if (action !== undefined) {
      const acknowledgement = await this.performOnce(page, action);
      if (acknowledgement !== undefined) {
        extra.push(acknowledgement);
        // Read the page again: it is the record of what the portal now says is done.
        response = await this.navigate(page, url, 'browse-after-action');
        await this.waitUntilReady(page, plan);
        if ((await page.locator(action.doneWhen).count()) === 0) {
          throw new HandoffRequiredError(
            `the portal acknowledged the submission but ${url.pathname} does not show it done`,
            { reason: 'ambiguous-result' },
          );
        }
      }
    }

    this.step = 'snapshot';
    this.assertWithinLimit();
    const observedAt = clock();
    const responseType = (await response.headerValue('content-type')) ?? 'text/html';
    const responseBody = this.redactBody(await response.body(), responseType);
    const mask = await this.redactPage(page, options.stepTimeoutMs);
    const rendered = Buffer.from(
      redactSecrets(
        await withTimeout(page.content(), options.stepTimeoutMs, 'snapshot'),
        this.setting.secrets,
      ),
      'utf8',
    );
    const screenshot = await page.screenshot({
      fullPage: true,
      type: 'png',
      timeout: options.stepTimeoutMs,
      mask,
    });
    this.assertWithinLimit();
    if (this.refused.length > 0 || this.setting.proxy.refusals.length > 0)
      this.branches.push('subresources-blocked');

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
          body: this.consoleReport(),
        },
        ...extra,
      ],
      primaryArtifact: 'rendered.html',
      branches: this.branches,
    };
  }

  /** Opens the job's fresh context (behind its proxy, with a saved login if any) and its page. */
  async open(browser: Browser): Promise<Page> {
    this.step = 'open-context';
    const { options, proxy, sessions } = this.setting;
    const stored = this.source.login === undefined ? undefined : sessions.get(this.source.name);
    this.usedStoredSession = stored !== undefined;
    const context = await browser.newContext({
      proxy: { server: proxy.url },
      serviceWorkers: 'block',
      acceptDownloads: false,
      userAgent: options.userAgent,
      extraHTTPHeaders: { 'x-sluice-trace-id': this.request.traceId },
      ...(stored === undefined ? {} : { storageState: stored }),
    });
    if (this.closed) {
      await context.close().catch(() => undefined);
      throw new BrowserCrashedError('the job was abandoned while its context opened');
    }
    this.context = context;
    // Past its byte limit a job is over: closing its pages ends every wait at once, instead of
    // Chromium parsing what it has for as long as the step allows.
    proxy.onLimitExceeded = () => {
      for (const page of context.pages()) void page.close().catch(() => undefined);
    };
    context.setDefaultTimeout(options.stepTimeoutMs);
    context.setDefaultNavigationTimeout(options.navigationTimeoutMs);
    await context.route('**/*', (route) => this.screen(route));
    context.on('page', (page) => this.listen(page));
    const page = await context.newPage();
    this.page = page;
    if (stored !== undefined) this.branches.push('session-reused');
    return page;
  }

  private listen(page: Page): void {
    page.on('crash', () => {
      this.pageCrashed = true;
    });
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(`pageerror: ${error.message}`));
    // A navigation the page makes by itself (meta refresh, script, Refresh header) that the
    // proxy refused: its 403 (plain http) or its failed tunnel (https).
    page.on('response', (response) => {
      if (!this.isMainFrameNavigation(response.request())) return;
      const refusal = this.setting.proxy.refusalMarkedBy(response.headers()[EGRESS_REFUSAL_HEADER]);
      if (refusal !== undefined) this.navigationRefusals.push(refusal.reason);
    });
    page.on('requestfailed', (request) => {
      if (!this.isMainFrameNavigation(request)) return;
      const netError = /ERR_[A-Z_]+/.exec(request.failure()?.errorText ?? '')?.[0];
      const refusal =
        netError === 'ERR_TUNNEL_CONNECTION_FAILED' ? this.proxyRefusalOf(request.url()) : undefined;
      if (refusal !== undefined) this.navigationRefusals.push(refusal);
    });
    // Downloads are denied (acceptDownloads: false); Chromium still reports that one started.
    page.on('download', (download) => {
      this.refusedDownloads.push({ url: download.url().slice(0, 500), mainPage: page === this.page });
    });
  }

  /**
   * What the job saw that explains a failure better than the step that reported it, if anything.
   * A page that turns into a download while it loads leaves Playwright waiting for a document
   * that never comes: the step times out, but the page will do it again on every attempt.
   */
  explain(error: unknown): PermanentError | undefined {
    // Cut connections surface as anything (a timeout, a network error, a half-read page).
    const tooLarge = this.tooLarge(error);
    if (tooLarge !== undefined) return tooLarge;
    const timedOut = error instanceof StepTimeoutError || error instanceof SelectorMissingError;
    const download = this.refusedDownloads.find((d) => d.mainPage);
    if (timedOut && download !== undefined) {
      return new PermanentError(`the page started a download of ${download.url}, and downloads are blocked`, {
        reason: 'download-blocked',
        cause: error,
      });
    }
    // The page navigated itself somewhere the guard refused; it then shows Chromium's error page
    // or the proxy's refusal, never its ready marker. That is the refusal, not a changed layout.
    const refusal = this.navigationRefusals.at(-1);
    if (timedOut && refusal !== undefined) return egressBlocked(refusal, error);
    return undefined;
  }

  /** body-too-large, when the job's responses together crossed its limit. */
  private tooLarge(cause?: unknown): PermanentError | undefined {
    const exceeded = this.setting.proxy.limitExceeded;
    if (exceeded === undefined) return undefined;
    return new PermanentError(
      `the job's responses exceed the ${exceeded.limit}-byte limit (crossed at ${exceeded.target.slice(0, 200)})`,
      { reason: 'body-too-large', cause },
    );
  }

  /** Stops the job once its responses crossed the limit: what it has is cut short. */
  private assertWithinLimit(): void {
    const tooLarge = this.tooLarge();
    if (tooLarge !== undefined) throw tooLarge;
  }

  /** The proxy's reason for refusing `url` (plain http) or its host (an https tunnel), if it did. */
  private proxyRefusalOf(url: string): string | undefined {
    const { refusals } = this.setting.proxy;
    let tunnel: string | undefined;
    try {
      const parsed = new URL(url);
      tunnel = `https://${parsed.hostname}:${parsed.port || '443'}`;
    } catch {
      tunnel = undefined;
    }
    const refusal = [...refusals].reverse().find((r) => r.target === url || r.target === tunnel);
    return refusal?.reason;
  }

  /**
   * Route-level screening, before anything leaves Chromium: unneeded resource types and URLs off
   * the allowlist are aborted here; the proxy then checks the address of whatever continues.
   * Never throws: Playwright would leave the rejection unhandled, and the process would die.
   */
  private async screen(route: Route): Promise<void> {
    const target = route.request();
    let verdict: 'continue' | 'abort' = 'continue';
    try {
      if (this.blockedTypes.has(target.resourceType())) {
        verdict = 'abort';
      } else {
        assertUrlAllowed(target.url(), this.setting.policy);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const navigation = this.isMainFrameNavigation(target);
      this.refused.push({ url: target.url().slice(0, 500), reason, navigation });
      if (navigation) this.navigationRefusals.push(reason);
      verdict = 'abort';
    }
    // A page that closed meanwhile makes both calls throw; there is nothing left to screen.
    await (verdict === 'abort' ? route.abort('blockedbyclient') : route.continue()).catch(() => undefined);
  }

  /**
   * Whether a request navigates the job's own page. A popup's first request is issued before its
   * frame exists (Playwright throws when asked for it): it is not this page's navigation.
   */
  private isMainFrameNavigation(request: Request): boolean {
    if (!request.isNavigationRequest()) return false;
    try {
      return request.frame() === this.page?.mainFrame();
    } catch {
      return false;
    }
  }

  private async signIn(page: Page, login: LoginPlan): Promise<void> {
    const credentials = this.setting.credentials;
    if (credentials === undefined) throw new Error('signIn needs credentials');
    this.step = 'login';
    await this.navigate(page, new URL(login.path, this.setting.origin), 'login');
    await this.waitForAny(page, 'login', { form: login.usernameField });
    await page.fill(login.usernameField, credentials.username);
    await page.fill(login.passwordField, credentials.password);
    await page.click(login.submit);
    const outcome = await this.waitForAny(page, 'login', {
      signedIn: login.signedInWhen,
      rejected: login.rejectedWhen,
    });
    if (outcome === 'rejected') {
      // The value is wrong: the next attempt (an operator's requeue after fixing the secret)
      // must read the secret again, not the cache.
      this.setting.options.credentials?.forget(this.source.name);
      throw new LoginRejectedError(`the portal refused the credentials stored for ${this.source.name}`);
    }
    this.setting.sessions.set(this.source.name, await this.contextOrFail().storageState());
    this.branches.push('logged-in');
  }

  /**
   * Checks the page before acting: done → nothing to submit; ambiguous → a person decides;
   * otherwise submit once and wait for the acknowledgement, which is returned as an artifact.
   */
  private async performOnce(page: Page, action: PortalAction): Promise<CollectedArtifact | undefined> {
    this.step = 'check-action';
    if (action.ambiguousWhen !== undefined && (await page.locator(action.ambiguousWhen).count()) > 0) {
      throw new HandoffRequiredError(`the portal's page does not say whether the action is done`, {
        reason: 'ambiguous-result',
      });
    }
    if ((await page.locator(action.doneWhen).count()) > 0) {
      this.branches.push('action-already-done');
      return undefined;
    }
    await this.navigate(page, new URL(action.formPath, this.setting.origin), 'form');
    const [first] = action.fields;
    await this.expectPage(page, 'form', { form: first?.selector ?? action.submit });
    this.step = 'fill-form';
    for (const field of action.fields) await page.fill(field.selector, field.value);
    this.step = 'submit';
    this.branches.push('action-submitted');
    await page.click(action.submit, { noWaitAfter: true });
    const outcome = await this.expectPage(page, 'acknowledgement', {
      acknowledged: action.acknowledgedWhen,
      ...(action.approvalWhen === undefined ? {} : { approval: action.approvalWhen }),
    });
    if (outcome === 'approval') {
      throw new HandoffRequiredError('the portal accepted the submission but it needs approval', {
        reason: 'approval-required',
      });
    }
    this.branches.push('action-acknowledged');
    return {
      name: 'acknowledgement.html',
      role: 'rendered-dom',
      contentType: 'text/html; charset=utf-8',
      body: Buffer.from(
        redactSecrets(
          await withTimeout(page.content(), this.setting.options.stepTimeoutMs, 'snapshot'),
          this.setting.secrets,
        ),
        'utf8',
      ),
    };
  }

  private async navigate(page: Page, url: URL, step: string): Promise<Response> {
    this.step = step;
    this.navigationRefusals.length = 0;
    let response: Response | null;
    try {
      response = await page.goto(url.href, { waitUntil: 'domcontentloaded' });
    } catch (error) {
      throw this.tooLarge(error) ?? this.navigationFailure(error, url, step);
    }
    this.assertWithinLimit();
    if (response === null) throw new NavigationFailedError('no-response', url.href);
    const { proxy } = this.setting;
    const refusal = proxy.refusalMarkedBy(await response.headerValue(EGRESS_REFUSAL_HEADER));
    if (refusal !== undefined) throw egressBlocked(refusal.reason);
    const unreachable = proxy.unreachableMarkedBy(await response.headerValue(EGRESS_UNREACHABLE_HEADER));
    if (unreachable !== undefined) throw new NavigationFailedError(unreachable.code, response.url());
    const status = response.status();
    if (status < 200 || status >= 300) {
      const retryAfter = parseRetryAfter(await response.headerValue('retry-after'), new Date());
      throw new HttpStatusError(status, response.url(), retryAfter);
    }
    return response;
  }

  /** Turns what page.goto threw into an observation. Playwright gives the cause only as text. */
  private navigationFailure(error: unknown, url: URL, step: string): unknown {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new StepTimeoutError(step, this.setting.options.navigationTimeoutMs, { cause: error });
    }
    if (message.includes('Download is starting')) {
      return new PermanentError(`${url.href} answered with a download, and downloads are blocked`, {
        reason: 'download-blocked',
      });
    }
    const netError = /net::(ERR_[A-Z_]+)/.exec(message)?.[1];
    if (netError !== undefined && POLICY_NET_ERRORS.has(netError)) return this.egressRefusal(url, netError);
    // An https tunnel the proxy would not open: refused, or its name did not resolve.
    const tunnelRefusal =
      netError === 'ERR_TUNNEL_CONNECTION_FAILED' ? this.proxyRefusalOf(url.href) : undefined;
    if (tunnelRefusal !== undefined) return egressBlocked(tunnelRefusal);
    if (netError !== undefined) return new NavigationFailedError(netError, url.href, { cause: error });
    return error;
  }

  /** The refusal that stopped a navigation, with the guard's reason when it gave one. */
  private egressRefusal(url: URL, netError?: string): EgressBlockedError {
    const reason =
      this.navigationRefusals.at(-1) ??
      this.setting.proxy.refusals.at(-1)?.reason ??
      `Chromium refused ${url.href} (${netError ?? 'refused by the egress proxy'})`;
    return egressBlocked(reason);
  }

  /** Waits for the plan's ready selector; a page that never shows it has changed its layout. */
  private async waitUntilReady(page: Page, plan: BrowserPlan): Promise<void> {
    try {
      await this.expectPage(page, 'ready', { ready: plan.readyWhen });
    } catch (error) {
      if (error instanceof StepTimeoutError) {
        throw new SelectorMissingError(plan.readyWhen, page.url(), { cause: error });
      }
      throw error;
    }
    this.branches.push('ready-selector-found');
  }

  /**
   * Waits for one of `targets` on a page behind the login: the portal's sign-in form instead
   * means the session is gone (transient: the next attempt signs in again, and nothing was done).
   */
  private async expectPage(
    page: Page,
    step: string,
    targets: { readonly [name: string]: string },
  ): Promise<string> {
    const login = this.source.login;
    const outcome = await this.waitForAny(page, step, {
      ...targets,
      ...(login === undefined ? {} : { 'login-form': login.formWhen }),
    });
    if (outcome !== 'login-form') return outcome;
    this.setting.sessions.forget(this.source.name);
    throw new SessionExpiredError(
      this.usedStoredSession
        ? `${this.source.name}: the portal no longer accepts the saved session (at ${step}); the next attempt signs in again`
        : `${this.source.name}: the portal asked to sign in again right after signing in (at ${step})`,
    );
  }

  /**
   * Waits until one of `targets` (or a hand-off sign) is on the page; answers which. A hand-off
   * sign stops the job for a person; nothing within the step's timeout is a StepTimeoutError.
   */
  private async waitForAny(
    page: Page,
    step: string,
    targets: { readonly [name: string]: string },
  ): Promise<string> {
    this.step = step;
    const entries = [
      ...this.handoffSigns.map((sign, index) => [`handoff:${index}`, sign.selector] as const),
      ...Object.entries(targets),
    ];
    const [head, ...rest] = entries.map(([, selector]) => page.locator(selector));
    if (head === undefined) throw new Error('waitForAny needs a target');
    const any = rest.reduce((combined, next) => combined.or(next), head);
    try {
      await any.first().waitFor({ state: 'attached', timeout: this.setting.options.stepTimeoutMs });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new StepTimeoutError(step, this.setting.options.stepTimeoutMs, { cause: error });
      }
      throw error;
    }
    for (const [name, selector] of entries) {
      if ((await page.locator(selector).count()) === 0) continue;
      if (name.startsWith('handoff:')) {
        const sign = this.handoffSigns[Number(name.slice('handoff:'.length))];
        throw new HandoffRequiredError(`${page.url()}: ${sign?.message ?? 'a person must decide'}`, {
          reason: sign?.reason ?? 'handoff',
        });
      }
      return name;
    }
    // The element went away between the wait and the check: look again.
    return this.waitForAny(page, step, targets);
  }

  private contextOrFail(): BrowserContext {
    if (this.context === undefined) throw new BrowserCrashedError('the job has no browser context');
    return this.context;
  }

  private consoleReport(extra: { readonly [key: string]: unknown } = {}): Buffer {
    // A page can log what it was sent, or put it in a URL it then asks for.
    return Buffer.from(
      redactSecrets(
        JSON.stringify(
          {
            consoleErrors: this.consoleErrors,
            blockedRequests: this.refused.map((r) => r.url),
            refusedRequests: this.refused,
            refusedDownloads: this.refusedDownloads.map((d) => d.url),
            egressProxyRefusals: this.setting.proxy.refusals,
            ...extra,
          },
          null,
          2,
        ),
        this.setting.secrets,
      ),
    );
  }

  /** Whatever can still be captured about a failure: rendered DOM, screenshot, console, the step. */
  async snapshotFailure(error: unknown): Promise<CollectedArtifact[]> {
    const evidence: CollectedArtifact[] = [];
    const page = this.page;
    const timeoutMs = Math.min(this.setting.options.stepTimeoutMs, 5_000);
    if (page !== undefined && !page.isClosed() && !this.closed) {
      const mask = await this.redactPage(page, timeoutMs).catch(() => undefined);
      await withTimeout(page.content(), timeoutMs, 'failure snapshot')
        .then((html) =>
          evidence.push({
            name: 'failure-rendered.html',
            role: 'failure-dom',
            contentType: 'text/html; charset=utf-8',
            body: Buffer.from(redactSecrets(html, this.setting.secrets), 'utf8'),
          }),
        )
        .catch(() => undefined);
      // A page that may show a secret and could not be redacted is not photographed.
      if (mask !== undefined) {
        await page
          .screenshot({ fullPage: true, type: 'png', timeout: timeoutMs, mask })
          .then((png) =>
            evidence.push({
              name: 'failure-screenshot.png',
              role: 'screenshot',
              contentType: 'image/png',
              body: png,
            }),
          )
          .catch(() => undefined);
      }
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    evidence.push({
      name: 'failure-console.json',
      role: 'console-log',
      contentType: 'application/json',
      body: this.consoleReport({
        failedStep: this.step,
        url: page !== undefined && !page.isClosed() ? page.url() : undefined,
        error: message,
        branches: this.branches,
      }),
    });
    return evidence;
  }

  /**
   * The response as received, unless it shows a secret: raw storage keeps exact bytes, but never a
   * credential. A text body that holds one is stored redacted, and the manifest says so.
   */
  private redactBody(body: Buffer, contentType: string): Buffer {
    const { secrets } = this.setting;
    if (
      secrets.length === 0 ||
      !/^(text\/|application\/(json|xml|xhtml|javascript))|\+(json|xml)\b/i.test(contentType)
    )
      return body;
    const text = body.toString('utf8');
    const clean = redactSecrets(text, secrets);
    if (clean === text) return body;
    this.branches.push('secret-redacted');
    return Buffer.from(clean, 'utf8');
  }

  /**
   * Before a page is captured: every shape of a secret it shows (text, attributes, field values,
   * in every frame) is replaced in its DOM, and the elements that held one — with every password
   * field — are answered as the screenshot's mask. Nothing to do for a job without secrets.
   */
  private async redactPage(page: Page, timeoutMs: number): Promise<Locator[]> {
    const { secrets } = this.setting;
    if (secrets.length === 0) return [];
    const shapes = [...new Set(secrets.flatMap(secretShapes))].sort((a, b) => b.length - a.length);
    await withTimeout(
      Promise.all(
        page
          .frames()
          .map((frame) =>
            frame.evaluate(redactDocument, { shapes, marker: REDACTED, attribute: REDACTED_ATTRIBUTE }),
          ),
      ),
      timeoutMs,
      'redacting the page',
    );
    return [page.locator(`[${REDACTED_ATTRIBUTE}]`), page.locator('input[type="password"]')];
  }

  /** Closes the job's context; answers false when it would not close in time (a hung browser). */
  async close(): Promise<boolean> {
    if (this.closed) return true;
    this.closed = true;
    const context = this.context;
    if (context === undefined) return true;
    return withTimeout(context.close(), CONTEXT_CLOSE_TIMEOUT_MS, 'closing the context').then(
      () => true,
      (error: unknown) => {
        logger.warn('closing browser context failed', { error: (error as Error).message });
        return !(error instanceof StepTimeoutError);
      },
    );
  }
}
