/**
 * The synth-time refusal of a schedule that cannot keep its source within its freshness SLA: the
 * longest wait between two runs, plus the worst case of a run that needs its whole retry budget
 * before its records land, must fit in the SLA. A schedule whose gaps alone fill the SLA (a daily
 * run for a 24-hour SLA) would let the data age pass the SLA before every run, and the data-age
 * alarm page someone every day for a schedule working as written.
 */
import { type AttemptTiming, worstCaseSurfacing } from '../functions/core/retry-policy.js';
import type { SourceDefinition } from '../sources/define.js';
import { longestGap, parseScheduleExpression } from '../sources/schedule-expression.js';

/** Why the source's schedule is refused, or undefined when it fits (or there is none). */
export function scheduleProblem(
  source: SourceDefinition,
  timing: AttemptTiming,
  /** Where the search for the longest gap starts. @default the start of the current UTC year */
  from: Date = new Date(Date.UTC(new Date().getUTCFullYear(), 0, 1)),
): string | undefined {
  const schedule = source.schedule;
  if (schedule === undefined) return undefined;
  const expression = parseScheduleExpression(schedule.expression);
  const timeZone = schedule.timeZone ?? 'UTC';
  const slaSeconds = source.freshnessSlaMinutes * 60;
  const budget = worstCaseSurfacing(source.retry, timing);
  const allowedGap = slaSeconds - budget.totalSeconds;
  // Gaps longer than the probe step are all measured exactly: the answer is exact where it matters.
  const gap = longestGap(expression, timeZone, from, { stepSeconds: Math.max(60, allowedGap) });
  if (gap.seconds <= allowedGap) return undefined;
  const where = gap.from === undefined ? '' : ` (after the run at ${gap.from.toISOString()} in ${timeZone})`;
  const longest = Number.isFinite(gap.seconds) ? `${gap.seconds} s` : 'forever (it stops running)';
  return (
    `source ${source.name}: its schedule ${schedule.expression} waits up to ${longest} between runs${where}; ` +
    `with the ${budget.totalSeconds} s a run may need for its retry budget, that passes its ` +
    `${source.freshnessSlaMinutes}-minute freshness SLA (${slaSeconds} s): at most ${Math.max(0, allowedGap)} s between runs fits. ` +
    'Run it more often, shorten the retry budget, or raise freshnessSlaMinutes.'
  );
}
