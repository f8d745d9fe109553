/**
 * The local environment's CloudWatch alarm evaluation: every alarm of every synthesized template,
 * evaluated on CloudWatch's schedule (every minute, at the local time scale) against the metrics
 * the environment publishes, with each alarm's own definition (local/alarms/alarm-evaluator.ts).
 * Each state it finds is set on the alarm in the emulator's CloudWatch, so DescribeAlarms — and
 * `sluice alarms` — answer locally as in AWS.
 */
import { type CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import type { LocalAlarm } from '../provision.js';
import { evaluateCompositeAlarm, evaluateMetricAlarm, type SampleSource } from './alarm-evaluator.js';
import {
  type AlarmDefinition,
  type AlarmState,
  type CompositeAlarmDefinition,
  compositeAlarmFrom,
  type MetricAlarmDefinition,
  metricAlarmFrom,
} from './alarm-model.js';
import { alarmsOfRule, parseCompositeRule } from './composite-rule.js';

/** What the local report and the console say about one alarm. */
export interface AlarmStatus {
  readonly name: string;
  readonly state: AlarmState;
  readonly reason: string;
  /** `<stack>.<logical ID>`. */
  readonly id: string;
  readonly kind: 'metric' | 'composite';
  /** When it entered its state (ISO); the start of the evaluation for a state it never left. */
  readonly since: string;
  /**
   * Whether it is notifying someone right now: its state is one its actions are set for, and it
   * got there by a change (CloudWatch acts on changes only, never on the state an alarm starts in).
   */
  readonly firing: boolean;
  /** How often its state changed. */
  readonly changes: number;
}

interface Tracked {
  readonly definition: AlarmDefinition;
  state: AlarmState;
  reason: string;
  since: number;
  changes: number;
  /** The state last set in the emulator's CloudWatch. */
  published: AlarmState | undefined;
}

/** The definitions of the provisioned alarms; throws, naming the alarm, on one the evaluator cannot model. */
export function alarmDefinitions(alarms: readonly LocalAlarm[]): AlarmDefinition[] {
  const definitions = alarms.map((alarm) =>
    alarm.type === 'AWS::CloudWatch::CompositeAlarm'
      ? compositeAlarmFrom(alarm.id, alarm.properties)
      : metricAlarmFrom(alarm.id, alarm.properties),
  );
  // Fail at start, not at the first evaluation: every expression and rule must parse.
  for (const definition of definitions) {
    if (definition.kind === 'composite') parseCompositeRule(definition.rule);
    else evaluateMetricAlarm(definition, () => [], { at: 0 });
  }
  return definitions;
}

/** Composites after the alarms their rules name, so each sees its children's states of this round. */
function inEvaluationOrder(composites: readonly CompositeAlarmDefinition[]): CompositeAlarmDefinition[] {
  const byName = new Map(composites.map((c) => [c.name, c]));
  const ordered: CompositeAlarmDefinition[] = [];
  const visiting = new Set<string>();
  const visit = (composite: CompositeAlarmDefinition) => {
    if (ordered.includes(composite)) return;
    if (visiting.has(composite.name)) throw new Error(`composite alarm ${composite.name} names itself`);
    visiting.add(composite.name);
    for (const child of alarmsOfRule(parseCompositeRule(composite.rule))) {
      const nested = byName.get(child);
      if (nested !== undefined) visit(nested);
    }
    ordered.push(composite);
  };
  for (const composite of composites) visit(composite);
  return ordered;
}

export interface AlarmMonitorOptions {
  readonly timeScale: number;
  /** Where states are set; none: kept here only. @default - none */
  readonly cloudwatch?: CloudWatchClient;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** CloudWatch evaluates an alarm every minute. */
const EVALUATION_INTERVAL_SECONDS = 60;

export class AlarmMonitor {
  private readonly tracked: Tracked[];
  private readonly metricAlarms: readonly Tracked[];
  private readonly composites: readonly Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private warned = false;
  /** Evaluation rounds done. */
  rounds = 0;

  constructor(
    alarms: readonly LocalAlarm[],
    private readonly samples: SampleSource,
    private readonly options: AlarmMonitorOptions,
  ) {
    const started = this.now();
    const track = (definition: AlarmDefinition): Tracked => ({
      definition,
      state: 'INSUFFICIENT_DATA',
      reason: 'not evaluated yet',
      since: started,
      changes: 0,
      published: undefined,
    });
    const definitions = alarmDefinitions(alarms);
    this.metricAlarms = definitions.filter((d): d is MetricAlarmDefinition => d.kind === 'metric').map(track);
    this.composites = inEvaluationOrder(
      definitions.filter((d): d is CompositeAlarmDefinition => d.kind === 'composite'),
    ).map(track);
    this.tracked = [...this.metricAlarms, ...this.composites];
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** Milliseconds between evaluations: a minute at the local time scale, at least a second. */
  get intervalMs(): number {
    return Math.max(1000, Math.round(EVALUATION_INTERVAL_SECONDS * 1000 * this.options.timeScale));
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.running = this.running.then(() => this.evaluate());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One round: every metric alarm, then every composite over their new states. */
  async evaluate(at = this.now()): Promise<void> {
    const change = (alarm: Tracked, state: AlarmState, reason: string) => {
      if (state !== alarm.state) {
        alarm.state = state;
        alarm.since = at;
        alarm.changes += 1;
      }
      alarm.reason = reason;
    };
    for (const alarm of this.metricAlarms) {
      const definition = alarm.definition as MetricAlarmDefinition;
      try {
        const evaluation = evaluateMetricAlarm(definition, this.samples, {
          at,
          timeScale: this.options.timeScale,
          current: alarm.state,
        });
        change(alarm, evaluation.state, evaluation.reason);
      } catch (error) {
        this.warn(`${definition.name}: ${(error as Error).message}`);
      }
    }
    const stateByName = new Map(this.tracked.map((t) => [t.definition.name, t]));
    for (const alarm of this.composites) {
      const evaluation = evaluateCompositeAlarm(
        alarm.definition as CompositeAlarmDefinition,
        (name) => stateByName.get(name)?.state,
      );
      change(alarm, evaluation.state, evaluation.reason);
    }
    this.rounds += 1;
    await this.publish();
  }

  /** Sets the states that changed on the emulator's alarms. */
  private async publish(): Promise<void> {
    const { cloudwatch } = this.options;
    if (cloudwatch === undefined) return;
    for (const alarm of this.tracked) {
      if (alarm.published === alarm.state) continue;
      try {
        await cloudwatch.send(
          new SetAlarmStateCommand({
            AlarmName: alarm.definition.name,
            StateValue: alarm.state,
            StateReason: alarm.reason.slice(0, 1023),
          }),
        );
        alarm.published = alarm.state;
      } catch (error) {
        this.warn(`setting the state of ${alarm.definition.name}: ${(error as Error).message}`);
      }
    }
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    process.emitWarning(`local alarm evaluation: ${message}`);
  }

  /** Every alarm's state now, alarms in ALARM first, then by name. */
  statuses(): AlarmStatus[] {
    const rank = (state: AlarmState) => (state === 'ALARM' ? 0 : state === 'INSUFFICIENT_DATA' ? 1 : 2);
    return this.tracked
      .map(
        (t): AlarmStatus => ({
          name: t.definition.name,
          state: t.state,
          reason: t.reason,
          id: t.definition.id,
          kind: t.definition.kind,
          since: new Date(t.since).toISOString(),
          firing: t.changes > 0 && t.definition.notifiesOn.includes(t.state),
          changes: t.changes,
        }),
      )
      .sort((a, b) => rank(a.state) - rank(b.state) || a.name.localeCompare(b.name));
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
