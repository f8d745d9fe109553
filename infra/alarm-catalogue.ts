/**
 * Every alarm Sluice has, as data: what it watches, the threshold, who it notifies and which
 * runbook it links. The CDK constructs build alarms from these entries, and the ownership map
 * (runbooks/OWNERS.md) lists them per owner, so the two cannot disagree. Pure: no CDK here.
 */
import type { CollectorKind, SourceDefinition } from '../sources/define.js';

/** Owns everything shared by all sources: the transform stage, functions, tables. */
export const PIPELINE_OWNER = 'team-platform';

/** Jobs that must succeed, in percent, over SUCCESS_RATE_WINDOW_MINUTES (the playbook's rule). */
export const SUCCESS_RATE_THRESHOLD = 95;
export const SUCCESS_RATE_WINDOW_MINUTES = 15;
/**
 * The failure-spike signal: the share of attempts, fleet-wide, that failed transiently and were
 * retried. Retries are how Sluice absorbs a flaky world, so this pages only a sustained spike:
 * above RETRY_SPIKE_PERCENT in 2 of 3 periods of RETRY_SPIKE_PERIOD_MINUTES, counting only
 * periods with at least RETRY_SPIKE_MIN_ATTEMPTS attempts (two retries of three attempts are noise).
 */
export const RETRY_SPIKE_PERCENT = 25;
export const RETRY_SPIKE_PERIOD_MINUTES = 5;
export const RETRY_SPIKE_MIN_ATTEMPTS = 20;
/** How often the freshness checker runs; the data-age alarm's period is three runs. */
export const FRESHNESS_CHECK_MINUTES = 5;
/** A function whose p99 duration passes this share of its timeout is about to time out. */
export const DURATION_ALARM_SHARE = 0.8;

export const SOURCE_ALARM_KINDS = [
  'success-rate',
  'dead-letters',
  'oldest-job',
  'data-age',
  'handoff-backlog',
] as const;
export type SourceAlarmKind = (typeof SOURCE_ALARM_KINDS)[number];
/**
 * What a source stack rolls its alarms up into, one composite alarm each: every source alarm of a
 * kind, and the stack's collector alarms. The overview dashboard shows these.
 */
export type RollupKind = SourceAlarmKind | 'collectors';
export const ROLLUP_KINDS: readonly RollupKind[] = [...SOURCE_ALARM_KINDS, 'collectors'];
export type PipelineAlarmKind =
  | 'transform-dead-letters'
  | 'function-errors'
  | 'function-throttles'
  | 'function-duration'
  | 'table-throttling'
  | 'change-feed-dead-letters'
  | 'change-feed-lag'
  | 'schedule-dead-letters'
  | 'retry-spike'
  | 'freshness-checks-missing';

export interface AlarmEntry<Kind extends string> {
  readonly kind: Kind;
  /** What the alarm says has happened, for its description. */
  readonly summary: string;
  /** The threshold in words, for people (the construct holds the number). */
  readonly condition: string;
  readonly owner: string;
  /** File name in runbooks/, without `.md`. */
  readonly runbook: string;
}

function duration(minutes: number): string {
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return minutes > 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

/** The five alarms of one source. */
export function sourceAlarmEntries(source: SourceDefinition): AlarmEntry<SourceAlarmKind>[] {
  const sla = duration(source.freshnessSlaMinutes);
  const halfSla = duration(source.freshnessSlaMinutes / 2);
  return [
    {
      kind: 'success-rate',
      summary: `Fewer than ${SUCCESS_RATE_THRESHOLD}% of the ${source.name} jobs that ended in the last ${SUCCESS_RATE_WINDOW_MINUTES} minutes wrote their records; the others were dead-lettered or handed off.`,
      condition: `jobs with records / jobs ended (records, dead-lettered, handed off) < ${SUCCESS_RATE_THRESHOLD}% over ${SUCCESS_RATE_WINDOW_MINUTES} min; retried jobs that end in records count as successes; stays until a window with jobs recovers`,
      owner: source.owners.collection,
      runbook: 'success-rate',
    },
    {
      kind: 'dead-letters',
      summary: `Messages are waiting in the ${source.name} jobs dead-letter queue: work that Sluice gave up on.`,
      condition: 'any message in the DLQ (1 min)',
      owner: source.owners.collection,
      runbook: 'dlq-messages',
    },
    {
      kind: 'oldest-job',
      summary: `A ${source.name} job has waited in its queue longer than half the freshness SLA (${halfSla} of ${sla}).`,
      condition: `oldest message older than ${halfSla} (5 min)`,
      owner: source.owners.collection,
      runbook: 'queue-backlog',
    },
    {
      kind: 'data-age',
      summary: `The newest ${source.name} record is older than its freshness SLA of ${sla}; a source with no records yet ages from when it was first tracked.`,
      condition: `data age > ${sla} (15 min); no records yet: time since first tracked > ${sla}`,
      owner: source.owners.collection,
      runbook: 'data-stale',
    },
    {
      kind: 'handoff-backlog',
      summary: `A ${source.name} hand-off task has waited for a person longer than half the freshness SLA (${halfSla}).`,
      condition: `oldest open hand-off task older than ${halfSla} (15 min)`,
      owner: source.owners.businessRules,
      runbook: 'handoff-backlog',
    },
  ];
}

/** The pipeline-wide alarm kinds; the constructs create one per function or table. */
export const PIPELINE_ALARM_ENTRIES: { readonly [kind in PipelineAlarmKind]: AlarmEntry<kind> } = {
  'transform-dead-letters': {
    kind: 'transform-dead-letters',
    summary: 'Messages are waiting in the transform dead-letter queue: raw data that did not become records.',
    condition: 'any message in the DLQ (1 min)',
    owner: PIPELINE_OWNER,
    runbook: 'dlq-messages',
  },
  'function-errors': {
    kind: 'function-errors',
    summary: 'A Sluice function is failing (crashes, timeouts or unhandled errors), not just its jobs.',
    condition: 'errors ≥ 1 in 2 of 3 five-minute periods',
    owner: PIPELINE_OWNER,
    runbook: 'function-errors',
  },
  'function-throttles': {
    kind: 'function-throttles',
    summary: 'Lambda is refusing to run a Sluice function (throttled): work waits in its queue.',
    condition: 'throttles ≥ 1 in 2 of 3 five-minute periods',
    owner: PIPELINE_OWNER,
    runbook: 'function-throttles',
  },
  'function-duration': {
    kind: 'function-duration',
    summary: `A Sluice function's p99 duration is above ${DURATION_ALARM_SHARE * 100}% of its timeout: it is about to time out.`,
    condition: `p99 duration > ${DURATION_ALARM_SHARE * 100}% of the timeout for 15 min`,
    owner: PIPELINE_OWNER,
    runbook: 'function-duration',
  },
  'table-throttling': {
    kind: 'table-throttling',
    summary: 'DynamoDB is throttling requests to a Sluice table.',
    condition:
      'throttled requests (all operations, a missing one counted 0) ≥ 1 in 2 of 3 five-minute periods',
    owner: PIPELINE_OWNER,
    runbook: 'dynamodb-throttling',
  },
  'change-feed-dead-letters': {
    kind: 'change-feed-dead-letters',
    summary:
      'The change feed gave up publishing some record changes: their RecordChanged events are missing until republished.',
    condition: 'any message in the change feed DLQ (1 min)',
    owner: PIPELINE_OWNER,
    runbook: 'change-feed',
  },
  'change-feed-lag': {
    kind: 'change-feed-lag',
    summary: 'The change feed is behind the records table: RecordChanged events are late.',
    condition: 'stream iterator age > 15 min (5 min)',
    owner: PIPELINE_OWNER,
    runbook: 'change-feed',
  },
  'schedule-dead-letters': {
    kind: 'schedule-dead-letters',
    summary:
      "A source's schedule could not send its run to the jobs queue: a scheduled collection did not start.",
    condition: "any message in the source stack's schedule DLQ (1 min)",
    owner: PIPELINE_OWNER,
    runbook: 'schedule-dead-letters',
  },
  'retry-spike': {
    kind: 'retry-spike',
    summary:
      'Across the fleet, an unusual share of job attempts fail transiently and are retried: a failure spike (sources, network, AWS) that may soon exhaust retry budgets.',
    condition: `retried attempts > ${RETRY_SPIKE_PERCENT}% of attempts in 2 of 3 ${RETRY_SPIKE_PERIOD_MINUTES}-minute periods with at least ${RETRY_SPIKE_MIN_ATTEMPTS} attempts`,
    owner: PIPELINE_OWNER,
    runbook: 'retry-spike',
  },
  'freshness-checks-missing': {
    kind: 'freshness-checks-missing',
    summary:
      'The freshness checker has not run for 15 minutes: no source publishes a data age, so no data-age alarm can fire.',
    condition: `no freshness check in ${FRESHNESS_CHECK_MINUTES * 3} min (the alarm goes to INSUFFICIENT_DATA, which notifies; a new deploy starts there and notifies nobody)`,
    owner: PIPELINE_OWNER,
    runbook: 'freshness-checks-missing',
  },
};

/**
 * The physical name of an alarm: `Sluice-demo-catalog-success-rate`,
 * `Sluice-transform-function-errors`. Alarm names are unique per account and region; each app
 * (a deployment of Sluice) has its own name, so a second copy never collides with the first.
 */
export function alarmName(appName: string, subject: string, kind: string): string {
  return `${appName}-${subject}-${kind}`;
}

/** The fleet's own alarms, one each however many sources (infra/constructs/fleet-alarms.ts). */
export type FleetAlarmKind = 'retry-spike' | 'freshness-checks-missing';

/** `Sluice-fleet-retry-spike`, `Sluice-freshness-checker-checks-missing`. */
export function fleetAlarmName(appName: string, kind: FleetAlarmKind): string {
  return kind === 'retry-spike'
    ? alarmName(appName, 'fleet', 'retry-spike')
    : alarmName(appName, 'freshness-checker', 'checks-missing');
}

/** A source's DLQ alarm (`Sluice-demo-catalog-dead-letters`); the transform's is `Sluice-transform-dead-letters`. */
export function deadLetterAlarmName(appName: string, subject: string): string {
  return alarmName(appName, subject, 'dead-letters');
}

/** A source stack's rollup of one kind: `Sluice-Sources-01-success-rate`. */
export function rollupAlarmName(sourceStackName: string, kind: RollupKind): string {
  return `${sourceStackName}-${kind}`;
}

/** The subject of a source stack's collector alarms: `Sources-01-http-collector`. */
export function collectorSubject(sourceStackName: string, appName: string, group: CollectorGroup): string {
  return `${sourceStackName.slice(appName.length + 1)}-${collectorRole(group)}`;
}

/** The role name of the collector function for a group of sources (`http-collector`, `http-vpc-collector`). */
export function collectorRole(group: CollectorGroup): string {
  return `${group}-collector`;
}

/**
 * Which collector of its stack collects a source: one per kind, and one more per kind for the
 * sources that reach private ranges (`network.privateCidrs`): that one runs in the team's VPC,
 * the others never do.
 */
export type CollectorGroup = CollectorKind | `${CollectorKind}-vpc`;

export const COLLECTOR_GROUPS: readonly CollectorGroup[] = ['http', 'browser', 'http-vpc', 'browser-vpc'];

export function collectorGroupOf(source: SourceDefinition): CollectorGroup {
  return (source.network?.privateCidrs.length ?? 0) > 0 ? `${source.kind}-vpc` : source.kind;
}

/** The kind of source a collector group collects. */
export function kindOfGroup(group: CollectorGroup): CollectorKind {
  return group.startsWith('browser') ? 'browser' : 'http';
}

/** The collector groups a set of sources needs, in a fixed order. */
export function collectorGroupsOf(sources: readonly SourceDefinition[]): CollectorGroup[] {
  return COLLECTOR_GROUPS.filter((group) => sources.some((s) => collectorGroupOf(s) === group));
}

/** The functions of the core stack the pipeline alarms watch, by role. */
export const CORE_FUNCTION_ROLES = ['transform', 'freshness-checker', 'change-feed'] as const;

/** The collector kinds a set of sources needs, in a fixed order. */
export function collectorKindsOf(sources: readonly SourceDefinition[]): CollectorKind[] {
  return (['http', 'browser'] as const).filter((kind) => sources.some((s) => s.kind === kind));
}

/** Every table the throttling alarm watches, by role. */
export const PIPELINE_TABLES = ['records', 'job-ledger', 'handoff-tasks'] as const;

/** Everyone an alarm notifies: each gets an SNS topic. */
export function alarmOwners(sources: readonly SourceDefinition[]): string[] {
  const owners = new Set<string>([PIPELINE_OWNER]);
  for (const source of sources) for (const entry of sourceAlarmEntries(source)) owners.add(entry.owner);
  return [...owners].sort();
}
