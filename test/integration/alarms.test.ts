/**
 * The alarms mean what they say, evaluated locally (local/alarms/) against what the real
 * functions and the pollers publish: a healthy batch raises no alarm at all, and the fault
 * fixtures (500s, a 404, changed layouts, captchas, a poison message) raise exactly their
 * sources' dead-letter, success-rate and hand-off alarms, and their stack's roll-ups of those
 * kinds — nothing else. Both scenarios run through local/scenario-run.ts, as `npm start` does.
 *
 * The expected set is built here from the run's own facts (which sources the fault jobs went
 * to), not from the scenario's expectation, so a wrong expectation fails too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';
import { alarmName, rollupAlarmName, type SourceAlarmKind } from '../../infra/alarm-catalogue.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { runScenario } from '../../local/scenario-run.js';
import { planScenario } from '../../local/scenarios.js';

let env: LocalEnvironment;
let scratch: string;

beforeAll(async () => {
  env = await startLocalEnvironment({ synth: false });
  scratch = mkdtempSync(join(tmpdir(), 'sluice-alarms-'));
});

afterAll(async () => {
  await env?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** `npx sluice --local alarms ...` against this environment. */
async function sluiceAlarms(...args: string[]): Promise<{ code: number; out: string }> {
  const envFile = join(scratch, 'local-env.json');
  writeFileSync(envFile, JSON.stringify(env.describe()));
  let out = '';
  const code = await runCli(['--local', '--local-env', envFile, 'alarms', ...args], {
    stdout: (text) => {
      out += `${text}\n`;
    },
    stderr: (text) => {
      out += `${text}\n`;
    },
  });
  return { code, out };
}

const inAlarm = (alarms: readonly { name: string; state: string }[]) =>
  alarms
    .filter((a) => a.state === 'ALARM')
    .map((a) => a.name)
    .sort();

describe('alarms evaluated locally', () => {
  it('a healthy batch, one job per demo source, ends with every alarm evaluated and none in ALARM', async () => {
    const plan = planScenario('healthy', 5, `${env.runId}-healthy`);
    const run = await runScenario(env, plan, { timeoutMs: 300_000 });

    expect(run.tracked.map((t) => run.summaries.get(t.jobKey)?.status)).toEqual(
      plan.demo.map(() => 'transformed'),
    );
    // The follow-up jobs they started (demo-shipments follows its pages) ended with records too.
    expect(new Set([...run.summaries.values()].map((s) => s.status))).toEqual(new Set(['transformed']));
    // Every alarm of every template, evaluated: metric alarms and the stacks' roll-ups.
    expect(run.alarms).toHaveLength(env.provisioned.alarms.size);
    expect(run.alarms.some((a) => a.kind === 'composite')).toBe(true);
    // Evaluated against data, not left without: the demo sources' success rates read 100 %.
    for (const source of new Set(plan.demo.map((d) => d.job.source))) {
      const rate = run.alarms.find(
        (a) => a.name === alarmName(env.describe().appName, source, 'success-rate'),
      );
      expect(rate, source).toMatchObject({ state: 'OK' });
    }
    expect(inAlarm(run.alarms)).toEqual([]);
    expect(run.expectedAlarms).toEqual([]);
  }, 420_000);

  it("the fault fixtures raise exactly their sources' dead-letter, success-rate and hand-off alarms", async () => {
    const plan = planScenario('faults', 5, `${env.runId}-faults`);
    const run = await runScenario(env, plan, { timeoutMs: 300_000 });

    // Every fault job ended as planned, the poison message in its source's DLQ.
    const ends = plan.faults.map((f) => run.summaries.get(`id-${f.job.jobId}`)?.status);
    expect(ends).toEqual(
      plan.faults.map((f) => (f.plannedEnd === 'dead-letter' ? 'dead-lettered' : 'handed-off')),
    );
    expect(run.poison.map((p) => p.status)).toEqual(plan.poison.map(() => 'dead-lettered'));

    const appName = env.describe().appName;
    const stackOf = new Map(
      [...env.provisioned.alarms.values()].map((alarm) => [alarm.name, alarm.stackName] as const),
    );
    const failing = new Set([...plan.faults.map((f) => f.job.source), ...plan.poison.map((p) => p.source)]);
    const kinds: SourceAlarmKind[] = ['dead-letters', 'success-rate', 'handoff-backlog'];
    const expected = [...failing].flatMap((source) =>
      kinds.flatMap((kind) => {
        const name = alarmName(appName, source, kind);
        return [name, rollupAlarmName(stackOf.get(name) ?? '', kind)];
      }),
    );
    expect(failing.size).toBeGreaterThan(1);
    expect(inAlarm(run.alarms)).toEqual([...new Set(expected)].sort());
    expect(run.unexpectedAlarms).toEqual([]);
    expect(run.missingAlarms).toEqual([]);

    // The states are set on the emulator's alarms: `sluice alarms` lists the same ones in ALARM.
    const cli = await sluiceAlarms('--state', 'ALARM', '--json');
    expect(cli.code).toBe(0);
    const listed = JSON.parse(cli.out) as { alarms: { name: string; state: string; reason: string }[] };
    expect(listed.alarms.map((a) => a.name).sort()).toEqual(inAlarm(run.alarms));
    expect(listed.alarms.every((a) => a.state === 'ALARM' && a.reason !== '')).toBe(true);
  }, 600_000);
});
