/**
 * What a browser job's pages ask for, and what became of it: route-level screening before
 * anything leaves Chromium, the job's own navigations (and what the egress proxy answered them),
 * refused requests and downloads, console errors, a crashed renderer, the job's byte limit. From
 * that record a failure is explained better than by the step that reported it: a refused
 * navigation is egress-blocked, not a changed layout; a page that turned into a download is
 * download-blocked, not a timeout; a job past its byte limit is body-too-large.
 */
import type { Page, Request, Response, Route } from 'playwright-core';
import {
  HttpStatusError,
  NavigationFailedError,
  parseRetryAfter,
  SelectorMissingError,
  StepTimeoutError,
} from '../core/classify-failure.js';
import { assertUrlAllowed, EgressBlockedError, type EgressPolicy } from '../core/egress.js';
import { PermanentError } from '../core/errors.js';
import type { JobProgress } from './browser-steps.js';
import { EGRESS_REFUSAL_HEADER, EGRESS_UNREACHABLE_HEADER, type EgressProxy } from './egress-proxy.js';

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

/** A request the job refused before it left Chromium (URL policy or resource type). */
interface RefusedRequest {
  readonly url: string;
  readonly reason: string;
  readonly navigation: boolean;
}

export interface JobTrafficSetting {
  readonly policy: EgressPolicy;
  /** The job's own egress proxy. */
  readonly proxy: EgressProxy;
  /** Resource types never loaded for the source. */
  readonly blockedTypes: ReadonlySet<string>;
  readonly navigationTimeoutMs: number;
  /** The source declared that its artifact is a download: the job's own page may start one. */
  readonly downloadExpected?: boolean;
}

export class JobTraffic {
  private readonly consoleErrors: string[] = [];
  private readonly refused: RefusedRequest[] = [];
  private readonly refusedDownloads: { readonly url: string; readonly mainPage: boolean }[] = [];
  /** Why the page's own navigations were refused since the job's last navigate() began. */
  private readonly navigationRefusals: string[] = [];
  /** A page of this job crashed (its renderer died). */
  pageCrashed = false;
  /** The content type of each response the job's pages received, by URL (a download's included). */
  private readonly responseTypes = new Map<string, string>();

  constructor(
    private readonly progress: JobProgress,
    private readonly setting: JobTrafficSetting,
    /** The job's own page, once it has one: its main frame's navigations are the job's. */
    private readonly mainPage: () => Page | undefined,
  ) {}

  /** Whether anything the pages asked for was refused (a branch of the collection). */
  get anyRefused(): boolean {
    return this.refused.length > 0 || this.setting.proxy.refusals.length > 0;
  }

  /**
   * Route-level screening, before anything leaves Chromium: unneeded resource types and URLs off
   * the allowlist are aborted here; the proxy then checks the address of whatever continues.
   * Never throws: Playwright would leave the rejection unhandled, and the process would die.
   */
  async screen(route: Route): Promise<void> {
    const target = route.request();
    let verdict: 'continue' | 'abort' = 'continue';
    try {
      if (this.setting.blockedTypes.has(target.resourceType())) {
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
      return request.frame() === this.mainPage()?.mainFrame();
    } catch {
      return false;
    }
  }

  /** Records what one of the job's pages (its own, or a popup) does. */
  listen(page: Page): void {
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
    page.on('response', (response) => {
      const type = response.headers()['content-type'];
      if (type !== undefined) this.responseTypes.set(response.url(), type);
    });
    // Downloads are denied (acceptDownloads: false) unless the source declared one, which only
    // its own page may start; Chromium still reports that one started.
    page.on('download', (download) => {
      const mainPage = page === this.mainPage();
      if (mainPage && this.setting.downloadExpected === true) return;
      this.refusedDownloads.push({ url: download.url().slice(0, 500), mainPage });
    });
  }

  /** The content type a response of the job's pages had, if one was seen. */
  contentTypeOf(url: string): string | undefined {
    return this.responseTypes.get(url);
  }

  /** Navigates the job's page to `url` and answers its response, or throws what was observed. */
  async navigate(page: Page, url: URL, step: string): Promise<Response> {
    this.progress.step = step;
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
      return new StepTimeoutError(step, this.setting.navigationTimeoutMs, { cause: error });
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
  assertWithinLimit(): void {
    const tooLarge = this.tooLarge();
    if (tooLarge !== undefined) throw tooLarge;
  }

  /** The record for the job's console report: errors the pages logged, everything refused. */
  report(): { readonly [key: string]: unknown } {
    return {
      consoleErrors: this.consoleErrors,
      blockedRequests: this.refused.map((r) => r.url),
      refusedRequests: this.refused,
      refusedDownloads: this.refusedDownloads.map((d) => d.url),
      egressProxyRefusals: this.setting.proxy.refusals,
    };
  }
}
