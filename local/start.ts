/**
 * `npm start`: the whole pipeline on this machine. Starts the emulator, creates the resources of
 * the synthesized template, starts the demo site and the local Lambda pollers, enqueues a demo
 * batch, follows every job to its end and prints a summary (also in local-report.json).
 * Exits non-zero when any job is unaccounted for.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sources } from '../sources/registry.js';
import { demoBatch } from './demo-batch.js';
import { EmulatorMissingError } from './emulator.js';
import { DEFAULT_TIME_SCALE, type LocalEnvironment, startLocalEnvironment } from './environment.js';
import { LOCAL_ENV_FILE, LocalEnvFile } from './local-env-file.js';
import { PROJECT_ROOT } from './paths.js';
import { renderReportHtml } from './report-html.js';
import { gatherReportDetails, type LocalReport } from './run-report.js';
import {
  enqueueJobs,
  type Progress,
  summarizeRun,
  waitForChangeFeed,
  waitForOutcomes,
} from './run-tracker.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50' },
    'time-scale': { type: 'string', default: String(DEFAULT_TIME_SCALE) },
    'timeout-seconds': { type: 'string', default: '900' },
    'no-synth': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm start -- [--jobs N] [--time-scale F] [--timeout-seconds S] [--no-synth]
  --jobs N             demo jobs to enqueue (default 50)
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
    env = await startLocalEnvironment({ synth: !values['no-synth'], timeScale, schedules: true });
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

    const jobs = demoBatch(jobCount, env.runId);
    const tracked = await enqueueJobs(env, jobs);
    step(`enqueued ${tracked.length} jobs; waiting for every job to finish…`);
    const summaries = await waitForOutcomes(env, tracked, { timeoutMs, onProgress: showProgress });
    if (process.stdout.isTTY) process.stdout.write('\n');
    const summary = summarizeRun(tracked, summaries);
    // The change feed trails the records by a poll or two: count its events once it has caught up.
    await waitForChangeFeed(env, 30_000);
    const details = await gatherReportDetails(env, sources, tracked, summaries);
    const report: LocalReport = {
      runId: env.runId,
      finishedAt: new Date().toISOString(),
      wallTimeMs: Date.now() - started,
      timeScale,
      emulator: { name: 'moto', version: env.emulatorVersion },
      demoSiteRequests: env.demoSite.totalRequests(),
      ...summary,
      ...details,
    };
    const reportPath = join(PROJECT_ROOT, 'local-report.json');
    const htmlPath = join(PROJECT_ROOT, 'local-report.html');
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(htmlPath, renderReportHtml(report));

    const ms = (value: number | undefined) => (value === undefined ? '—' : `${(value / 1000).toFixed(2)} s`);
    console.log(`
Summary of run ${env.runId}
  jobs                 ${summary.jobs}
  succeeded            ${summary.succeeded}
  dead-lettered        ${summary.deadLettered}${Object.keys(summary.deadLetterReasons).length > 0 ? `  (${JSON.stringify(summary.deadLetterReasons)})` : ''}
  handed off           ${summary.handedOff}
  unaccounted          ${summary.unaccounted}
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
  report               ${reportPath}
                       ${htmlPath}`);
    if (summary.unaccounted > 0) {
      console.error(
        `\n${summary.unaccounted} job(s) unaccounted for: ${summary.unaccountedJobKeys.slice(0, 10).join(', ')}`,
      );
      return 1;
    }
    if (values.keep) {
      step('the environment keeps running; try `npx sluice --local status` (Ctrl-C stops it)');
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
