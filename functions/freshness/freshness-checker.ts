/** The freshness checker's adapter: reads the marks and open tasks, publishes one set of figures per source. */
import type { Context } from 'aws-lambda';
import type { HandoffTaskList } from '../adapters/handoff-tasks.js';
import { assessSources, type FreshnessSubject, type SourceHealth } from '../core/freshness.js';
import type { SourceFreshness } from '../core/ports.js';
import { logger, MetricName, publishMetric } from '../observability.js';

export interface FreshnessHandlerDeps {
  readonly sources: readonly FreshnessSubject[];
  readonly freshness: SourceFreshness;
  readonly tasks: HandoffTaskList;
  readonly clock: () => Date;
  /** Local runs measure ages in local time (see AssessOptions). @default 1 */
  readonly timeScale?: number;
}

export function createFreshnessHandler(deps: FreshnessHandlerDeps) {
  return async function handler(_event: unknown, context: Context): Promise<SourceHealth[]> {
    logger.addContext(context);
    const started = deps.clock();
    const names = deps.sources.map((s) => s.name);
    const [marks, tracked, open] = await Promise.all([
      deps.freshness.newest(names),
      // A source seen for the first time is tracked from now: its age counts from here.
      deps.freshness.trackedSince(names, started),
      deps.tasks.list('open'),
    ]);
    const now = deps.clock();
    const health = assessSources(
      deps.sources,
      new Map([...marks].map(([source, mark]) => [source, mark.newestObservedAt])),
      open.map((t) => ({ source: t.source, createdAt: new Date(t.createdAt) })),
      now,
      tracked,
      { timeScale: deps.timeScale ?? 1 },
    );
    for (const h of health) {
      // Every tracked source has an age, records or not, so a missing age means only one thing:
      // the checker is not running (its own alarm says so).
      if (h.dataAgeSeconds !== undefined) publishMetric(h.source, MetricName.DataAge, h.dataAgeSeconds);
      // One value per open task, and nothing while there is none: the series is billed only for
      // the hours a source has a backlog.
      publishMetric(h.source, MetricName.HandoffAge, ...h.handoffAgesSeconds);
      const mark = marks.get(h.source);
      const fields = {
        source: h.source,
        outcome: h.stale ? 'stale' : 'fresh',
        branch: h.ageFrom === 'newest-observation' ? 'has-records' : 'no-records-yet',
        dataAgeSeconds: h.dataAgeSeconds,
        ageFrom: h.ageFrom,
        trackedSince: tracked.get(h.source)?.toISOString(),
        slaSeconds: h.slaSeconds,
        newestObservedAt: h.newestObservedAt?.toISOString(),
        newestTraceId: mark?.newestTraceId,
        newestJobKey: mark?.newestJobKey,
        handoffBacklog: h.handoffBacklog,
        oldestHandoffAgeSeconds: h.oldestHandoffAgeSeconds,
      };
      if (h.stale) logger.warn('source data is stale', fields);
      else logger.info('source data is fresh', fields);
    }
    logger.info('freshness checked', {
      sources: health.length,
      stale: health.filter((h) => h.stale).map((h) => h.source),
      durationMs: deps.clock().getTime() - started.getTime(),
    });
    return health;
  };
}
