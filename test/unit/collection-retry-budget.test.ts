/**
 * Retry budgets: Retry-After is honoured up to the budget's cap, and the synth-time worst case
 * counts every attempt at the function timeout plus the longest possible wait before each retry.
 */
import { describe, expect, it } from 'vitest';
import { nextStepFor } from '../../functions/core/collect-job.js';
import { TransientError } from '../../functions/core/errors.js';
import { decideRetry, retryAfterCapOf, worstCaseSurfacing } from '../../functions/core/retry-policy.js';
import { retryBudgetProblem } from '../../infra/retry-budget-check.js';
import { defineSource, type SourceDefinition } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';

const NO_JITTER = { random: () => 0.5 };
const rateLimited = (seconds: number) =>
  new TransientError('slow down', { reason: 'http-429', retryAfterSeconds: seconds });

function sourceWith(retry: SourceDefinition['retry'], freshnessSlaMinutes: number): SourceDefinition {
  return defineSource({ ...demoCatalog, name: 'budget-test', retry, freshnessSlaMinutes });
}

describe('the Retry-After a source may ask for', () => {
  it('is capped by default at the longest delay in the budget', () => {
    expect(retryAfterCapOf({ delaysSeconds: [30, 300, 1800] })).toBe(1800);
  });

  it('is capped at maxRetryAfterSeconds when the budget sets it', () => {
    expect(retryAfterCapOf({ delaysSeconds: [30, 300], maxRetryAfterSeconds: 120 })).toBe(120);
  });

  it('waits the whole Retry-After when it is under the cap', () => {
    expect(nextStepFor(rateLimited(900), demoCatalog, 1, NO_JITTER)).toEqual({
      kind: 'retry',
      delaySeconds: 900,
      retryNumber: 1,
      retryAfterSeconds: 900,
    });
  });

  it('waits only up to the cap when the source asks for a day', () => {
    expect(nextStepFor(rateLimited(86_400), demoCatalog, 1, NO_JITTER)).toMatchObject({
      delaySeconds: 1800,
      retryAfterSeconds: 1800,
    });
  });

  it('is scaled with the local time scale like any delay', () => {
    expect(
      decideRetry({ delaysSeconds: [30] }, 1, { ...NO_JITTER, retryAfterSeconds: 120, timeScale: 1 / 60 }),
    ).toMatchObject({
      delaySeconds: 2,
      retryAfterSeconds: 120,
    });
  });
});

describe('worstCaseSurfacing', () => {
  it('counts each attempt at the function timeout and the longest wait before each retry', () => {
    const estimate = worstCaseSurfacing(
      { delaysSeconds: [30, 300, 1800], maxRetryAfterSeconds: 60 },
      { functionTimeoutSeconds: 60, visibilityTimeoutSeconds: 360 },
    );

    // Waits: max(30 × 1.2, 60, 360 − 60) = 300; max(360, 60, 300) = 360; max(2160, 60, 300) = 2160.
    expect(estimate).toEqual({ attempts: 4, waitsSeconds: [300, 360, 2160], totalSeconds: 4 * 60 + 2820 });
  });

  it('counts the Retry-After cap for every retry', () => {
    const estimate = worstCaseSurfacing(
      { delaysSeconds: [10, 10] },
      { functionTimeoutSeconds: 10, visibilityTimeoutSeconds: 10 },
    );

    expect(estimate.waitsSeconds).toEqual([12, 12]);
  });

  it('is the function timeout alone for a budget without retries', () => {
    expect(
      worstCaseSurfacing(
        { delaysSeconds: [] },
        { functionTimeoutSeconds: 120, visibilityTimeoutSeconds: 720 },
      ),
    ).toEqual({ attempts: 1, waitsSeconds: [], totalSeconds: 120 });
  });
});

describe('retryBudgetProblem (the synth-time refusal)', () => {
  const timing = { functionTimeoutSeconds: 60, visibilityTimeoutSeconds: 360 };

  it('accepts the default budget for a daily source', () => {
    expect(
      retryBudgetProblem(sourceWith({ delaysSeconds: [30, 300, 1800] }, 24 * 60), timing),
    ).toBeUndefined();
  });

  it('refuses a budget that surfaces a failure after half the SLA, naming the source and the numbers', () => {
    const problem = retryBudgetProblem(sourceWith({ delaysSeconds: [30, 300, 1800] }, 60), timing);

    expect(problem).toContain('source budget-test');
    expect(problem).toContain('60-minute freshness SLA (1800 s)');
    expect(problem).toContain(
      'worst case 6000 s = 4 attempts x 60 s function timeout + waits 1800 s + 1800 s + 2160 s',
    );
    expect(problem).toContain('retry.maxRetryAfterSeconds');
  });

  it('accepts the same SLA once the budget is short enough', () => {
    const source = sourceWith({ delaysSeconds: [30, 120, 300], maxRetryAfterSeconds: 120 }, 60);

    expect(retryBudgetProblem(source, timing)).toBeUndefined();
  });
});
