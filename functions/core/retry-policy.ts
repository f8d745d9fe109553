/**
 * What happens after a transient failure: another attempt after the budget's next delay (or the
 * source's Retry-After, whichever is longer), or — once the budget is spent — the DLQ.
 */
import type { RetryBudget } from '../../sources/define.js';

export type RetryDecision =
  | { readonly action: 'retry'; readonly delaySeconds: number; readonly retryNumber: number }
  | { readonly action: 'dead-letter'; readonly retriesUsed: number };

/** SQS cannot hide a message for longer than 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

export interface RetryOptions {
  /** Seconds the source asked us to wait (Retry-After). */
  readonly retryAfterSeconds?: number;
  /** ± fraction of the delay added at random, so retries of a burst do not arrive together. @default 0.2 */
  readonly jitter?: number;
  /** Multiplies every delay; the local environment runs time faster. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * @param attempt the attempt that just failed, 1-based (SQS ApproximateReceiveCount)
 */
export function decideRetry(budget: RetryBudget, attempt: number, options: RetryOptions = {}): RetryDecision {
  const retriesUsed = attempt - 1;
  const base = budget.delaysSeconds[retriesUsed];
  if (base === undefined) return { action: 'dead-letter', retriesUsed };
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  const jittered = base * (1 + jitter * (2 * random() - 1));
  const wanted = Math.max(jittered, options.retryAfterSeconds ?? 0) * (options.timeScale ?? 1);
  return {
    action: 'retry',
    delaySeconds: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(wanted))),
    retryNumber: retriesUsed + 1,
  };
}
