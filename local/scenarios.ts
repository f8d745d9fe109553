/**
 * What `npm start` runs, and which alarms it must end with. `healthy` is the demo batch: every
 * job succeeds, no alarm fires. `faults` sends the demo site's fault fixtures first — 500s until
 * the retry budget is spent, a 404, a changed layout and a captcha, over HTTP and in the browser,
 * and a poison message — then the demo batch: the dead-letter, success-rate and hand-off alarms
 * of the fixture sources fire (and their source stack's roll-ups of those kinds), nothing else.
 *
 * The expected alarms follow from the plan and the alarm catalogue, never from a list of names:
 * a source whose planned jobs include a dead letter expects its dead-letters alarm, one with a
 * hand-off its hand-off backlog alarm, one whose planned success rate is under the threshold its
 * success-rate alarm.
 */
import { randomUUID } from 'node:crypto';
import type { CollectJob } from '../functions/core/contracts.js';
import {
  alarmName,
  rollupAlarmName,
  type SourceAlarmKind,
  SUCCESS_RATE_THRESHOLD,
} from '../infra/alarm-catalogue.js';
import { findSource } from '../sources/registry.js';
import { demoBatch } from './demo-batch.js';

export const SCENARIOS = ['healthy', 'faults'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export type PlannedEnd = 'records' | 'dead-letter' | 'hand-off';

export interface PlannedJob {
  readonly job: CollectJob & { readonly jobId: string };
  readonly plannedEnd: PlannedEnd;
  /** What the fixture does, for people reading the run. */
  readonly fault?: string;
}

export interface PlannedPoison {
  readonly source: string;
  readonly body: string;
  readonly fault: string;
}

export interface ScenarioPlan {
  readonly name: ScenarioName;
  /** Sent first: the fault fixtures, whose hand-off tasks must then age past their threshold. */
  readonly faults: readonly PlannedJob[];
  readonly poison: readonly PlannedPoison[];
  /** Sent once every fault has ended: the demo batch, every job planned to end in records. */
  readonly demo: readonly PlannedJob[];
}

/** The fault fixtures of the `faults` scenario: how each fails and where it must end. */
const FAULT_FIXTURES: readonly {
  readonly source: 'demo-faults' | 'demo-faults-browser';
  readonly route: string;
  readonly fault: string;
  readonly plannedEnd: Exclude<PlannedEnd, 'records'>;
}[] = [
  {
    source: 'demo-faults',
    route: 'flaky?failures=100&status=500',
    fault: '500 on every attempt: the retry budget is spent',
    plannedEnd: 'dead-letter',
  },
  { source: 'demo-faults', route: 'missing', fault: '404: nothing to retry', plannedEnd: 'dead-letter' },
  {
    source: 'demo-faults',
    route: 'changed-layout',
    fault: 'a changed layout over HTTP: the parser finds no records',
    plannedEnd: 'hand-off',
  },
  { source: 'demo-faults', route: 'captcha', fault: 'a captcha over HTTP', plannedEnd: 'hand-off' },
  {
    source: 'demo-faults-browser',
    route: 'changed-layout',
    fault: 'a changed layout in the browser: the ready marker never shows',
    plannedEnd: 'dead-letter',
  },
  {
    source: 'demo-faults-browser',
    route: 'captcha',
    fault: 'a captcha in the browser',
    plannedEnd: 'hand-off',
  },
];

/** `batch` is the demo batch's size, or the jobs to send after the faults (`npm start --sources`). */
export function planScenario(
  name: ScenarioName,
  batch: number | readonly CollectJob[],
  runId: string,
): ScenarioPlan {
  const demo = (typeof batch === 'number' ? demoBatch(batch, runId) : batch).map(
    (job): PlannedJob => ({ job: { ...job, jobId: job.jobId ?? randomUUID() }, plannedEnd: 'records' }),
  );
  if (name === 'healthy') return { name, faults: [], poison: [], demo };
  const faults = FAULT_FIXTURES.map((fixture, index): PlannedJob => {
    const jobId = `fault-${runId}-${String(index + 1).padStart(2, '0')}`;
    const separator = fixture.route.includes('?') ? '&' : '?';
    return {
      job: {
        source: fixture.source,
        jobId,
        traceId: randomUUID(),
        input: { path: `/faults/${fixture.route}${separator}key=${jobId}` },
        priority: 'normal',
      },
      plannedEnd: fixture.plannedEnd,
      fault: fixture.fault,
    };
  });
  const poison = [
    { source: 'demo-faults', body: 'this is not a job {', fault: 'a poison message: not JSON' },
  ];
  return { name, faults, poison, demo };
}

/** Where each source's jobs of the plan end, poison included. */
export function plannedEndsBySource(plan: ScenarioPlan): Map<string, PlannedEnd[]> {
  const ends = new Map<string, PlannedEnd[]>();
  const add = (source: string, end: PlannedEnd) => ends.set(source, [...(ends.get(source) ?? []), end]);
  for (const { job, plannedEnd } of [...plan.faults, ...plan.demo]) add(job.source, plannedEnd);
  for (const poison of plan.poison) add(poison.source, 'dead-letter');
  return ends;
}

/**
 * The alarms in ALARM when the scenario has played out: per source, those its planned ends call
 * for, and its source stack's roll-ups of the same kinds. `stackOf` names a source's stack.
 */
export function expectedAlarms(
  plan: ScenarioPlan,
  appName: string,
  stackOf: (source: string) => string,
): string[] {
  const expected = new Set<string>();
  for (const [source, ends] of plannedEndsBySource(plan)) {
    if (findSource(source) === undefined) throw new Error(`the scenario names an unknown source ${source}`);
    const kinds: SourceAlarmKind[] = [];
    if (ends.includes('dead-letter')) kinds.push('dead-letters');
    if (ends.includes('hand-off')) kinds.push('handoff-backlog');
    const successRate = (100 * ends.filter((e) => e === 'records').length) / ends.length;
    if (successRate < SUCCESS_RATE_THRESHOLD) kinds.push('success-rate');
    for (const kind of kinds) {
      expected.add(alarmName(appName, source, kind));
      expected.add(rollupAlarmName(stackOf(source), kind));
    }
  }
  return [...expected].sort();
}

/**
 * How long after a source's oldest hand-off task opened its hand-off backlog alarm can be in
 * ALARM, in real milliseconds: half its SLA in local time, then a freshness check to publish
 * the age and an evaluation to see it.
 */
export function handoffAlarmDueMs(
  source: string,
  timeScale: number,
  intervals: { readonly checkMs: number; readonly evaluationMs: number },
): number {
  const definition = findSource(source);
  if (definition === undefined) throw new Error(`unknown source ${source}`);
  return (
    (definition.freshnessSlaMinutes / 2) * 60_000 * timeScale + intervals.checkMs + 2 * intervals.evaluationMs
  );
}
