/**
 * How a browser job's steps wait: every wait has a timeout, a hand-off sign (a captcha) stops
 * the job for a person wherever it shows, and on a portal the sign-in form where a page was
 * expected means the session is gone. The job's progress (its current step and the branches it
 * took) is shared by every part of the job, for the ledger and the failure snapshot.
 */
import type { Page } from 'playwright-core';
import type { BrowserPlan, HandoffSign, LoginPlan } from '../../sources/define.js';
import { SelectorMissingError, SessionExpiredError, StepTimeoutError } from '../core/classify-failure.js';
import { HandoffRequiredError } from '../core/errors.js';

/** Rejects with a StepTimeoutError named `what` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Where a job is: the step it is at (named in a failure) and the branches it took (the manifest's). */
export interface JobProgress {
  step: string;
  readonly branches: string[];
}

export interface PageWaitsOptions {
  readonly sourceName: string;
  readonly stepTimeoutMs: number;
  readonly handoffSigns: readonly HandoffSign[];
  /** The portal's sign-in, when the source has one. */
  readonly login: LoginPlan | undefined;
  /** The job started from a saved session (so the sign-in form means that session expired). */
  readonly usedStoredSession: boolean;
  /** Drops the saved session, so the next attempt signs in again. */
  readonly forgetSession: () => void;
}

export class PageWaits {
  constructor(
    private readonly progress: JobProgress,
    private readonly options: PageWaitsOptions,
  ) {}

  /** Waits for the plan's ready selector; a page that never shows it has changed its layout. */
  async waitUntilReady(page: Page, plan: BrowserPlan): Promise<void> {
    try {
      await this.expectPage(page, 'ready', { ready: plan.readyWhen });
    } catch (error) {
      if (error instanceof StepTimeoutError) {
        throw new SelectorMissingError(plan.readyWhen, page.url(), { cause: error });
      }
      throw error;
    }
    this.progress.branches.push('ready-selector-found');
  }

  /**
   * Waits for one of `targets` on a page behind the login: the portal's sign-in form instead
   * means the session is gone (transient: the next attempt signs in again, and nothing was done).
   */
  async expectPage(page: Page, step: string, targets: { readonly [name: string]: string }): Promise<string> {
    const { login, sourceName } = this.options;
    const outcome = await this.waitForAny(page, step, {
      ...targets,
      ...(login === undefined ? {} : { 'login-form': login.formWhen }),
    });
    if (outcome !== 'login-form') return outcome;
    this.options.forgetSession();
    throw new SessionExpiredError(
      this.options.usedStoredSession
        ? `${sourceName}: the portal no longer accepts the saved session (at ${step}); the next attempt signs in again`
        : `${sourceName}: the portal asked to sign in again right after signing in (at ${step})`,
    );
  }

  /**
   * Waits until one of `targets` (or a hand-off sign) is on the page; answers which. A hand-off
   * sign stops the job for a person; nothing within the step's timeout is a StepTimeoutError.
   */
  async waitForAny(page: Page, step: string, targets: { readonly [name: string]: string }): Promise<string> {
    const { handoffSigns, stepTimeoutMs } = this.options;
    this.progress.step = step;
    const entries = [
      ...handoffSigns.map((sign, index) => [`handoff:${index}`, sign.selector] as const),
      ...Object.entries(targets),
    ];
    const [head, ...rest] = entries.map(([, selector]) => page.locator(selector));
    if (head === undefined) throw new Error('waitForAny needs a target');
    const any = rest.reduce((combined, next) => combined.or(next), head);
    try {
      await any.first().waitFor({ state: 'attached', timeout: stepTimeoutMs });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new StepTimeoutError(step, stepTimeoutMs, { cause: error });
      }
      throw error;
    }
    for (const [name, selector] of entries) {
      if ((await page.locator(selector).count()) === 0) continue;
      if (name.startsWith('handoff:')) {
        const sign = handoffSigns[Number(name.slice('handoff:'.length))];
        throw new HandoffRequiredError(`${page.url()}: ${sign?.message ?? 'a person must decide'}`, {
          reason: sign?.reason ?? 'handoff',
        });
      }
      return name;
    }
    // The element went away between the wait and the check: look again.
    return this.waitForAny(page, step, targets);
  }
}
