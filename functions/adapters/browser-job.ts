/**
 * One browser job in one fresh context: opened behind the job's own egress proxy (with a saved
 * login if any), run step by step — sign in, browse, wait until ready, do the portal's action
 * once, capture — and closed. Its parts: browser-traffic.ts (screening, navigation, what was
 * refused), browser-steps.ts (waits), browser-portal.ts (sign-in, the action),
 * browser-snapshots.ts (what is stored, with no secret in it).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  type BrowserPlan,
  type BrowserSourceDefinition,
  DEFAULT_BLOCKED_RESOURCES,
  DEFAULT_HANDOFF_SIGNS,
} from '../../sources/define.js';
import { BrowserCrashedError, StepTimeoutError } from '../core/classify-failure.js';
import type { CollectedArtifact, Collection, CollectRequest } from '../core/collection.js';
import type { EgressPolicy } from '../core/egress.js';
import { HandoffRequiredError, type PermanentError } from '../core/errors.js';
import { logger } from '../observability.js';
import { type BrowserCollectorOptions, DEFAULT_MAX_JOB_BYTES } from './browser-collector.js';
import { type CapturedDownload, captureDownload } from './browser-download.js';
import { type LoginSessions, type PortalJob, performOnce, signIn } from './browser-portal.js';
import { captureFailedPage, capturePage, consoleReport, redactBody } from './browser-snapshots.js';
import { type JobProgress, PageWaits, withTimeout } from './browser-steps.js';
import { JobTraffic } from './browser-traffic.js';
import type { EgressProxy } from './egress-proxy.js';
import type { SourceCredentials } from './source-credentials.js';

/** A context that takes longer than this to close belongs to a browser that no longer answers. */
export const CONTEXT_CLOSE_TIMEOUT_MS = 5_000;

export interface JobSetting {
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

/** A downloaded file with no secret in it (the manifest's branches say when one was taken out). */
function redactedArtifact(
  artifact: CollectedArtifact,
  secrets: readonly string[],
  branches: string[],
): { readonly body: Buffer } {
  const { body, redacted } = redactBody(artifact.body, artifact.contentType, secrets);
  if (redacted) branches.push('secret-redacted');
  return { body };
}

/** One job in one fresh browser context. */
export class BrowserJob {
  private context: BrowserContext | undefined;
  private page: Page | undefined;
  private waits: PageWaits | undefined;
  private readonly progress: JobProgress = { step: 'start', branches: ['browser-navigate'] };
  private readonly traffic: JobTraffic;
  private usedStoredSession = false;
  private closed = false;

  constructor(
    private readonly source: BrowserSourceDefinition,
    private readonly request: CollectRequest,
    private readonly setting: JobSetting,
  ) {
    this.traffic = new JobTraffic(
      this.progress,
      {
        policy: setting.policy,
        proxy: setting.proxy,
        blockedTypes: new Set(source.blockedResources ?? DEFAULT_BLOCKED_RESOURCES),
        navigationTimeoutMs: setting.options.navigationTimeoutMs,
        downloadExpected: setting.plan.download !== undefined,
      },
      () => this.page,
    );
  }

  /** A page of this job crashed (its renderer died). */
  get pageCrashed(): boolean {
    return this.traffic.pageCrashed;
  }

  /** Runs the job's steps on the page `open` made. */
  async run(): Promise<Collection> {
    const { options, plan, url } = this.setting;
    const clock = options.clock ?? (() => new Date());
    const { page, waits } = this;
    if (page === undefined || waits === undefined) throw new Error('run() needs open() first');
    const portal = this.portalJob(waits);

    if (this.source.login !== undefined && !this.usedStoredSession) {
      const { credentials } = this.setting;
      if (credentials === undefined) throw new Error('signIn needs credentials');
      await signIn(page, this.source.login, credentials, {
        ...portal,
        context: this.contextOrFail(),
        sessions: this.setting.sessions,
        store: options.credentials,
      });
    }
    let response = await this.traffic.navigate(page, url, 'browse');
    await waits.waitUntilReady(page, plan);

    const action = this.source.action?.(this.request.input);
    const extra: CollectedArtifact[] = [];
    if (action !== undefined) {
      const acknowledgement = await performOnce(page, action, portal);
      if (acknowledgement !== undefined) {
        extra.push(acknowledgement);
        // Read the page again: it is the record of what the portal now says is done.
        response = await this.traffic.navigate(page, url, 'browse-after-action');
        await waits.waitUntilReady(page, plan);
        if ((await page.locator(action.doneWhen).count()) === 0) {
          throw new HandoffRequiredError(
            `the portal acknowledged the submission but ${url.pathname} does not show it done`,
            { reason: 'ambiguous-result' },
          );
        }
      }
    }

    let downloaded: CapturedDownload | undefined;
    if (plan.download !== undefined) {
      this.progress.step = 'download';
      downloaded = await captureDownload(page, plan.download, {
        origin: this.setting.origin,
        policy: this.setting.policy,
        stepTimeoutMs: options.stepTimeoutMs,
        navigationTimeoutMs: options.navigationTimeoutMs,
        maxBytes: options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES,
        contentTypeOf: (address) => this.traffic.contentTypeOf(address),
        assertWithinLimit: () => this.traffic.assertWithinLimit(),
      });
      this.progress.branches.push('downloaded');
    }

    this.progress.step = 'snapshot';
    this.traffic.assertWithinLimit();
    const observedAt = clock();
    const responseType = (await response.headerValue('content-type')) ?? 'text/html';
    const body = redactBody(await response.body(), responseType, this.setting.secrets);
    if (body.redacted) this.progress.branches.push('secret-redacted');
    const { rendered, screenshot } = await capturePage(page, this.setting.secrets, options.stepTimeoutMs);
    this.traffic.assertWithinLimit();
    if (this.traffic.anyRefused) this.progress.branches.push('subresources-blocked');

    const file =
      downloaded === undefined
        ? undefined
        : {
            ...downloaded.artifact,
            ...redactedArtifact(downloaded.artifact, this.setting.secrets, this.progress.branches),
          };
    return {
      request: { url: url.href, method: 'GET' },
      response:
        downloaded === undefined || file === undefined
          ? { status: response.status(), finalUrl: page.url(), contentType: responseType }
          : { status: 200, finalUrl: downloaded.url, contentType: file.contentType },
      observedAt,
      artifacts: [
        ...(file === undefined ? [] : [file]),
        {
          name: 'response.html',
          role: file === undefined ? 'body' : 'rendered-dom',
          contentType: responseType,
          body: body.body,
        },
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
          body: consoleReport(this.traffic.report(), this.setting.secrets),
        },
        ...extra,
      ],
      // The download is the data; otherwise the page as rendered.
      primaryArtifact: file?.name ?? 'rendered.html',
      branches: this.progress.branches,
    };
  }

  /** Opens the job's fresh context (behind its proxy, with a saved login if any) and its page. */
  async open(browser: Browser): Promise<Page> {
    this.progress.step = 'open-context';
    const { options, proxy, sessions } = this.setting;
    const stored = this.source.login === undefined ? undefined : sessions.get(this.source.name);
    this.usedStoredSession = stored !== undefined;
    this.waits = new PageWaits(this.progress, {
      sourceName: this.source.name,
      stepTimeoutMs: options.stepTimeoutMs,
      handoffSigns: this.source.handoffWhen ?? DEFAULT_HANDOFF_SIGNS,
      login: this.source.login,
      usedStoredSession: this.usedStoredSession,
      forgetSession: () => sessions.forget(this.source.name),
    });
    const context = await browser.newContext({
      proxy: { server: proxy.url },
      serviceWorkers: 'block',
      // Only a source whose artifact is a download accepts one; for every other, they are refused.
      acceptDownloads: this.setting.plan.download !== undefined,
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
    await context.route('**/*', (route) => this.traffic.screen(route));
    context.on('page', (page) => this.traffic.listen(page));
    const page = await context.newPage();
    this.page = page;
    if (stored !== undefined) this.progress.branches.push('session-reused');
    return page;
  }

  /** What the job saw that explains a failure better than the step that reported it, if anything. */
  explain(error: unknown): PermanentError | undefined {
    return this.traffic.explain(error);
  }

  private portalJob(waits: PageWaits): PortalJob {
    return {
      sourceName: this.source.name,
      origin: this.setting.origin,
      progress: this.progress,
      waits,
      navigate: (page, url, step) => this.traffic.navigate(page, url, step),
      stepTimeoutMs: this.setting.options.stepTimeoutMs,
      secrets: this.setting.secrets,
    };
  }

  private contextOrFail(): BrowserContext {
    if (this.context === undefined) throw new BrowserCrashedError('the job has no browser context');
    return this.context;
  }

  /** Whatever can still be captured about a failure: rendered DOM, screenshot, console, the step. */
  async snapshotFailure(error: unknown): Promise<CollectedArtifact[]> {
    const page = this.page;
    const timeoutMs = Math.min(this.setting.options.stepTimeoutMs, 5_000);
    const evidence =
      page !== undefined && !page.isClosed() && !this.closed
        ? await captureFailedPage(page, this.setting.secrets, timeoutMs)
        : [];
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    evidence.push({
      name: 'failure-console.json',
      role: 'console-log',
      contentType: 'application/json',
      body: consoleReport(
        {
          ...this.traffic.report(),
          failedStep: this.progress.step,
          url: page !== undefined && !page.isClosed() ? page.url() : undefined,
          error: message,
          branches: this.progress.branches,
        },
        this.setting.secrets,
      ),
    });
    return evidence;
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
