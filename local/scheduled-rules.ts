/**
 * Runs EventBridge rule schedules (the freshness checker's) and EventBridge Scheduler schedules
 * (the sources') locally.
 *
 * Rules: each `rate(...)` rule of the template invokes its target
 * functions on a timer, its interval scaled by the local time scale, with the event EventBridge
 * sends. Like EventBridge, the first run comes one interval after the rule exists; unlike it, a
 * run is skipped while the previous one is still going, so a slow local run cannot pile up.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ScheduledEvent } from 'aws-lambda';
import { parseScheduleExpression, runsAfter } from '../sources/schedule-expression.js';
import type { LocalFunction } from './lambda-runtime.js';
import type { LocalSchedule, LocalScheduledRule } from './provision.js';

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

/** The context attributes Scheduler fills in a templated target's input. */
export function scheduledInput(
  template: string,
  attributes: {
    readonly scheduledAt: Date;
    readonly scheduleArn: string;
    readonly executionId: string;
    readonly attempt: number;
  },
): string {
  return template
    .replaceAll(
      '<aws.scheduler.scheduled-time>',
      attributes.scheduledAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    )
    .replaceAll('<aws.scheduler.schedule-arn>', attributes.scheduleArn)
    .replaceAll('<aws.scheduler.execution-id>', attributes.executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(attributes.attempt));
}

/**
 * Fires EventBridge Scheduler schedules locally (moto keeps them but never fires them), on a
 * clock that runs `1 / timeScale` times faster than the wall clock from the moment it starts: a
 * `rate(1 hour)` schedule fires every minute at the default 1/60, a cron schedule at the times its
 * expression names on that faster clock. Each firing sends the target's input, its context
 * attributes filled in, to the target queue; a send that keeps failing goes, after the schedule's
 * retries, to its dead-letter queue as a dead-letter event, as Scheduler does.
 */
export class LocalScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sending = new Set<Promise<unknown>>();
  private startedAt = Date.now();
  private stopped = false;
  /** Runs sent per schedule name, for tests and the run's summary. */
  readonly fired = new Map<string, number>();

  constructor(
    readonly schedules: readonly LocalSchedule[],
    private readonly sqs: SQSClient,
    private readonly options: {
      readonly timeScale: number;
      readonly region: string;
      readonly accountId: string;
    },
  ) {}

  /** The scheduled clock: what time the schedules think it is. */
  now(): Date {
    return new Date(this.startedAt + (Date.now() - this.startedAt) / this.options.timeScale);
  }

  start(): void {
    this.startedAt = Date.now();
    for (const schedule of this.schedules) if (schedule.enabled) this.planNext(schedule);
  }

  private planNext(schedule: LocalSchedule): void {
    if (this.stopped) return;
    const expression = parseScheduleExpression(schedule.expression);
    const now = this.now();
    const [next] = runsAfter(expression, schedule.timeZone, now, 1, new Date(this.startedAt));
    if (next === undefined) return;
    const delay = Math.max(MIN_INTERVAL_MS, (next.getTime() - now.getTime()) * this.options.timeScale);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.track(this.fire(schedule, next));
      this.planNext(schedule);
    }, delay);
    this.timers.add(timer);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work
      .catch((error: unknown) => process.emitWarning(`local scheduler: ${(error as Error).message}`))
      .finally(() => this.sending.delete(tracked));
    this.sending.add(tracked);
  }

  /** Sends one run of `schedule` for `scheduledAt` now (what a timer does; tests fire it twice). */
  async fire(schedule: LocalSchedule, scheduledAt: Date): Promise<void> {
    this.fired.set(schedule.name, (this.fired.get(schedule.name) ?? 0) + 1);
    const scheduleArn = `arn:aws:scheduler:${this.options.region}:${this.options.accountId}:schedule/default/${schedule.name}`;
    const executionId = randomUUID().replace(/-/g, '').slice(0, 16);
    let lastError: unknown;
    for (let attempt = 1; attempt <= Math.min(schedule.maxRetryAttempts, 10) + 1; attempt += 1) {
      const body = scheduledInput(schedule.input, { scheduledAt, scheduleArn, executionId, attempt });
      try {
        await this.sqs.send(new SendMessageCommand({ QueueUrl: schedule.targetQueueUrl, MessageBody: body }));
        return;
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    if (schedule.deadLetterQueueUrl === undefined) throw lastError;
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: schedule.deadLetterQueueUrl,
        MessageBody: JSON.stringify({
          scheduleArn,
          scheduledTime: scheduledAt.toISOString(),
          error: lastError instanceof Error ? lastError.message : String(lastError),
        }),
        MessageAttributes: {
          ERROR_CODE: { DataType: 'String', StringValue: 'SendFailed' },
          ERROR_MESSAGE: {
            DataType: 'String',
            StringValue: lastError instanceof Error ? lastError.message : 'send failed',
          },
          EXECUTION_ID: { DataType: 'String', StringValue: executionId },
        },
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.sending]);
  }
}
