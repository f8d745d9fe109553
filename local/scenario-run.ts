/**
 * Plays a scenario (local/scenarios.ts) on a running local environment: sends its jobs, follows
 * each to its end, lets time pass until every alarm it expects can have fired, evaluates the
 * alarms one last time and compares them with what the scenario expects. `npm start` and the
 * alarm integration test both run scenarios through here.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoHandoffTaskList } from '../functions/adapters/handoff-tasks.js';
import { alarmName } from '../infra/alarm-catalogue.js';
import type { AlarmStatus } from './alarms/alarm-monitor.js';
import type { LocalEnvironment } from './environment.js';
import {
  enqueueJobs,
  type LedgerSummary,
  type Progress,
  readSummaries,
  type TrackedJob,
  waitForOutcomes,
} from './run-tracker.js';
import { expectedAlarms, handoffAlarmDueMs, type ScenarioPlan } from './scenarios.js';
import { localIntervalMs } from './scheduled-rules.js';

export interface PoisonOutcome {
  readonly source: string;
  readonly jobKey: string;
  readonly fault: string;
  /** Its ledger status; `dead-lettered` when it ended as it must. */
  readonly status: string | undefined;
}

export interface ScenarioRun {
  readonly tracked: readonly TrackedJob[];
  readonly summaries: ReadonlyMap<string, LedgerSummary>;
  readonly poison: readonly PoisonOutcome[];
  /** Every alarm of the app after the run, ALARM first. */
  readonly alarms: readonly AlarmStatus[];
  readonly expectedAlarms: readonly string[];
  /** In ALARM though the scenario does not expect it. */
  readonly unexpectedAlarms: readonly string[];
  /** Expected in ALARM, but not. */
  readonly missingAlarms: readonly string[];
}

export interface ScenarioRunOptions {
  /** For each wait (the faults, the demo batch, the alarms' time to fire). */
  readonly timeoutMs: number;
  readonly onProgress?: (progress: Progress) => void;
  readonly onStep?: (text: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stack each source's alarms live in, read from the provisioned alarms. */
function stackOfSource(env: LocalEnvironment, appName: string): (source: string) => string {
  const stacks = new Map([...env.provisioned.alarms.values()].map((a) => [a.name, a.stackName]));
  return (source) => {
    const stack = stacks.get(alarmName(appName, source, 'dead-letters'));
    if (stack === undefined) throw new Error(`no alarms of ${source} in the templates`);
    return stack;
  };
}

async function sendPoison(env: LocalEnvironment, plan: ScenarioPlan): Promise<PoisonOutcome[]> {
  return Promise.all(
    plan.poison.map(async (poison) => {
      const { MessageId } = await env.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: env.sourceQueues(poison.source).jobs.url,
          MessageBody: poison.body,
        }),
      );
      // A message without a job ID is filed under its message ID.
      return { source: poison.source, jobKey: `msg-${MessageId}`, fault: poison.fault, status: undefined };
    }),
  );
}

async function poisonEnded(env: LocalEnvironment, poison: readonly PoisonOutcome[], deadline: number) {
  for (;;) {
    const summaries = await readSummaries(
      env,
      poison.map((p) => p.jobKey),
    );
    const outcomes = poison.map((p) => ({ ...p, status: summaries.get(p.jobKey)?.status }));
    if (outcomes.every((p) => p.status === 'dead-lettered') || Date.now() > deadline) return outcomes;
    await sleep(500);
  }
}

export async function runScenario(
  env: LocalEnvironment,
  plan: ScenarioPlan,
  options: ScenarioRunOptions,
): Promise<ScenarioRun> {
  const step = options.onStep ?? (() => undefined);
  const wait = (jobs: readonly TrackedJob[]) =>
    waitForOutcomes(env, jobs, {
      timeoutMs: options.timeoutMs,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  const tracked: TrackedJob[] = [];
  const summaries = new Map<string, LedgerSummary>();
  let poison: PoisonOutcome[] = [];

  if (plan.faults.length > 0 || plan.poison.length > 0) {
    const faults = await enqueueJobs(
      env,
      plan.faults.map((f) => f.job),
    );
    const sent = await sendPoison(env, plan);
    step(
      `enqueued ${faults.length} fault fixture job(s) and ${sent.length} poison message(s); waiting for them to end…`,
    );
    for (const [key, summary] of await wait(faults)) summaries.set(key, summary);
    poison = await poisonEnded(env, sent, Date.now() + options.timeoutMs);
    tracked.push(...faults);
  }
  const demo = await enqueueJobs(
    env,
    plan.demo.map((d) => d.job),
  );
  step(`enqueued ${demo.length} demo job(s); waiting for every job to finish…`);
  for (const [key, summary] of await wait(demo)) summaries.set(key, summary);
  tracked.push(...demo);

  const alarms = env.alarms;
  if (alarms === undefined) throw new Error('this environment does not evaluate alarms');
  const appName = env.describe().appName;
  const handoffSources = new Set(
    plan.faults.filter((f) => f.plannedEnd === 'hand-off').map((f) => f.job.source),
  );
  if (handoffSources.size > 0) {
    // A hand-off backlog alarm fires when a task has waited half its source's SLA: let that time pass.
    const checkMs = Math.max(
      1000,
      ...env.schedules.rules.map((rule) => localIntervalMs(rule, env.timeScale)),
    );
    const open = await new DynamoHandoffTaskList(env.clients.documents, env.tasksTable).list('open');
    const due = [...handoffSources].map((source) => {
      const oldest = open.find((t) => t.source === source);
      const from = oldest === undefined ? Date.now() : new Date(oldest.createdAt).getTime();
      return from + handoffAlarmDueMs(source, env.timeScale, { checkMs, evaluationMs: alarms.intervalMs });
    });
    const until = Math.min(Math.max(...due), Date.now() + options.timeoutMs);
    if (until > Date.now()) {
      step(
        `waiting ${((until - Date.now()) / 1000).toFixed(0)} s for the hand-off tasks to age past their alarms' threshold…`,
      );
      await sleep(until - Date.now());
    }
  }
  // The last outcomes' metrics reach CloudWatch, SQS's next minute is measured, then one more round.
  await sleep(2 * alarms.intervalMs);
  await env.metrics.flush();
  await alarms.evaluate();
  const statuses = alarms.statuses();
  const expected = expectedAlarms(plan, appName, stackOfSource(env, appName));
  const inAlarm = statuses.filter((s) => s.state === 'ALARM').map((s) => s.name);
  return {
    tracked,
    summaries,
    poison,
    alarms: statuses,
    expectedAlarms: expected,
    unexpectedAlarms: inAlarm.filter((name) => !expected.includes(name)),
    missingAlarms: expected.filter((name) => !inAlarm.includes(name)),
  };
}
