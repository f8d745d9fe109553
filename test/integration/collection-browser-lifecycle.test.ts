/**
 * The browser collector's lifecycle with a real Chromium and the demo site: one browser reused
 * across jobs, a crashed or hung browser relaunched, and a scratch folder (the container's
 * TMPDIR, Lambda's /tmp) that does not grow across 100 jobs. No emulator: this is the collector
 * adapter on its own, as one warm container runs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrowserCollector,
  BrowserSession,
  launchChromium,
} from '../../functions/adapters/browser-collector.js';
import { classifyFailure } from '../../functions/core/classify-failure.js';
import type { Collection } from '../../functions/core/collection.js';
import { type DemoSite, demoOriginOverrides, startDemoSite } from '../../local/demo-site/server.js';
import { SCRATCH_DIR } from '../../local/paths.js';
import { demoRates } from '../../sources/demo-rates/source.js';

const scratch = join(SCRATCH_DIR, `lifecycle-${process.pid}`);
let site: DemoSite;
let session: BrowserSession;
let collector: BrowserCollector;
const originalTmp = process.env.TMPDIR;

/** Bytes and files under `dir`, as `du` counts them (what would fill Lambda's /tmp). */
function usage(dir: string): { bytes: number; files: number } {
  const bytes = Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  const files = Number(
    execFileSync('sh', ['-c', `find "${dir}" -type f | wc -l`], { encoding: 'utf8' }).trim(),
  );
  return { bytes, files };
}

/** PIDs of Chromium processes started under this test's scratch folder; `main` = the browser process. */
function chromiumPids(which: 'main' | 'all'): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!commandLine.includes(scratch) || Number(pid) === process.pid) return false;
        return which === 'all' || !commandLine.includes('--type=');
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

function collectorWith(timeouts: {
  navigationTimeoutMs: number;
  stepTimeoutMs: number;
  jobTimeoutMs: number;
}) {
  return new BrowserCollector(session, {
    ...timeouts,
    originOverrides: demoOriginOverrides([demoRates], site.origin),
    userAgent: 'sluice-lifecycle-test',
  });
}

function collectRates(using: BrowserCollector, n: number): Promise<Collection> {
  if (demoRates.kind !== 'browser') throw new Error('demo-rates is a browser source');
  return using.collect(demoRates, {
    input: { board: 'majors' },
    traceId: `trace-life-${n}`,
    jobKey: `job-${n}`,
  });
}

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  // Like a Lambda container's /tmp: Chromium's files and profiles go here, and nowhere else.
  process.env.TMPDIR = scratch;
  site = await startDemoSite();
  session = new BrowserSession((proxyUrl) =>
    launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
  );
  collector = collectorWith({ navigationTimeoutMs: 15_000, stepTimeoutMs: 10_000, jobTimeoutMs: 60_000 });
});

afterAll(async () => {
  await session?.close();
  for (const pid of chromiumPids('all')) process.kill(pid, 'SIGKILL');
  await site?.close();
  // Assigning undefined would set the string "undefined": a later Chromium would unpack there.
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  // A Chromium killed a moment ago can still be writing into it: retry ENOTEMPTY a while.
  rmSync(scratch, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('one warm container', () => {
  // 100 jobs: each leaves a page, a context and a screenshot behind if anything leaks, so 80
  // jobs past warm-up would add megabytes; the run takes half a minute on two cores.
  it('runs 100 jobs on one browser without its scratch folder growing', async () => {
    const figures: { afterJob: number; bytes: number; files: number }[] = [];
    for (let n = 1; n <= 100; n += 1) {
      const collection = await collectRates(collector, n);
      expect(collection.artifacts.map((a) => a.name)).toContain('rendered.html');
      if (n === 1 || n === 20 || n === 60 || n === 100) figures.push({ afterJob: n, ...usage(scratch) });
    }

    console.log(`scratch folder (TMPDIR) across 100 jobs: ${JSON.stringify(figures)}`);
    const [first, twentieth, , last] = figures;
    expect(session.launches).toBe(1);
    // Jobs 20 → 100 may not add anything that stays: the warm footprint is fixed.
    expect((last?.bytes ?? 0) - (twentieth?.bytes ?? 0)).toBeLessThanOrEqual(1024 * 1024);
    expect(last?.files).toBeLessThanOrEqual((first?.files ?? 0) + 5);
  });

  it('relaunches a browser that crashed, and the next job succeeds', async () => {
    await collectRates(collector, 1_001);
    const launches = session.launches;

    for (const pid of chromiumPids('all')) process.kill(pid, 'SIGKILL');
    const collection = await collectRates(collector, 1_002);

    expect(collection.response.status).toBe(200);
    expect(session.launches).toBe(launches + 1);
  });

  it('gives up on a hung browser as a transient failure and relaunches it for the next job', async () => {
    const impatient = collectorWith({
      navigationTimeoutMs: 2_000,
      stepTimeoutMs: 1_500,
      jobTimeoutMs: 6_000,
    });
    await collectRates(impatient, 2_001);
    const launches = session.launches;
    const [browserPid] = chromiumPids('main');
    if (browserPid === undefined) throw new Error('no Chromium process found');

    process.kill(browserPid, 'SIGSTOP');
    const failure = await collectRates(impatient, 2_002).catch((error: unknown) => error);
    const next = await collectRates(impatient, 2_003);

    expect(classifyFailure(failure)).toMatchObject({ name: 'TransientError' });
    expect(next.response.status).toBe(200);
    expect(session.launches).toBe(launches + 1);
    // The hung browser was killed, not left in the container holding its memory.
    expect({ pid: browserPid, running: running(browserPid) }).toEqual({ pid: browserPid, running: false });
  });
});
