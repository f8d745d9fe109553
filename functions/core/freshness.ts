/**
 * The freshness checker's core: from each source's newest observation and its open hand-off
 * tasks, the figures operators alarm on — data age against the freshness SLA, and the hand-off
 * backlog. Pure: the clock and the data come in as arguments.
 */

export interface FreshnessSubject {
  readonly name: string;
  readonly freshnessSlaMinutes: number;
}

export interface SourceHealth {
  readonly source: string;
  readonly slaSeconds: number;
  /** Undefined when the source never produced a record: its age is unknown, not zero. */
  readonly dataAgeSeconds: number | undefined;
  readonly newestObservedAt: Date | undefined;
  /** True when the data is older than the SLA, or there is no data at all. */
  readonly stale: boolean;
  readonly handoffBacklog: number;
  /** 0 when no task is open. */
  readonly oldestHandoffAgeSeconds: number;
  /** The age of every open task, oldest first; empty when none is open. */
  readonly handoffAgesSeconds: readonly number[];
}

export function assessSources(
  sources: readonly FreshnessSubject[],
  newestObservedAt: ReadonlyMap<string, Date>,
  openTasks: readonly { readonly source: string; readonly createdAt: Date }[],
  now: Date,
): SourceHealth[] {
  const secondsSince = (then: Date) => Math.max(0, Math.floor((now.getTime() - then.getTime()) / 1000));
  return sources.map((source) => {
    const newest = newestObservedAt.get(source.name);
    const tasks = openTasks.filter((t) => t.source === source.name);
    const ages = tasks.map((t) => secondsSince(t.createdAt)).sort((a, b) => b - a);
    const slaSeconds = source.freshnessSlaMinutes * 60;
    const dataAgeSeconds = newest === undefined ? undefined : secondsSince(newest);
    return {
      source: source.name,
      slaSeconds,
      dataAgeSeconds,
      newestObservedAt: newest,
      stale: dataAgeSeconds === undefined || dataAgeSeconds > slaSeconds,
      handoffBacklog: tasks.length,
      oldestHandoffAgeSeconds: ages[0] ?? 0,
      handoffAgesSeconds: ages,
    };
  });
}
