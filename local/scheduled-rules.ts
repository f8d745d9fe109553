/**
 * Runs EventBridge schedules locally: each `rate(...)` rule of the template invokes its target
 * functions on a timer, its interval scaled by the local time scale, with the event EventBridge
 * sends. Like EventBridge, the first run comes one interval after the rule exists; unlike it, a
 * run is skipped while the previous one is still going, so a slow local run cannot pile up.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import type { LocalFunction } from './lambda-runtime.js';
import type { LocalScheduledRule } from './provision.js';

/** No local schedule fires more often than this, whatever the time scale. */
const MIN_INTERVAL_MS = 1000;

export function scheduledEvent(
  rule: LocalScheduledRule,
  at: Date,
  where: { region: string; accountId: string },
): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: where.accountId,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region,
    resources: [rule.arn],
    detail: {},
  };
}

export function localIntervalMs(rule: LocalScheduledRule, timeScale: number): number {
  return Math.max(MIN_INTERVAL_MS, Math.round(rule.intervalSeconds * 1000 * timeScale));
}

export class ScheduledRuleRunner {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private readonly busy = new Set<string>();
  /** Runs started per rule, for tests and the run's summary. */
  readonly runs = new Map<string, number>();

  constructor(
    readonly rules: readonly LocalScheduledRule[],
    private readonly functions: ReadonlyMap<string, LocalFunction>,
    private readonly options: {
      readonly timeScale: number;
      readonly region: string;
      readonly accountId: string;
    },
  ) {}

  start(): void {
    for (const rule of this.rules) {
      const timer = setInterval(() => this.fire(rule), localIntervalMs(rule, this.options.timeScale));
      this.timers.push(timer);
    }
  }

  /** Runs a rule now (also what the timer does), unless its previous run is still going. */
  fire(rule: LocalScheduledRule): void {
    if (this.busy.has(rule.logicalId)) return;
    this.busy.add(rule.logicalId);
    this.runs.set(rule.logicalId, (this.runs.get(rule.logicalId) ?? 0) + 1);
    const event = scheduledEvent(rule, new Date(), this.options);
    const run = Promise.all(
      rule.functionLogicalIds.map((id) => {
        const fn = this.functions.get(id);
        if (fn === undefined)
          throw new Error(`rule ${rule.logicalId} targets ${id}, which has no local function`);
        return fn.invoke(event);
      }),
    )
      .catch((error: unknown) =>
        process.emitWarning(`schedule ${rule.logicalId}: ${(error as Error).message}`),
      )
      .finally(() => {
        this.busy.delete(rule.logicalId);
        this.running.delete(run);
      });
    this.running.add(run);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.all([...this.running]);
  }
}
