import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideRetry, MAX_VISIBILITY_SECONDS } from '../../../../functions/core/retry-policy.js';
import type { RetryBudget } from '../../../../sources/define.js';

const BUDGET: RetryBudget = { delaysSeconds: [30, 300, 1800] };
/** random() = 0.5 puts the jitter at exactly zero. */
const NO_JITTER = () => 0.5;

describe('decideRetry', () => {
  it.each([
    [1, 30],
    [2, 300],
    [3, 1800],
  ])('waits the budget delay for retry after failed attempt %i (%i s)', (attempt, delaySeconds) => {
    expect(decideRetry(BUDGET, attempt, { random: NO_JITTER })).toEqual({
      action: 'retry',
      delaySeconds,
      retryNumber: attempt,
    });
  });

  it('dead-letters once every retry in the budget is spent', () => {
    expect(decideRetry(BUDGET, 4, { random: NO_JITTER })).toEqual({ action: 'dead-letter', retriesUsed: 3 });
  });

  it('counts only the budget’s retries as used for a receive past the budget', () => {
    expect(decideRetry(BUDGET, 6, { random: NO_JITTER })).toEqual({ action: 'dead-letter', retriesUsed: 3 });
  });

  it('dead-letters the first failure when the budget has no retries', () => {
    expect(decideRetry({ delaysSeconds: [] }, 1)).toEqual({ action: 'dead-letter', retriesUsed: 0 });
  });

  it('shortens the delay by the full jitter when random() is 0', () => {
    expect(decideRetry(BUDGET, 1, { random: () => 0 })).toMatchObject({ delaySeconds: 24 });
  });

  it('lengthens the delay by almost the full jitter when random() is just under 1', () => {
    expect(decideRetry(BUDGET, 1, { random: () => 0.999_999 })).toMatchObject({ delaySeconds: 36 });
  });

  it('keeps every jittered delay within ±20% of the budget delay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const base = BUDGET.delaysSeconds[attempt - 1] ?? Number.NaN;

          const decision = decideRetry(BUDGET, attempt, { random: () => r });

          expect(decision.action).toBe('retry');
          if (decision.action !== 'retry') return;
          expect(decision.delaySeconds).toBeGreaterThanOrEqual(base * 0.8);
          expect(decision.delaySeconds).toBeLessThanOrEqual(base * 1.2);
          expect(Number.isInteger(decision.delaySeconds)).toBe(true);
        },
      ),
    );
  });

  it('uses no jitter when jitter is 0', () => {
    expect(decideRetry(BUDGET, 2, { jitter: 0, random: () => 0 })).toMatchObject({ delaySeconds: 300 });
  });

  it("waits for the source's Retry-After when it is longer than the budget delay", () => {
    expect(decideRetry(BUDGET, 1, { retryAfterSeconds: 600, random: NO_JITTER })).toMatchObject({
      delaySeconds: 600,
    });
  });

  it('keeps the budget delay when Retry-After is shorter', () => {
    expect(decideRetry(BUDGET, 2, { retryAfterSeconds: 5, random: NO_JITTER })).toMatchObject({
      delaySeconds: 300,
    });
  });

  it('scales the delay by timeScale', () => {
    expect(decideRetry(BUDGET, 3, { timeScale: 0.1, random: NO_JITTER })).toMatchObject({
      delaySeconds: 180,
    });
  });

  it('scales a Retry-After by timeScale too', () => {
    expect(
      decideRetry(BUDGET, 1, { retryAfterSeconds: 600, timeScale: 0.1, random: NO_JITTER }),
    ).toMatchObject({ delaySeconds: 60 });
  });

  it('caps a long Retry-After at the 12-hour SQS visibility limit', () => {
    expect(decideRetry(BUDGET, 1, { retryAfterSeconds: 86_400, random: NO_JITTER })).toMatchObject({
      delaySeconds: MAX_VISIBILITY_SECONDS,
    });
  });

  it('caps a budget delay longer than 12 hours', () => {
    expect(decideRetry({ delaysSeconds: [100_000] }, 1, { random: NO_JITTER })).toMatchObject({
      delaySeconds: 12 * 60 * 60,
    });
  });

  it('never asks for a delay outside 0..12 hours', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (delaysSeconds, attempt, retryAfterSeconds, r) => {
          const decision = decideRetry({ delaysSeconds }, attempt, { retryAfterSeconds, random: () => r });

          if (decision.action === 'dead-letter') {
            expect(attempt).toBeGreaterThan(delaysSeconds.length);
            return;
          }
          expect(decision.delaySeconds).toBeGreaterThanOrEqual(0);
          expect(decision.delaySeconds).toBeLessThanOrEqual(MAX_VISIBILITY_SECONDS);
        },
      ),
    );
  });
});
