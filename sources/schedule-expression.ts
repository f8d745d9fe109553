/**
 * EventBridge Scheduler's schedule expressions, read the way Scheduler reads them, for the three
 * places that need to know when a source's schedule fires: `defineSource` (is the expression
 * valid?), the synth-time check against the freshness SLA (the longest gap between two runs) and
 * the local environment, which fires schedules itself (moto stores schedules but never fires them).
 *
 *   rate(<n> minute|minutes|hour|hours|day|days)        every n units, from when the schedule exists
 *   cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>)   in the schedule's time zone
 *
 * Cron fields follow EventBridge: day-of-week 1-7 is SUN-SAT, exactly one of day-of-month and
 * day-of-week is `?`, `L`, `W` and `#` as documented. croner evaluates them (7-part mode with a
 * seconds field of 0, Quartz weekday numbering, AND of the two day fields, IANA time zones).
 */
import { Cron } from 'croner';
import type { z } from 'zod';

export type ScheduleExpression =
  | { readonly kind: 'rate'; readonly seconds: number; readonly text: string }
  | { readonly kind: 'cron'; readonly fields: readonly string[]; readonly text: string };

/** Seconds in each unit a `rate(...)` expression may name (EventBridge rules and Scheduler alike). */
export const RATE_UNITS: { readonly [unit: string]: number } = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86_400,
  days: 86_400,
};

/** Parses an expression, or throws an error that says what is wrong with it. */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    const seconds = RATE_UNITS[unit];
    if (seconds === undefined || value < 1) {
      throw new Error(`${JSON.stringify(expression)} must be rate(<n> minute(s)|hour(s)|day(s)) with n >= 1`);
    }
    // Scheduler refuses `rate(1 minutes)` and `rate(5 minute)`.
    if ((value === 1) !== !unit.endsWith('s')) {
      throw new Error(`${JSON.stringify(expression)}: use the singular unit for 1 and the plural otherwise`);
    }
    return { kind: 'rate', seconds: value * seconds, text: expression };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron === null) {
    throw new Error(
      `${JSON.stringify(expression)} must be rate(...) or cron(...), as EventBridge Scheduler reads them`,
    );
  }
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `${JSON.stringify(expression)} must have 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new Error(`${JSON.stringify(expression)}: exactly one of day-of-month and day-of-week must be ?`);
  }
  const parsed = { kind: 'cron', fields, text: expression } as const;
  // Let croner say what it cannot read.
  cronOf(parsed, 'UTC');
  return parsed;
}

/** EventBridge's `6L` (the last Friday) is croner's `6#L`; everything else reads the same. */
function cronPattern(fields: readonly string[]): string {
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  const weekday = (dayOfWeek ?? '*').replace(/^([1-7A-Za-z]+)L$/, '$1#L');
  return ['0', minutes, hours, dayOfMonth, month, weekday, year].join(' ');
}

function cronOf(expression: Extract<ScheduleExpression, { kind: 'cron' }>, timeZone: string): Cron {
  try {
    return new Cron(cronPattern(expression.fields), {
      // A fixed offset skips Intl's time zone arithmetic: five times faster, the same for UTC.
      ...(timeZone === 'UTC' ? { utcOffset: 0 } : { timezone: timeZone }),
      mode: '7-part',
      alternativeWeekdays: true,
      domAndDow: true,
      // EventBridge's `0/15` (from 0, every 15), which strict croner refuses.
      sloppyRanges: true,
      paused: true,
    });
  } catch (error) {
    throw new Error(
      `${JSON.stringify(expression.text)} is not a cron expression Scheduler runs: ${(error as Error).message}`,
    );
  }
}

/** Whether `timeZone` is an IANA time zone this runtime knows (as Scheduler does). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The runs of a schedule strictly after `after`, up to `count` of them. A rate schedule runs every
 * interval from `anchor` (when it was created: Scheduler starts counting then).
 */
export function runsAfter(
  expression: ScheduleExpression,
  timeZone: string,
  after: Date,
  count: number,
  anchor: Date = after,
): Date[] {
  if (expression.kind === 'rate') {
    const step = expression.seconds * 1000;
    const elapsed = Math.max(0, after.getTime() - anchor.getTime());
    const first = anchor.getTime() + (Math.floor(elapsed / step) + 1) * step;
    return Array.from({ length: count }, (_, i) => new Date(first + i * step));
  }
  return cronOf(expression, timeZone).nextRuns(count, after);
}

export interface LongestGap {
  readonly seconds: number;
  /** The run the longest wait starts from (undefined for a rate schedule: every gap is the same). */
  readonly from?: Date;
}

/**
 * The longest wait between two runs within `horizonDays` from `from`. For a rate schedule, its
 * interval. For cron, probes every `stepSeconds` take the gap around them: every gap longer than
 * the step contains a probe and is measured exactly, so with the step at the longest gap one can
 * accept, the answer says exactly whether any gap is too long (shorter ones may be under-read).
 * Infinity when the schedule never runs again.
 */
export function longestGap(
  expression: ScheduleExpression,
  timeZone: string,
  from: Date,
  options: { readonly horizonDays?: number; readonly stepSeconds: number },
): LongestGap {
  if (expression.kind === 'rate') return { seconds: expression.seconds };
  const cron = cronOf(expression, timeZone);
  const end = from.getTime() + (options.horizonDays ?? 366) * 86_400_000;
  const step = Math.max(60, options.stepSeconds) * 1000;
  let longest: LongestGap = { seconds: 0 };
  let at = from.getTime();
  while (at <= end) {
    const next = cron.nextRun(new Date(at));
    if (next === null) return { seconds: Number.POSITIVE_INFINITY, from: new Date(at) };
    const previous = cron.previousRuns(1, new Date(at + 1))[0];
    if (previous !== undefined) {
      const gap = (next.getTime() - previous.getTime()) / 1000;
      if (gap > longest.seconds) longest = { seconds: gap, from: previous };
    }
    // Past a sparse stretch in one jump: no run lies between here and `next`.
    at = Math.max(at + step, next.getTime());
  }
  return longest;
}

/** What is wrong with a source's schedule as declared, or undefined (its fixed inputs included). */
export function scheduleDefinitionProblem(
  schedule: {
    readonly expression: string;
    readonly timeZone?: string;
    readonly inputs: readonly unknown[] | ((scheduledAt: Date) => readonly unknown[]);
  },
  inputSchema: z.ZodType,
  maxInputs = 100,
): string | undefined {
  try {
    parseScheduleExpression(schedule.expression);
  } catch (error) {
    return (error as Error).message;
  }
  if (schedule.timeZone !== undefined && !isTimeZone(schedule.timeZone)) {
    return `timeZone must be an IANA time zone such as Europe/Berlin, got ${JSON.stringify(schedule.timeZone)}`;
  }
  if (typeof schedule.inputs === 'function') return undefined;
  if (schedule.inputs.length === 0) return 'inputs names no input: a run would collect nothing';
  if (schedule.inputs.length > maxInputs) {
    return `inputs names ${schedule.inputs.length} inputs; one run starts at most ${maxInputs} jobs`;
  }
  for (const [index, input] of schedule.inputs.entries()) {
    const result = inputSchema.safeParse(input);
    if (!result.success) {
      const issues = result.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      return `inputs[${index}] fails the source's input schema: ${issues}`;
    }
  }
  return undefined;
}
