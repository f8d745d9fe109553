/**
 * A source's schedule, end to end: the local scheduler sends what EventBridge Scheduler sends
 * (the template's input, its context attributes filled in) to the source's queue, the collector
 * turns the run into the schedule's jobs, and those follow their pages to the end. Scheduler
 * delivers at least once: a second firing for the same scheduled time is a duplicate of the
 * run, so nothing is collected twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduledRunKey } from '../../functions/core/job-key.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { descendantsOf, readSummaries, treeFinished } from '../../local/run-tracker.js';
import { findSource } from '../../sources/registry.js';
import { collectAttempts } from './collection-support.js';
import { eventually } from './support.js';

const SOURCE = 'demo-shipments';
let env: LocalEnvironment;

beforeAll(async () => {
  // The timers stay off: the test fires the schedule itself, twice for one scheduled time.
  env = await startLocalEnvironment({ synth: false, alarms: false });
});

afterAll(async () => {
  await env?.stop();
});

/** Every job key of the run's tree whose summary the ledger holds, once the whole tree ended. */
async function finishedTree(root: string): Promise<string[]> {
  return eventually(
    `the scheduled run ${root} and its follow-ups to end`,
    async () => {
      let keys = [root];
      for (;;) {
        const summaries = await readSummaries(env, keys);
        const found = [root, ...descendantsOf(root, summaries)];
        if (found.length === keys.length) return treeFinished(root, summaries) ? found : undefined;
        keys = found;
      }
    },
    150_000,
    1_000,
  );
}

describe('a scheduled run', () => {
  it('collects the schedule’s pages once when Scheduler fires twice for one scheduled time', async () => {
    const source = findSource(SOURCE);
    if (source?.schedule === undefined) throw new Error(`${SOURCE} declares no schedule`);
    const queueUrl = env.sourceQueues(SOURCE).jobs.url;
    const schedule = env.scheduler.schedules.find((s) => s.targetQueueUrl === queueUrl);
    if (schedule === undefined) throw new Error(`the template has no schedule for ${SOURCE}`);
    expect(schedule.expression).toBe(source.schedule.expression);

    const scheduledAt = new Date('2026-12-02T10:00:00Z');
    const root = scheduledRunKey(SOURCE, scheduledAt);
    await env.scheduler.fire(schedule, scheduledAt);
    const tree = await finishedTree(root);

    // Scheduler delivers again for the same time (at least once): the run is recognised.
    await env.scheduler.fire(schedule, scheduledAt);
    const runAttempts = await eventually('the second firing in the ledger', async () => {
      const attempts = await collectAttempts(env, root);
      return attempts.length === 2 ? attempts : undefined;
    });
    expect(runAttempts.map((a) => a.outcome)).toEqual(['scheduled', 'duplicate']);
    expect(await finishedTree(root)).toEqual(tree);
    const summaries = await readSummaries(env, tree);
    // The run itself started the schedule's jobs and collected nothing.
    expect(summaries.get(root)?.status).toBe('scheduled');

    // Page 1, then every page after it, each collected once and transformed.
    const pages = tree.filter((key) => key !== root);
    expect(pages.length).toBeGreaterThan(1);
    for (const key of pages) {
      expect({ key, status: summaries.get(key)?.status }).toEqual({ key, status: 'transformed' });
      const collected = (await collectAttempts(env, key)).filter((a) => a.outcome === 'collected');
      expect({ key, collections: collected.length }).toEqual({ key, collections: 1 });
    }
  }, 200_000);
});
