/**
 * The synth-time refusal of a retry budget that cannot surface a persistent failure within half
 * of its source's freshness SLA (DESIGN.md decision 5): an operator must hear about a broken
 * source while the data can still be saved.
 */
import { type AttemptTiming, worstCaseSurfacing } from '../functions/core/retry-policy.js';
import type { SourceDefinition } from '../sources/define.js';

/** Why the source's budget is refused, or undefined when it fits. */
export function retryBudgetProblem(source: SourceDefinition, timing: AttemptTiming): string | undefined {
  const estimate = worstCaseSurfacing(source.retry, timing);
  const limitSeconds = (source.freshnessSlaMinutes * 60) / 2;
  if (estimate.totalSeconds <= limitSeconds) return undefined;
  const waits = estimate.waitsSeconds.map((w) => `${w} s`).join(' + ') || 'no waits';
  return (
    `source ${source.name}: its retry budget cannot surface a persistent failure within half its ` +
    `${source.freshnessSlaMinutes}-minute freshness SLA (${limitSeconds} s): worst case ${estimate.totalSeconds} s = ` +
    `${estimate.attempts} attempts x ${timing.functionTimeoutSeconds} s function timeout + waits ${waits} ` +
    `(retry.delaysSeconds ${JSON.stringify(source.retry.delaysSeconds)} with full jitter, Retry-After honoured up to ` +
    `retry.maxRetryAfterSeconds, or the ${timing.visibilityTimeoutSeconds} s visibility timeout after a silent crash). ` +
    'Shorten or drop delays, lower retry.maxRetryAfterSeconds, or raise freshnessSlaMinutes.'
  );
}
