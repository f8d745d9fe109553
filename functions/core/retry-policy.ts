/**
 * What happens after a transient failure: another attempt after the budget's next delay (or the
 * source's Retry-After, whichever is longer), or — once the budget is spent — the DLQ. And, at
 * synth time, whether a budget can surface a persistent failure soon enough at all.
 */
import type { RetryBudget } from '../../sources/define.js';
import type { ClassifiedError } from './classify-failure.js';
import { failureClassOf, TransientError } from './errors.js';

export type RetryDecision =
  | {
      readonly action: 'retry';
      readonly delaySeconds: number;
      readonly retryNumber: number;
      /** The Retry-After that was honoured (after the budget's cap), when the source sent one. */
      readonly retryAfterSeconds?: number;
    }
  | { readonly action: 'dead-letter'; readonly retriesUsed: number };

/** SQS cannot hide a message for longer than 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** ± fraction of each delay added at random, so the retries of a burst do not arrive together. */
export const DEFAULT_JITTER = 0.2;

export interface RetryOptions {
  /** Seconds the source asked us to wait (Retry-After). */
  readonly retryAfterSeconds?: number;
  /** The longest Retry-After honoured; longer requests wait this long. @default - no cap below 12 h */
  readonly maxRetryAfterSeconds?: number;
  /** @default DEFAULT_JITTER */
  readonly jitter?: number;
  /** Multiplies every delay; the local environment runs time faster. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The longest Retry-After a source honours: its budget's own setting, else its longest delay. A
 * source cannot stretch a budget past what the synth-time check approved by asking for a day.
 */
export function retryAfterCapOf(budget: RetryBudget): number {
  return budget.maxRetryAfterSeconds ?? Math.max(0, ...budget.delaysSeconds);
}

/**
 * @param attempt the attempt that just failed, 1-based (SQS ApproximateReceiveCount)
 */
export function decideRetry(budget: RetryBudget, attempt: number, options: RetryOptions = {}): RetryDecision {
  const retriesUsed = attempt - 1;
  const base = budget.delaysSeconds[retriesUsed];
  // A receive past the budget (an earlier one died unreported) has still used only the budget's retries.
  if (base === undefined)
    return { action: 'dead-letter', retriesUsed: Math.min(retriesUsed, budget.delaysSeconds.length) };
  const jitter = options.jitter ?? DEFAULT_JITTER;
  const random = options.random ?? Math.random;
  const jittered = base * (1 + jitter * (2 * random() - 1));
  const retryAfter =
    options.retryAfterSeconds === undefined
      ? undefined
      : Math.min(options.retryAfterSeconds, options.maxRetryAfterSeconds ?? Number.POSITIVE_INFINITY);
  const wanted = Math.max(jittered, retryAfter ?? 0) * (options.timeScale ?? 1);
  return {
    action: 'retry',
    delaySeconds: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(wanted))),
    retryNumber: retriesUsed + 1,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  };
}

/** What the SQS adapter must do with a message whose work failed. */
export type NextStep =
  | {
      readonly kind: 'retry';
      readonly delaySeconds: number;
      readonly retryNumber: number;
      /** The Retry-After honoured, when the source sent one. */
      readonly retryAfterSeconds?: number;
    }
  | { readonly kind: 'dead-letter'; readonly reason: string; readonly message: string }
  | { readonly kind: 'hand-off' };

/**
 * Decides what happens to failed work, at either stage: a person decides what needs one; a
 * transient failure is retried within `budget`, then dead-lettered as `retries-exhausted`;
 * anything else, or work without a budget (a message naming no known source), is dead-lettered
 * at once with its own reason.
 *
 * @param attempt the attempt that just failed, 1-based (SQS ApproximateReceiveCount)
 */
export function nextStepWithin(
  budget: RetryBudget | undefined,
  error: ClassifiedError,
  attempt: number,
  options: Pick<RetryOptions, 'timeScale' | 'random'> = {},
): NextStep {
  const errorClass = failureClassOf(error);
  if (errorClass === 'needs-human') return { kind: 'hand-off' };
  if (
    error instanceof TransientError &&
    error.handOffFromAttempt !== undefined &&
    attempt >= error.handOffFromAttempt &&
    budget !== undefined
  ) {
    return { kind: 'hand-off' };
  }
  if (errorClass === 'permanent' || budget === undefined) {
    return { kind: 'dead-letter', reason: error.reason, message: error.message };
  }
  const decision = decideRetry(budget, attempt, {
    ...(error instanceof TransientError && error.retryAfterSeconds !== undefined
      ? { retryAfterSeconds: error.retryAfterSeconds, maxRetryAfterSeconds: retryAfterCapOf(budget) }
      : {}),
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  if (decision.action === 'retry') {
    return {
      kind: 'retry',
      delaySeconds: decision.delaySeconds,
      retryNumber: decision.retryNumber,
      ...(decision.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: decision.retryAfterSeconds }),
    };
  }
  return {
    kind: 'dead-letter',
    reason: 'retries-exhausted',
    message: `gave up after ${decision.retriesUsed} retries; last error (${error.reason}): ${error.message}`,
  };
}

/**
 * Receives of one message beyond its budget's attempts before SQS's redrive moves it: room for
 * receives the handler never got to report on — a container that crashed or ran out of memory,
 * an invocation that timed out, a ledger write or acknowledgement that failed after the work was
 * done. Without it, one such receive on the last attempt sends a message to the DLQ silently
 * (no `sluice-reason`), even when its job was collected; with it, the handler that sees a receive
 * past the budget decides itself — recovers the stored collection, or dead-letters with a reason
 * — and only a handler that keeps dying is redriven by SQS. A crash loop like that is surfaced
 * by the function-errors alarm long before this headroom matters.
 */
export const UNREPORTED_RECEIVES_ALLOWED = 2;

/** The attempts a budget allows: the first plus one per retry. */
export function attemptsAllowed(budget: RetryBudget): number {
  return budget.delaysSeconds.length + 1;
}

/** The queue's maxReceiveCount for a budget: its attempts plus the unreported receives allowed. */
export function maxReceiveCountFor(budget: RetryBudget): number {
  return attemptsAllowed(budget) + UNREPORTED_RECEIVES_ALLOWED;
}

/** How long each attempt of a source may take, and when SQS shows a message again by itself. */
export interface AttemptTiming {
  /** The collector function's timeout: the longest one attempt can run. */
  readonly functionTimeoutSeconds: number;
  /**
   * The jobs queue's visibility timeout. An attempt that dies without reporting (killed at its
   * timeout) is retried only when this runs out, not after the budget's delay.
   */
  readonly visibilityTimeoutSeconds: number;
  /** @default DEFAULT_JITTER */
  readonly jitter?: number;
}

export interface SurfacingEstimate {
  /** First attempt plus one per retry. */
  readonly attempts: number;
  /** The longest wait before each retry: max(delay with full jitter, Retry-After cap, silent-death wait). */
  readonly waitsSeconds: readonly number[];
  /** Worst case, in seconds, from the first receive until the job is in the DLQ. */
  readonly totalSeconds: number;
}

/**
 * The worst case for a persistent failure to reach the DLQ: every attempt runs to the function
 * timeout, and before each retry the longest of (the delay with maximum jitter, the longest
 * Retry-After honoured, the rest of the visibility timeout after an attempt that died silently).
 */
export function worstCaseSurfacing(budget: RetryBudget, timing: AttemptTiming): SurfacingEstimate {
  const jitter = timing.jitter ?? DEFAULT_JITTER;
  const cap = retryAfterCapOf(budget);
  const silentDeathWait = Math.max(0, timing.visibilityTimeoutSeconds - timing.functionTimeoutSeconds);
  const waitsSeconds = budget.delaysSeconds.map((delay) =>
    Math.min(MAX_VISIBILITY_SECONDS, Math.max(Math.round(delay * (1 + jitter)), cap, silentDeathWait)),
  );
  const attempts = budget.delaysSeconds.length + 1;
  const totalSeconds = attempts * timing.functionTimeoutSeconds + waitsSeconds.reduce((a, b) => a + b, 0);
  return { attempts, waitsSeconds, totalSeconds };
}
