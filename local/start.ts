/**
 * `npm start`: the whole pipeline on this machine. Starts the emulator, creates the resources of
 * the synthesized template, starts the demo site and the local Lambda pollers, plays a scenario
 * (the demo batch; or, with `--scenario faults`, the fault fixtures first), follows every job to
 * its end, evaluates every alarm as CloudWatch would and prints a summary with the alarms in
 * ALARM (also in local-report.json and local-report.html). Exits non-zero when any job is
 * unaccounted for, or the alarms are not the ones the scenario expects.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureSources, sources } from '../sources/registry.js';
import { EmulatorMissingError } from './emulator.js';
import { DEFAULT_TIME_SCALE, type LocalEnvironment, startLocalEnvironment } from './environment.js';
import { LOCAL_ENV_FILE, LocalEnvFile } from './local-env-file.js';
import { PROJECT_ROOT } from './paths.js';
import { renderReportHtml } from './report-html.js';
import { gatherReportDetails, type LocalReport } from './run-report.js';
import { type Progress, summarizeRun } from './run-tracker.js';
import { runScenario } from './scenario-run.js';
import { planScenario, SCENARIOS, type ScenarioName } from './scenarios.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50' },
    scenario: { type: 'string', default: 'healthy' },
    'time-scale': { type: 'string', default: String(DEFAULT_TIME_SCALE) },
    'timeout-seconds': { type: 'string', default: '900' },
    'no-synth': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm start -- [--jobs N] [--scenario healthy|faults] [--time-scale F] [--timeout-seconds S] [--no-synth] [--keep]
  --jobs N             demo jobs to enqueue (default 50)
  --scenario S         healthy (default): the demo batch, and no alarm may fire;
                       faults: the fault fixtures (500s, a 404, changed layouts, captchas, a poison
                       message) first, then the demo batch: exactly the dead-letter, success-rate and
                       hand-off alarms of the failing sources fire (it waits for the hand-off tasks
                       to age past half their SLA, about 90 s at the default time scale)
  --time-scale F       local time factor for visibility timeouts and retry delays (default ${DEFAULT_TIME_SCALE})
  --timeout-seconds S  give up waiting after S seconds (default 900)
  --no-synth           reuse cdk.out instead of synthesizing first
  --keep               keep the environment running after the run (Ctrl-C stops it), for
                       \`npx sluice --local ...\`; it is described in .sluice/local-env.json`);
  process.exit(0);
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got ${text}`);
    process.exit(2);
  }
  return value;
}

const jobCount = positive('jobs', values.jobs);
if (!(SCENARIOS as readonly string[]).includes(values.scenario)) {
  console.error(`--scenario must be one of ${SCENARIOS.join(', ')}, got ${values.scenario}`);
  process.exit(2);
}
const scenarioName = values.scenario as ScenarioName;
const timeScale = positive('time-scale', values['time-scale']);
const timeoutMs = positive('timeout-seconds', values['timeout-seconds']) * 1000;
const step = (text: string) => console.log(`• ${text}`);

/** Removes .sluice/local-env.json if this process wrote it (another `npm start` may own it now). */
function removeLocalEnvFile(): void {
  if (!existsSync(LOCAL_ENV_FILE)) return;
  const parsed = LocalEnvFile.safeParse(JSON.parse(readFileSync(LOCAL_ENV_FILE, 'utf8')));
  if (!parsed.success || parsed.data.pid === process.pid) rmSync(LOCAL_ENV_FILE, { force: true });
}

function showProgress(progress: Progress): void {
  const parts = Object.entries(progress.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status} ${count}`)
    .join(' · ');
  const line = `  ${progress.finished}/${progress.total} finished  (${parts})`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line.padEnd(100)}`);
  else console.log(line);
}

async function main(): Promise<number> {
  const started = Date.now();
  step(
    values['no-synth'] ? 'using the template already in cdk.out' : 'synthesizing the CDK app (cdk synth)…',
  );
  let env: LocalEnvironment | undefined;
  const shutdown = async () => {
    const current = env;
    env = undefined;
    removeLocalEnvFile();
    await current?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.log(`\n${signal}: cleaning up…`);
      void shutdown().then(() => process.exit(130));
    });
  }
  try {
    env = await startLocalEnvironment({ synth: !values['no-synth'], timeScale });
    step(`emulator: moto ${env.emulatorVersion} at ${env.endpoint}`);
    step(
      `created from the templates of ${env.describe().stacks.join(', ')}: ` +
        `${env.provisioned.queues.size} queues, ${env.provisioned.buckets.size} buckets, ` +
        `${env.provisioned.tables.size} tables, ${env.provisioned.functions.size} functions, ` +
        `${env.pollers.length} event source mappings`,
    );
    step(`demo site: ${env.demoSite.origin}`);
    step(`logs: ${env.logDir}`);
    writeFileSync(LOCAL_ENV_FILE, `${JSON.stringify(env.describe(), null, 2)}\n`);
    step(`described for \`npx sluice --local\` in ${LOCAL_ENV_FILE}`);

    const plan = planScenario(scenarioName, jobCount, env.runId);
    const run = await runScenario(env, plan, { timeoutMs, onProgress: showProgress, onStep: step });
    if (process.stdout.isTTY) process.stdout.write('\n');
    const summary = summarizeRun(run.tracked, run.summaries);
    // The fixture sources are in the report when the scenario sent them jobs.
    const reported = [
      ...sources,
      ...fixtureSources.filter((f) => run.tracked.some((t) => t.job.source === f.name)),
    ];
    const details = await gatherReportDetails(env, reported, run.tracked, run.summaries);
    const report: LocalReport = {
      runId: env.runId,
      finishedAt: new Date().toISOString(),
      wallTimeMs: Date.now() - started,
      timeScale,
      emulator: { name: 'moto', version: env.emulatorVersion },
      demoSiteRequests: env.demoSite.totalRequests(),
      ...summary,
      ...details,
      alarms: run.alarms.map(({ name, state, reason, firing, since }) => ({
        name,
        state,
        reason,
        firing,
        since,
      })),
      scenario: {
        name: scenarioName,
        expectedAlarms: run.expectedAlarms,
        unexpectedAlarms: run.unexpectedAlarms,
        missingAlarms: run.missingAlarms,
        poison: run.poison.map(({ source, jobKey, status }) => ({
          source,
          jobKey,
          ...(status === undefined ? {} : { status }),
        })),
      },
    };
    const reportPath = join(PROJECT_ROOT, 'local-report.json');
    const htmlPath = join(PROJECT_ROOT, 'local-report.html');
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(htmlPath, renderReportHtml(report));

    const ms = (value: number | undefined) => (value === undefined ? '—' : `${(value / 1000).toFixed(2)} s`);
    const inAlarm = run.alarms.filter((a) => a.state === 'ALARM');
    const silentChecks = run.alarms.filter((a) => a.firing && a.state === 'INSUFFICIENT_DATA');
    console.log(`
Summary of run ${env.runId} (scenario ${scenarioName})
  jobs                 ${summary.jobs}
  succeeded            ${summary.succeeded}
  dead-lettered        ${summary.deadLettered}${Object.keys(summary.deadLetterReasons).length > 0 ? `  (${JSON.stringify(summary.deadLetterReasons)})` : ''}
  handed off           ${summary.handedOff}
  unaccounted          ${summary.unaccounted}${run.poison.length > 0 ? `\n  poison messages      ${run.poison.length}: ${run.poison.map((p) => `${p.source} ${p.status ?? 'not ended'}`).join(', ')}` : ''}
  records written      ${summary.records.created + summary.records.updated} (created ${summary.records.created}, updated ${summary.records.updated}, unchanged ${summary.records.unchanged}, stale ${summary.records.stale})
  enqueue → record     p50 ${ms(summary.latencyMs.p50)}  p95 ${ms(summary.latencyMs.p95)}  max ${ms(summary.latencyMs.max)}
  wall time            ${ms(report.wallTimeMs)}
  alarms               ${inAlarm.length} of ${run.alarms.length} in ALARM (evaluated as CloudWatch would, at local time)${inAlarm.map((a) => `\n    ALARM  ${a.name}: ${a.reason}`).join('')}${silentChecks.map((a) => `\n    INSUFFICIENT_DATA (notifies)  ${a.name}: ${a.reason}`).join('')}
  expected in ALARM    ${run.expectedAlarms.length === 0 ? 'none' : run.expectedAlarms.join(', ')}
  report               ${reportPath}
                       ${htmlPath}`);
    if (summary.unaccounted > 0) {
      console.error(
        `\n${summary.unaccounted} job(s) unaccounted for: ${summary.unaccountedJobKeys.slice(0, 10).join(', ')}`,
      );
      return 1;
    }
    if (run.unexpectedAlarms.length > 0 || run.missingAlarms.length > 0) {
      console.error(
        `\nthe alarms are not what the ${scenarioName} scenario expects: in ALARM unexpectedly: ${run.unexpectedAlarms.join(', ') || 'none'}; expected but not in ALARM: ${run.missingAlarms.join(', ') || 'none'} (reasons in ${reportPath})`,
      );
      return 1;
    }
    if (values.keep) {
      step(
        'the environment keeps running, alarms evaluated every local minute; try `npx sluice --local status` or `npx sluice --local alarms` (Ctrl-C stops it)',
      );
      await new Promise(() => undefined);
    }
    return 0;
  } catch (error) {
    if (error instanceof EmulatorMissingError) {
      console.error(`\n${error.message}`);
      return 3;
    }
    throw error;
  } finally {
    step('stopping the local environment…');
    await shutdown();
  }
}

process.exitCode = await main();
