/**
 * Idempotency, end to end: duplicate and concurrent deliveries of one job collect it once (the
 * claim on the job ledger), and a portal action is never submitted twice — not by a second job,
 * not across a browser killed between submit and acknowledgement, not across an acknowledgement
 * that never comes. Credentials come from Secrets Manager and never reach a log, the ledger or a
 * raw object. Real bundles, real pollers, moto, the demo site's portal and real Chromium.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { SCRATCH_DIR } from '../../local/paths.js';
import {
  collectAttempts,
  newJobId,
  rawObject,
  sendJob,
  summaryWithStatus,
  taggedResource,
} from './collection-support.js';
import { eventually } from './support.js';

let env: LocalEnvironment;
const logLines: string[] = [];
/**
 * Two deliveries of this job are sent together before any test: the second one waits about a
 * minute for the first one's claim to lapse, so the file's other tests run meanwhile and the
 * last test reads what happened.
 */
const concurrentJobId = newJobId('concurrent');

beforeAll(async () => {
  env = await startLocalEnvironment({
    synth: false,
    // The portal's acknowledgement that never comes is given 4 s, not 15.
    functionEnvironment: { READY_TIMEOUT_MS: '4000' },
    onLogLine: (_, line) => logLines.push(line),
  });
  const body = JSON.stringify({
    source: 'demo-faults',
    jobId: concurrentJobId,
    input: { path: `/faults/slow?key=${concurrentJobId}&ms=2000` },
  });
  await env.clients.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: env.sourceQueues('demo-faults').jobs.url,
      Entries: [
        { Id: 'a', MessageBody: body },
        { Id: 'b', MessageBody: body },
      ],
    }),
  );
});

afterAll(async () => {
  await env?.stop();
});

function portalJob(account: string, period: string, jobId = newJobId('portal')) {
  return { source: 'demo-portal', jobId, input: { account, period }, priority: 'normal' };
}

function uniqueAccount(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

async function manifestsOf(jobKey: string, source: string): Promise<string[]> {
  const listed = await env.clients.s3.send(
    new ListObjectsV2Command({ Bucket: env.rawBucket, Prefix: `raw/source=${source}/` }),
  );
  return (listed.Contents ?? [])
    .map((o) => o.Key ?? '')
    .filter((key) => key.includes(`/${jobKey}/`) && key.endsWith('/manifest.json'));
}

async function branchesOf(manifestKey: string | undefined): Promise<string[]> {
  const manifest = z
    .object({ branches: z.array(z.string()) })
    .loose()
    .parse(JSON.parse((await rawObject(env, manifestKey ?? '')).body.toString('utf8')));
  return manifest.branches;
}

/** Kills every Chromium the local browser collector containers started (not the test's own). */
function killContainerBrowsers(): number {
  const containers = join(SCRATCH_DIR, 'containers', env.runId);
  let killed = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (commandLine.includes(containers) && /chrom/i.test(commandLine) && Number(pid) !== process.pid) {
        process.kill(Number(pid), 'SIGKILL');
        killed += 1;
      }
    } catch {
      // gone already
    }
  }
  return killed;
}

describe.concurrent('deliveries of one job collect it once', () => {
  it('skips a duplicate delivery of a job already collected, and the ledger says so', async () => {
    const jobId = newJobId('dup');
    const job = { source: 'demo-faults', jobId, input: { path: `/faults/ok?key=${jobId}` } };
    await sendJob(env, 'demo-faults', job);
    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    await sendJob(env, 'demo-faults', job);

    const duplicate = await eventually('the duplicate delivery in the ledger', async () =>
      (await collectAttempts(env, `id-${jobId}`)).find((a) => a.outcome === 'duplicate'),
    );
    const [collected] = await collectAttempts(env, `id-${jobId}`);
    expect(collected?.manifestKey).toMatch(/\/manifest\.json$/);
    expect(duplicate).toMatchObject({
      reason: 'duplicate-delivery',
      attempt: 1,
      manifestKey: collected?.manifestKey,
    });
    expect(duplicate.message).toContain('already collected');
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
    expect(await manifestsOf(`id-${jobId}`, 'demo-faults')).toHaveLength(1);
    // The job's own status is what its collection made it, not what the duplicate did.
    await summaryWithStatus(env, `id-${jobId}`, 'transformed');
  });

  it('checks the portal before submitting: a second job for a requested statement submits nothing', async () => {
    const account = uniqueAccount('acme');
    const first = portalJob(account, '2026-10');
    const second = portalJob(account, '2026-10');

    await sendJob(env, 'demo-portal', first);
    await summaryWithStatus(env, `id-${first.jobId}`, 'transformed');
    await sendJob(env, 'demo-portal', second);
    await summaryWithStatus(env, `id-${second.jobId}`, 'transformed');

    expect(env.demoSite.portal.submissions(account, '2026-10')).toBe(1);
    const [firstCollected] = await collectAttempts(env, `id-${first.jobId}`);
    const [secondCollected] = await collectAttempts(env, `id-${second.jobId}`);
    expect(await branchesOf(firstCollected?.manifestKey)).toContain('action-submitted');
    const secondBranches = await branchesOf(secondCollected?.manifestKey);
    expect(secondBranches).toContain('action-already-done');
    expect(secondBranches).not.toContain('action-submitted');
    const { Item } = await env.clients.documents.send(
      new GetCommand({ TableName: env.recordsTable, Key: { pk: `demo-portal#${account}:2026-10` } }),
    );
    expect(Item?.data).toMatchObject({ account, period: '2026-10', status: 'requested' });
  });

  it('hands off a submission the portal says needs approval, without submitting again', async () => {
    const account = uniqueAccount('needs-approval');
    const job = portalJob(account, '2026-09');

    await sendJob(env, 'demo-portal', job);
    await summaryWithStatus(env, `id-${job.jobId}`, 'handed-off');

    const [attempt, ...rest] = await collectAttempts(env, `id-${job.jobId}`);
    expect(rest).toEqual([]);
    expect(attempt).toMatchObject({ outcome: 'handed-off', reason: 'approval-required' });
    expect(env.demoSite.portal.submissions(account, '2026-09')).toBe(1);
    const tasksTable = taggedResource(env, env.provisioned.tables, { 'sluice:role': 'tasks' });
    // The collector records the attempt, then opens the task: the ledger can say so first.
    const task = await eventually('the hand-off task', async () => {
      const { Item } = await env.clients.documents.send(
        new GetCommand({ TableName: tasksTable, Key: { pk: `task#collect-id-${job.jobId}` } }),
      );
      return Item;
    });
    expect(task).toMatchObject({ reason: 'approval-required', evidenceKeys: attempt?.snapshotKeys });
  });

  it('hands off when the portal cannot say whether the statement was requested, submitting nothing', async () => {
    const account = uniqueAccount('ambiguous');
    const job = portalJob(account, '2026-01');

    await sendJob(env, 'demo-portal', job);
    await summaryWithStatus(env, `id-${job.jobId}`, 'handed-off');

    const [attempt] = await collectAttempts(env, `id-${job.jobId}`);
    expect(attempt).toMatchObject({ outcome: 'handed-off', reason: 'ambiguous-result' });
    expect(env.demoSite.portal.submissions(account, '2026-01')).toBe(0);
  });
});

describe('a portal action across failures (one at a time: these kill browsers and sessions)', () => {
  it('never submits twice when the browser is killed between submit and acknowledgement', async () => {
    const account = uniqueAccount('hang-crash');
    const job = portalJob(account, '2026-08');
    let killed = 0;
    env.demoSite.portal.events.once('submitted', (submittedAccount: string) => {
      if (submittedAccount === account) killed = killContainerBrowsers();
    });

    await sendJob(env, 'demo-portal', job);
    await summaryWithStatus(env, `id-${job.jobId}`, 'transformed');

    expect(killed).toBeGreaterThan(0);
    const attempts = await collectAttempts(env, `id-${job.jobId}`);
    expect(attempts.map((a) => [a.outcome, a.reason])).toEqual([
      ['retrying', 'browser-crash'],
      ['collected', undefined],
    ]);
    expect(env.demoSite.portal.submissions(account, '2026-08')).toBe(1);
    const branches = await branchesOf(attempts[1]?.manifestKey);
    expect(branches).toContain('action-already-done');
    expect(branches).not.toContain('action-submitted');
    expect(logLines.some((line) => line.includes('browser gone; relaunching'))).toBe(true);
  });

  it('never submits twice when the acknowledgement never comes (step timeout, then retry)', async () => {
    const account = uniqueAccount('hang-timeout');
    const job = portalJob(account, '2026-07');

    await sendJob(env, 'demo-portal', job);
    await summaryWithStatus(env, `id-${job.jobId}`, 'transformed');

    const attempts = await collectAttempts(env, `id-${job.jobId}`);
    expect(attempts.map((a) => [a.outcome, a.reason])).toEqual([
      ['retrying', 'timeout'],
      ['collected', undefined],
    ]);
    expect(attempts[0]?.message).toContain('acknowledgement');
    expect(env.demoSite.portal.submissions(account, '2026-07')).toBe(1);
    expect(await branchesOf(attempts[1]?.manifestKey)).toContain('action-already-done');
  });

  it('reuses a login session while the portal accepts it, and signs in again (transient) once it expired', async () => {
    const account = uniqueAccount('sessions');
    const first = portalJob(account, '2026-02');
    const second = portalJob(account, '2026-03');
    const third = portalJob(account, '2026-04');
    await sendJob(env, 'demo-portal', first);
    await summaryWithStatus(env, `id-${first.jobId}`, 'transformed');
    const loginsBefore = env.demoSite.portal.logins;

    await sendJob(env, 'demo-portal', second);
    await summaryWithStatus(env, `id-${second.jobId}`, 'transformed');
    const loginsAfterReuse = env.demoSite.portal.logins;
    env.demoSite.portal.expireSessions();
    await sendJob(env, 'demo-portal', third);
    await summaryWithStatus(env, `id-${third.jobId}`, 'transformed');

    const [reused] = await collectAttempts(env, `id-${second.jobId}`);
    expect(await branchesOf(reused?.manifestKey)).toContain('session-reused');
    expect(loginsAfterReuse).toBe(loginsBefore);
    const expired = await collectAttempts(env, `id-${third.jobId}`);
    expect(expired[0]).toMatchObject({
      outcome: 'retrying',
      errorClass: 'transient',
      reason: 'session-expired',
    });
    expect(expired.at(-1)?.outcome).toBe('collected');
    expect(await branchesOf(expired.at(-1)?.manifestKey)).toContain('logged-in');
    expect(env.demoSite.portal.logins).toBeGreaterThan(loginsAfterReuse);
    expect(env.demoSite.portal.submissions(account, '2026-04')).toBe(1);
    expect(env.demoSite.portal.refusedLogins).toBe(0);
  });

  it('signs in with the secret from Secrets Manager, and the password appears in no log, ledger item or raw object', async () => {
    const secretArn = taggedResource(env, env.provisioned.secrets, {
      'sluice:role': 'credentials',
      'sluice:source': 'demo-portal',
    });
    const { SecretString } = await env.clients.secrets.send(
      new GetSecretValueCommand({ SecretId: secretArn }),
    );
    const { password } = z.object({ password: z.string().min(16) }).parse(JSON.parse(SecretString ?? ''));

    // Everything the jobs of this file left behind: logs, ledger and tasks, raw objects.
    const functionLogs = readdirSync(env.logDir)
      .filter((name) => name !== 'moto.log')
      .map((name) => readFileSync(join(env.logDir, name), 'utf8'));
    const tasksTable = taggedResource(env, env.provisioned.tables, { 'sluice:role': 'tasks' });
    const tables = await Promise.all(
      [env.ledgerTable, tasksTable].map(async (table) => {
        const { Items } = await env.clients.documents.send(new ScanCommand({ TableName: table }));
        return JSON.stringify(Items ?? []);
      }),
    );
    const listed = await env.clients.s3.send(
      new ListObjectsV2Command({ Bucket: env.rawBucket, Prefix: 'raw/source=demo-portal/' }),
    );
    const objects = await Promise.all((listed.Contents ?? []).map((o) => rawObject(env, o.Key ?? '')));

    expect(env.demoSite.portal.logins).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((line) => line.includes(password))).toEqual([]);
    expect(functionLogs.filter((text) => text.includes(password))).toEqual([]);
    expect(tables[0]).toContain('demo-portal');
    expect(tables.filter((text) => text.includes(password))).toEqual([]);
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.filter((o) => o.body.includes(password))).toEqual([]);
  });
});

describe('deliveries of one job at the same moment (sent before the tests above)', () => {
  it('collects once when two deliveries of one job arrive at the same moment', async () => {
    const jobId = concurrentJobId;
    // The second delivery waited for the first one's claim to lapse (the HTTP collector's timeout,
    // real seconds) while the tests above ran, then found the job collected.
    const attempts = await eventually(
      'one collection and one duplicate',
      async () => {
        const all = await collectAttempts(env, `id-${jobId}`);
        return all.some((a) => a.outcome === 'duplicate') ? all : undefined;
      },
      150_000,
    );
    expect(attempts.filter((a) => a.outcome === 'collected')).toHaveLength(1);
    expect(attempts.filter((a) => a.outcome === 'deferred')).toEqual([
      expect.objectContaining({ reason: 'claimed-elsewhere' }),
    ]);
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
    expect(await manifestsOf(`id-${jobId}`, 'demo-faults')).toHaveLength(1);
  });
});
