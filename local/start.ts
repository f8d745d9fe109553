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
import type { CollectJob } from '../functions/core/contracts.js';
import { findSource, fixtureSources, sources } from '../sources/registry.js';
import { demoBatch } from './demo-batch.js';
import { EmulatorMissingError } from './emulator.js';
import { DEFAULT_TIME_SCALE, type LocalEnvironment, startLocalEnvironment } from './environment.js';
import { LOCAL_ENV_FILE, LocalEnvFile } from './local-env-file.js';
import { PROJECT_ROOT } from './paths.js';
import { renderReportHtml } from './report-html.js';
import { gatherReportDetails, type LocalReport } from './run-report.js';
import { type Progress, summarizeRun, waitForChangeFeed } from './run-tracker.js';
import { runScenario } from './scenario-run.js';
import { planScenario, SCENARIOS, type ScenarioName } from './scenarios.js';
import { type LocalTarget, readTargets, sourceGlob, TARGETS_FILE, TargetError } from './targets.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50' },
    scenario: { type: 'string', default: 'healthy' },
    'time-scale': { type: 'string', default: String(DEFAULT_TIME_SCALE) },
    'timeout-seconds': { type: 'string', default: '900' },
    'no-synth': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    target: { type: 'string', multiple: true, default: [] },
    sources: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm start -- [--jobs N] [--scenario healthy|faults] [--sources GLOB] [--target SOURCE=URL]... [--keep] [--time-scale F] [--timeout-seconds S] [--no-synth]
  --jobs N             jobs to enqueue (default 50); 0 starts with no batch
  --scenario S         healthy (default): the batch, and no alarm may fire;
                       faults: the fault fixtures (500s, a 404, changed layouts, captchas, a poison
                       message) first, then the batch: exactly the dead-letter, success-rate and
                       hand-off alarms of the failing sources fire (it waits for the hand-off tasks
                       to age past half their SLA, about 90 s at the default time scale)
  --sources GLOB       only these sources get jobs, e.g. demo-c* or acme-prices,demo-rates; a source
                       of your own gets one job (no input, or the first of fixtures/inputs.json)
  --target S=URL       collect source S from URL, a site on this machine or its network (repeatable;
                       also .sluice/targets.json: {"S": "URL"}); the local profile only
  --time-scale F       local time factor for visibility timeouts and retry delays (default ${DEFAULT_TIME_SCALE})
  --timeout-seconds S  give up waiting after S seconds (default 900)
  --no-synth           reuse cdk.out instead of synthesizing first
  --keep               keep the environment running after the run (Ctrl-C stops it), for
                       \`npx sluice --local ...\`; it is described in .sluice/local-env.json`);
  process.exit(0);
}

function nonNegative(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number >= 0, got ${text}`);
    process.exit(2);
  }
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got ${text}`);
    process.exit(2);
  }
  return value;
}

const jobCount = nonNegative('jobs', values.jobs);
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

/** One job for a source of your own, if its input can be known without asking. */
function ownSourceJob(name: string, runId: string): CollectJob | undefined {
  const source = findSource(name);
  if (source === undefined) return undefined;
  const examples = join(PROJECT_ROOT, 'sources', name, 'fixtures', 'inputs.json');
  const candidates: unknown[] = [{}];
  if (existsSync(examples)) {
    const listed: unknown = JSON.parse(readFileSync(examples, 'utf8'));
    if (Array.isArray(listed)) candidates.unshift(...listed);
  }
  const input = candidates.find((c) => source.input.safeParse(c).success);
  if (input === undefined) return undefined;
  return {
    source: name,
    input: input as { [key: string]: unknown },
    jobId: `local-${runId}-${name}`,
    priority: 'normal',
  };
}

/** The batch: the demo rotation (or only its sources that match), plus a job per own source that matches. */
function batchOf(count: number, runId: string, only: ((name: string) => boolean) | undefined): CollectJob[] {
  if (count === 0) return [];
  if (only === undefined) return demoBatch(count, runId);
  const demo = demoBatch(count * 5, runId)
    .filter((job) => only(job.source))
    .slice(0, count);
  const demoSources = new Set(demoBatch(5, runId).map((j) => j.source));
  const own = sources
    .filter((s) => only(s.name) && !demoSources.has(s.name))
    .map((s) => ownSourceJob(s.name, runId) ?? s.name);
  const unknown = own.filter((j): j is string => typeof j === 'string');
  if (unknown.length > 0) {
    throw new TargetError(
      `--sources: ${unknown.join(', ')} need(s) an input; add sources/<name>/fixtures/inputs.json, or enqueue by hand with npx sluice --local enqueue <source> '<input>'`,
    );
  }
  const jobs = [...demo, ...own.filter((j): j is CollectJob => typeof j !== 'string')];
  if (jobs.length === 0) throw new TargetError(`--sources ${values.sources} matches no source`);
  return jobs;
}

async function main(): Promise<number> {
  const started = Date.now();
  let targets: LocalTarget[];
  let only: ((name: string) => boolean) | undefined;
  try {
    targets = readTargets(values.target, findSource);
    only = values.sources === undefined ? undefined : sourceGlob(values.sources);
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    console.error(error.message);
    return 2;
  }
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
    env = await startLocalEnvironment({ synth: !values['no-synth'], timeScale, targets, schedules: true });
    step(`emulator: moto ${env.emulatorVersion} at ${env.endpoint}`);
    step(
      `created from the templates of ${env.describe().stacks.join(', ')}: ` +
        `${env.provisioned.queues.size} queues, ${env.provisioned.buckets.size} buckets, ` +
        `${env.provisioned.tables.size} tables, ${env.provisioned.functions.size} functions, ` +
        `${env.pollers.length} event source mappings`,
    );
    step(`demo site: ${env.demoSite.origin}`);
    for (const target of targets) {
      step(
        `target: ${target.source} (${target.origin}) → ${target.url}  (from ${target.from === TARGETS_FILE ? '.sluice/targets.json' : target.from})`,
      );
    }
    step(`logs: ${env.logDir}`);
    writeFileSync(LOCAL_ENV_FILE, `${JSON.stringify(env.describe(), null, 2)}\n`);
    step(`described for \`npx sluice --local\` in ${LOCAL_ENV_FILE}`);

    const plan = planScenario(scenarioName, batchOf(jobCount, env.runId, only), env.runId);
    const run = await runScenario(env, plan, { timeoutMs, onProgress: showProgress, onStep: step });
    if (process.stdout.isTTY) process.stdout.write('\n');
    const summary = summarizeRun(run.tracked, run.summaries);
    // The fixture sources are in the report when the scenario sent them jobs.
    const reported = [
      ...sources,
      ...fixtureSources.filter((f) => run.tracked.some((t) => t.job.source === f.name)),
    ];
    // The change feed trails the records by a poll or two: count its events once it has caught up.
    await waitForChangeFeed(env, 30_000);
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
  follow-up jobs       ${
    Object.entries(summary.followUps)
      .map(([source, f]) => `${source} ${f.jobs} (succeeded ${f.succeeded})`)
      .join(', ') || 'none'
  }
  scheduled runs       ${
    Object.entries(details.sources)
      .filter(([, f]) => f.scheduledRuns > 0)
      .map(([source, f]) => `${source} ${f.scheduledRuns}`)
      .join(', ') || 'none'
  }
  change events        ${Object.values(details.sources).reduce((n, f) => n + f.changeEvents, 0)} (meaningful ${Object.values(details.sources).reduce((n, f) => n + f.meaningfulChangeEvents, 0)})
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
    if (error instanceof TargetError) {
      console.error(`\n${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    step('stopping the local environment…');
    await shutdown();
  }
}

process.exitCode = await main();
