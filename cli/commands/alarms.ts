/**
 * `sluice alarms`: the app's alarms and their states — what CloudWatch says (locally: what the
 * local environment's evaluation says, set on the emulator's alarms), with the reason, since
 * when, and the runbook each links. Those not OK by default: what needs someone.
 */
import { type CompositeAlarm, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { runbookUrlIn } from '../../infra/runbook-links.js';
import { table, truncate } from '../format.js';
import { CliError, type SluiceTarget } from '../target.js';

const STATES = ['ALARM', 'INSUFFICIENT_DATA', 'OK'] as const;
type State = (typeof STATES)[number];

export interface AlarmLine {
  readonly name: string;
  readonly type: 'metric' | 'composite';
  readonly state: State;
  readonly since: string | undefined;
  readonly reason: string;
  readonly runbook: string | undefined;
}

export interface AlarmsReport {
  readonly target: string;
  /** Which states are listed. */
  readonly showing: readonly State[];
  readonly counts: { readonly [state in State]: number };
  readonly alarms: readonly AlarmLine[];
}

/** DescribeAlarms names at most 100 alarms per call. */
const NAMES_PER_CALL = 100;

function line(alarm: MetricAlarm | CompositeAlarm, type: AlarmLine['type']): AlarmLine {
  const state = STATES.find((s) => s === alarm.StateValue) ?? 'INSUFFICIENT_DATA';
  return {
    name: alarm.AlarmName ?? '',
    type,
    state,
    since: alarm.StateUpdatedTimestamp?.toISOString(),
    reason: alarm.StateReason ?? '',
    runbook: runbookUrlIn(alarm.AlarmDescription ?? ''),
  };
}

/** `state`: one of the states, `all`, or `not-ok` (ALARM and INSUFFICIENT_DATA). */
export async function collectAlarms(
  target: SluiceTarget,
  options: { readonly state: string },
): Promise<AlarmsReport> {
  const showing: readonly State[] =
    options.state === 'all'
      ? STATES
      : options.state === 'not-ok'
        ? ['ALARM', 'INSUFFICIENT_DATA']
        : STATES.filter((s) => s === options.state);
  if (showing.length === 0) {
    throw new CliError(`--state must be ALARM, OK, INSUFFICIENT_DATA or all, got ${options.state}`, 2);
  }
  const names = target.resources.alarms;
  const found: AlarmLine[] = [];
  for (let start = 0; start < names.length; start += NAMES_PER_CALL) {
    const response = await target.clients.cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: names.slice(start, start + NAMES_PER_CALL),
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        MaxRecords: NAMES_PER_CALL,
      }),
    );
    found.push(
      ...(response.MetricAlarms ?? []).map((a) => line(a, 'metric')),
      ...(response.CompositeAlarms ?? []).map((a) => line(a, 'composite')),
    );
  }
  const counts = { ALARM: 0, INSUFFICIENT_DATA: 0, OK: 0 };
  for (const alarm of found) counts[alarm.state] += 1;
  const rank = (state: State) => STATES.indexOf(state);
  return {
    target: target.description,
    showing,
    counts,
    alarms: found
      .filter((a) => showing.includes(a.state))
      .sort((a, b) => rank(a.state) - rank(b.state) || a.name.localeCompare(b.name)),
  };
}

export function renderAlarms(report: AlarmsReport): string {
  const { counts } = report;
  const header = `Alarms — ${report.target}: ${counts.ALARM} in ALARM, ${counts.INSUFFICIENT_DATA} INSUFFICIENT_DATA, ${counts.OK} OK`;
  if (report.alarms.length === 0) return `${header}\nnone is ${report.showing.join(' or ')}`;
  const rows = report.alarms.map((a) => [
    a.state,
    a.name,
    a.since ?? '—',
    truncate(a.reason, 90),
    a.runbook === undefined ? '—' : (a.runbook.split('/').pop() ?? a.runbook),
  ]);
  return `${header}\n${table(['state', 'alarm', 'since', 'reason', 'runbook'], rows)}`;
}
