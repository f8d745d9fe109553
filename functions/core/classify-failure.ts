/**
 * The one place a failure becomes a pipeline decision (DESIGN.md decision 5). Collectors throw
 * what they *observed* (a status code, a selector that never appeared, a browser that went away);
 * `classifyFailure` decides what happens next. Every kind of failure maps to exactly one class:
 *
 *   observation                                   class        reason
 *   HTTP 408, 425, 429, 5xx                       transient    http-<status> (+ Retry-After)
 *   any other non-2xx HTTP status                 permanent    http-<status>
 *   timeout (AbortSignal, Playwright, a step)     transient    timeout
 *   network error (ECONNRESET, DNS, ...)          transient    network
 *   browser crashed or was closed                 transient    browser-crash
 *   a login session that expired                  transient    session-expired
 *   a status the source says means "no such page" permanent   no-such-page
 *   a login page where data was expected          transient    login-required (the 2nd time: a hand-off)
 *   selector never appeared (layout changed)      permanent    selector-missing
 *   validation error (zod)                        permanent    validation
 *   the portal refused the stored credentials     permanent    login-rejected
 *   egress guard refused a request                permanent    egress-blocked
 *   captcha, ambiguous result, approval needed    needs-human  (thrown as HandoffRequiredError)
 *   failed AWS SDK call                           transient    aws-error
 *   anything else                                 transient    unexpected (the budget bounds it)
 */
import { ZodError } from 'zod';
import type { CollectedArtifact } from './collection.js';
import { HandoffRequiredError, PermanentError, TransientError } from './errors.js';

export type ClassifiedError = TransientError | PermanentError | HandoffRequiredError;

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  // An allowlisted host that does not resolve is a DNS outage far more often than a typo, and a
  // typo still ends in the DLQ once the budget is spent.
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

// ---- What collectors observe ---------------------------------------------------------------------

/** The source answered with a status that is not a success. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly url: string,
    /** Seconds the source asked us to wait (Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${url} answered ${status}`);
  }
}

/**
 * The source answered with a status it declares as "this page does not exist"
 * (`noSuchPageStatuses`): a page past the last one, not a broken source or a changed layout.
 */
export class NoSuchPageError extends Error {
  override readonly name = 'NoSuchPageError';
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`${url} answered ${status}: the source says this page does not exist`);
  }
}

/** A page loaded but never showed the element that means "ready": its layout has changed. */
export class SelectorMissingError extends Error {
  override readonly name = 'SelectorMissingError';
  constructor(
    readonly selector: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`${url} never showed ${selector}`, options);
  }
}

/** One step of a browser collection ran out of time (navigation, a form, an acknowledgement). */
export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`step ${step} did not finish within ${timeoutMs} ms`, options);
  }
}

/** The browser process crashed, hung or was closed under a job. */
export class BrowserCrashedError extends Error {
  override readonly name = 'BrowserCrashedError';
}

/** A reused login session was no longer accepted. */
export class SessionExpiredError extends Error {
  override readonly name = 'SessionExpiredError';
}

/**
 * A login page came back where data was expected (a redirect to a sign-in form, a page asking for
 * a password): never a success. Retried once — a session can lapse between two requests — then a
 * person decides whether the source needs credentials or its sign-in changed.
 */
export class LoginRequiredError extends Error {
  override readonly name = 'LoginRequiredError';
}

/** The attempt from which a login wall is handed to a person instead of retried. */
export const LOGIN_REQUIRED_HANDOFF_ATTEMPT = 2;

/** The portal refused the credentials stored for the source. */
export class LoginRejectedError extends Error {
  override readonly name = 'LoginRejectedError';
}

/** Chromium could not load a page (`net::ERR_*`); the code is kept for the ledger. */
export class NavigationFailedError extends Error {
  override readonly name = 'NavigationFailedError';
  constructor(
    readonly netError: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`loading ${url} failed with ${netError}`, options);
  }
}

/**
 * A failure that left evidence behind (rendered DOM, screenshot, console, the error response).
 * Classification looks through it at its cause; the core stores the evidence and names it in
 * the ledger and in any hand-off task.
 */
export class FailureWithEvidence extends Error {
  override readonly name = 'FailureWithEvidence';
  constructor(
    override readonly cause: unknown,
    readonly evidence: readonly CollectedArtifact[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The artifacts a failure left behind, if any. */
export function evidenceOf(error: unknown): readonly CollectedArtifact[] {
  return error instanceof FailureWithEvidence ? error.evidence : [];
}

// ---- Decisions ---------------------------------------------------------------------------------

/** Parses a Retry-After header (seconds or HTTP date) into whole seconds from `now`. */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** Maps a non-success HTTP status to what happens next. */
export function classifyHttpStatus(status: number, retryAfterSeconds?: number): ClassifiedError {
  const reason = `http-${status}`;
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return new TransientError(`source answered ${status}`, {
      reason,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  return new PermanentError(`source answered ${status}, which retrying will not change`, { reason });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return errorCode((error as { cause?: unknown }).cause);
}

function causeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
}

/** Classifies what we recognise in `error` itself; undefined when it is not one of ours. */
function classifyKnown(error: unknown): ClassifiedError | undefined {
  if (
    error instanceof TransientError ||
    error instanceof PermanentError ||
    error instanceof HandoffRequiredError
  ) {
    return error;
  }
  if (error instanceof HttpStatusError) {
    const classified = classifyHttpStatus(error.status, error.retryAfterSeconds);
    const Kind = classified instanceof TransientError ? TransientError : PermanentError;
    return new Kind(`${error.url} answered ${error.status}`, {
      reason: classified.reason,
      cause: error,
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    });
  }
  if (error instanceof NoSuchPageError) {
    return new PermanentError(error.message, { reason: 'no-such-page', cause: error });
  }
  if (error instanceof SelectorMissingError) {
    return new PermanentError(`${error.message}: the layout may have changed`, {
      reason: 'selector-missing',
      cause: error,
    });
  }
  if (error instanceof StepTimeoutError) {
    return new TransientError(`timed out: ${error.message}`, { reason: 'timeout', cause: error });
  }
  if (error instanceof BrowserCrashedError) {
    return new TransientError(`browser crashed: ${error.message}`, { reason: 'browser-crash', cause: error });
  }
  if (error instanceof SessionExpiredError) {
    return new TransientError(`login session expired: ${error.message}`, {
      reason: 'session-expired',
      cause: error,
    });
  }
  if (error instanceof LoginRequiredError) {
    return new TransientError(`login required: ${error.message}`, {
      reason: 'login-required',
      cause: error,
      handOffFromAttempt: LOGIN_REQUIRED_HANDOFF_ATTEMPT,
    });
  }
  if (error instanceof LoginRejectedError) {
    return new PermanentError(error.message, { reason: 'login-rejected', cause: error });
  }
  if (error instanceof NavigationFailedError) {
    return new TransientError(`network error ${error.netError}: ${error.message}`, {
      reason: 'network',
      cause: error,
    });
  }
  if (error instanceof ZodError) {
    const issues = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return new PermanentError(`validation failed: ${issues}`, { reason: 'validation', cause: error });
  }
  return undefined;
}

/**
 * The one place a raw error becomes a pipeline decision. Already-classified errors pass through;
 * what collectors observe is mapped by the table at the top of this file, looking through the
 * cause chain (fetch reports a refused connection as `TypeError('fetch failed', { cause })`);
 * anything unknown is transient so the retry budget, not an infinite loop, bounds it.
 */
export function classifyFailure(failure: unknown): ClassifiedError {
  const error = failure instanceof FailureWithEvidence ? failure.cause : failure;
  for (let current = error, depth = 0; current !== undefined && depth < 8; depth += 1) {
    const known = classifyKnown(current);
    if (known !== undefined) return known;
    current = causeOf(current);
  }
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  // AbortSignal.timeout() and Playwright both name their timeouts TimeoutError.
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(`timed out: ${message}`, { reason: 'timeout', cause: error });
  }
  const code = errorCode(error);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) {
    return new TransientError(`network error ${code}: ${message}`, { reason: 'network', cause: error });
  }
  // Playwright's error for a page, context or browser that went away under us.
  if (name === 'TargetClosedError') {
    return new TransientError(`browser crashed: ${message}`, { reason: 'browser-crash', cause: error });
  }
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  if (metadata !== undefined) {
    return new TransientError(`aws call failed (${name}): ${message}`, { reason: 'aws-error', cause: error });
  }
  return new TransientError(`unexpected error (${name || typeof error}): ${message}`, {
    reason: 'unexpected',
    cause: error,
  });
}
