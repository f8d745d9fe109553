/**
 * A browser job on a portal: signing in (a session is kept per source and reused by the
 * container's jobs while the portal accepts it; a refused login drops the cached secret), and a
 * portal action done at most once — the page is checked before the form is submitted, so a crash
 * between submit and acknowledgement never submits twice.
 */
import type { BrowserContext, Page, Response } from 'playwright-core';
import type { LoginPlan, PortalAction } from '../../sources/define.js';
import { LoginRejectedError } from '../core/classify-failure.js';
import type { CollectedArtifact } from '../core/collection.js';
import { HandoffRequiredError } from '../core/errors.js';
import { renderedDom } from './browser-snapshots.js';
import type { JobProgress, PageWaits } from './browser-steps.js';
import type { CredentialStore, SourceCredentials } from './source-credentials.js';

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

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

/** What the portal steps work with: the job's page and its collaborators. */
export interface PortalJob {
  readonly sourceName: string;
  readonly origin: string;
  readonly progress: JobProgress;
  readonly waits: PageWaits;
  readonly navigate: (page: Page, url: URL, step: string) => Promise<Response>;
  readonly stepTimeoutMs: number;
  readonly secrets: readonly string[];
}

/** Signs in with the source's credentials and keeps the session; a refused login drops them. */
export async function signIn(
  page: Page,
  login: LoginPlan,
  credentials: SourceCredentials,
  job: PortalJob & {
    readonly context: BrowserContext;
    readonly sessions: LoginSessions;
    readonly store: CredentialStore | undefined;
  },
): Promise<void> {
  job.progress.step = 'login';
  await job.navigate(page, new URL(login.path, job.origin), 'login');
  await job.waits.waitForAny(page, 'login', { form: login.usernameField });
  await page.fill(login.usernameField, credentials.username);
  await page.fill(login.passwordField, credentials.password);
  await page.click(login.submit);
  const outcome = await job.waits.waitForAny(page, 'login', {
    signedIn: login.signedInWhen,
    rejected: login.rejectedWhen,
  });
  if (outcome === 'rejected') {
    // The value is wrong: the next attempt (an operator's requeue after fixing the secret)
    // must read the secret again, not the cache.
    job.store?.forget(job.sourceName);
    throw new LoginRejectedError(`the portal refused the credentials stored for ${job.sourceName}`);
  }
  job.sessions.set(job.sourceName, await job.context.storageState());
  job.progress.branches.push('logged-in');
}

/**
 * Checks the page before acting: done → nothing to submit; ambiguous → a person decides;
 * otherwise submit once and wait for the acknowledgement, which is returned as an artifact.
 */
export async function performOnce(
  page: Page,
  action: PortalAction,
  job: PortalJob,
): Promise<CollectedArtifact | undefined> {
  const { progress, waits } = job;
  progress.step = 'check-action';
  if (action.ambiguousWhen !== undefined && (await page.locator(action.ambiguousWhen).count()) > 0) {
    throw new HandoffRequiredError(`the portal's page does not say whether the action is done`, {
      reason: 'ambiguous-result',
    });
  }
  if ((await page.locator(action.doneWhen).count()) > 0) {
    progress.branches.push('action-already-done');
    return undefined;
  }
  await job.navigate(page, new URL(action.formPath, job.origin), 'form');
  const [first] = action.fields;
  await waits.expectPage(page, 'form', { form: first?.selector ?? action.submit });
  progress.step = 'fill-form';
  for (const field of action.fields) await page.fill(field.selector, field.value);
  progress.step = 'submit';
  progress.branches.push('action-submitted');
  await page.click(action.submit, { noWaitAfter: true });
  const outcome = await waits.expectPage(page, 'acknowledgement', {
    acknowledged: action.acknowledgedWhen,
    ...(action.approvalWhen === undefined ? {} : { approval: action.approvalWhen }),
  });
  if (outcome === 'approval') {
    throw new HandoffRequiredError('the portal accepted the submission but it needs approval', {
      reason: 'approval-required',
    });
  }
  progress.branches.push('action-acknowledged');
  return {
    name: 'acknowledgement.html',
    role: 'rendered-dom',
    contentType: 'text/html; charset=utf-8',
    body: await renderedDom(page, job.secrets, job.stepTimeoutMs, 'snapshot'),
  };
}
