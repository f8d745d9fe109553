/**
 * The freshness checker's core: from each source's newest observation and its open hand-off
 * tasks, the figures operators alarm on — data age against the freshness SLA, and the hand-off
 * backlog. Pure: the clock and the data come in as arguments.
 *
 * What "fresh" means for a source that has never produced a record: its data age counts from
 * when Sluice started tracking it (the first freshness check that saw it, which follows its
 * deploy within minutes) — the later of that and its newest observation. So a fresh deploy is
 * fresh, and pages nobody; a new source that delivers nothing within its SLA goes stale exactly
 * when one that stopped delivering would. And every source always has an age: no age published
 * means the checker is not running, never "no data yet".
 */

export interface FreshnessSubject {
  readonly name: string;
  readonly freshnessSlaMinutes: number;
}

/** Where a source's data age counts from. */
export type AgeFrom = 'newest-observation' | 'tracked-since';

export interface SourceHealth {
  readonly source: string;
  readonly slaSeconds: number;
  /**
   * Seconds since the newest observation that became records, or since tracking began when
   * that is later (see the module comment); undefined only for a source not tracked yet.
   */
  readonly dataAgeSeconds: number | undefined;
  readonly ageFrom: AgeFrom | undefined;
  readonly newestObservedAt: Date | undefined;
  /** True when the data age is over the SLA, or the source is not even tracked. */
  readonly stale: boolean;
  readonly handoffBacklog: number;
  /** 0 when no task is open. */
  readonly oldestHandoffAgeSeconds: number;
  /** The age of every open task, oldest first; empty when none is open. */
  readonly handoffAgesSeconds: readonly number[];
}

export interface AssessOptions {
  /**
   * Local runs measure time faster (see DEFAULT_TIME_SCALE in local/environment.ts): an elapsed
   * real second is 1/timeScale seconds of local time, so ages compare with the SLA as deployed.
   * @default 1
   */
  readonly timeScale?: number;
}

export function assessSources(
  sources: readonly FreshnessSubject[],
  newestObservedAt: ReadonlyMap<string, Date>,
  openTasks: readonly { readonly source: string; readonly createdAt: Date }[],
  now: Date,
  trackedSince: ReadonlyMap<string, Date> = new Map(),
  options: AssessOptions = {},
): SourceHealth[] {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be positive, got ${timeScale}`);
  const secondsSince = (then: Date) =>
    Math.max(0, Math.floor((now.getTime() - then.getTime()) / 1000 / timeScale));
  return sources.map((source) => {
    const newest = newestObservedAt.get(source.name);
    const tracked = trackedSince.get(source.name);
    const tasks = openTasks.filter((t) => t.source === source.name);
    const ages = tasks.map((t) => secondsSince(t.createdAt)).sort((a, b) => b - a);
    const slaSeconds = source.freshnessSlaMinutes * 60;
    const ageFrom: AgeFrom | undefined =
      newest !== undefined && (tracked === undefined || newest >= tracked)
        ? 'newest-observation'
        : tracked !== undefined
          ? 'tracked-since'
          : undefined;
    const from = ageFrom === 'newest-observation' ? newest : tracked;
    const dataAgeSeconds = from === undefined ? undefined : secondsSince(from);
    return {
      source: source.name,
      slaSeconds,
      dataAgeSeconds,
      ageFrom,
      newestObservedAt: newest,
      stale: dataAgeSeconds === undefined || dataAgeSeconds > slaSeconds,
      handoffBacklog: tasks.length,
      oldestHandoffAgeSeconds: ages[0] ?? 0,
      handoffAgesSeconds: ages,
    };
  });
}
