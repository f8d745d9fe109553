/**
 * collectJob's claim on a job (DESIGN.md decision 3), with fakes of its ports: a duplicate or a
 * job claimed elsewhere fetches nothing; the claim is given up only after the ledger marked the
 * job; a failure's evidence is stored and named in the ledger.
 */

import { describe, expect, it } from 'vitest';
import { FailureWithEvidence, HttpStatusError } from '../../functions/core/classify-failure.js';
import { type CollectJobDeps, collectJob, type JobMessage } from '../../functions/core/collect-job.js';
import type { Collection } from '../../functions/core/collection.js';
import { findSource } from '../../sources/registry.js';
import { MemoryFollowUpQueue } from '../support/follow-up-fakes.js';
import { type CallLog, FakeClaims, FakeLedger, FakeRawStore } from './support/collection-fakes.js';

const NOW = new Date('2026-11-27T08:00:00.000Z');
const LEASE_UNTIL = new Date('2026-11-27T08:01:05.000Z');
const JOB = { source: 'demo-faults', jobId: 'upstream-1', input: { path: '/faults/ok' } };
const JOB_KEY = 'id-upstream-1';

function message(overrides: Partial<JobMessage> = {}): JobMessage {
  return {
    messageId: 'm-1',
    body: JSON.stringify(JOB),
    receiveCount: 1,
    sentAt: NOW,
    deliveryId: 'req-1',
    ...overrides,
  };
}

const collection: Collection = {
  request: { url: 'https://faults.demo.sluice.example/faults/ok', method: 'GET' },
  response: {
    status: 200,
    finalUrl: 'https://faults.demo.sluice.example/faults/ok',
    contentType: 'text/html',
  },
  observedAt: NOW,
  artifacts: [
    { name: 'response.html', role: 'body', contentType: 'text/html', body: Buffer.from('<p>ok</p>') },
  ],
  primaryArtifact: 'response.html',
  branches: ['http-get'],
};

function setUp(collect: CollectJobDeps['collect'] = async () => collection) {
  const calls: CallLog = [];
  const fetches: string[] = [];
  const claims = new FakeClaims(calls);
  const ledger = new FakeLedger(calls, claims);
  const rawStore = new FakeRawStore(calls);
  const deps: CollectJobDeps = {
    findSource,
    collect: async (source, request) => {
      fetches.push(request.jobKey);
      calls.push('collect');
      return collect(source, request);
    },
    rawStore,
    catalog: rawStore,
    ledger,
    claims,
    leaseUntil: () => LEASE_UNTIL,
    clock: () => NOW,
    fetchIdFor: () => 'fetch-1',
    random: () => 0.5,
    followUpQueue: new MemoryFollowUpQueue(),
  };
  return { deps, calls, fetches, claims, ledger, rawStore };
}

describe('collectJob claims the job before it fetches', () => {
  it('claims with the lease it was given and the dedupe window of the source', async () => {
    const { deps, claims } = setUp();

    await collectJob(message(), deps);

    expect(claims.requests).toEqual([
      {
        jobKey: JOB_KEY,
        source: 'demo-faults',
        traceId: expect.any(String),
        owner: 'm-1#1#req-1',
        now: NOW,
        leaseUntil: LEASE_UNTIL,
        // demo-faults dedupes within an hour.
        collectedSince: new Date('2026-11-27T07:00:00.000Z'),
      },
    ]);
  });

  it('gives the claim up in the same ledger write that records the collection', async () => {
    const { deps, calls, claims, ledger } = setUp();

    const outcome = await collectJob(message(), deps);

    expect(outcome.status).toBe('collected');
    expect(calls.filter((c) => !c.startsWith('put'))).toEqual([
      'claim',
      'collect',
      'record collected + release',
    ]);
    expect(ledger.attempts[0]?.releasesClaimOf).toBe('m-1#1#req-1');
    expect(claims.holder(JOB_KEY)).toBeUndefined();
  });

  it('fetches nothing for a job collected inside the window, and records the delivery as a duplicate', async () => {
    const { deps, claims, fetches, ledger, rawStore } = setUp();
    claims.collected(JOB_KEY, new Date('2026-11-27T07:30:00.000Z'));

    const outcome = await collectJob(message({ messageId: 'm-2' }), deps);

    expect(outcome).toMatchObject({ status: 'duplicate', collectedAt: new Date('2026-11-27T07:30:00.000Z') });
    expect(fetches).toEqual([]);
    expect(rawStore.objects.size).toBe(0);
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ jobKey: JOB_KEY, outcome: 'duplicate', reason: 'duplicate-delivery' }),
    ]);
  });

  it('collects again once the dedupe window has passed', async () => {
    const { deps, claims, fetches } = setUp();
    claims.collected(JOB_KEY, new Date('2026-11-27T06:59:59.000Z'));

    const outcome = await collectJob(message(), deps);

    expect(outcome.status).toBe('collected');
    expect(fetches).toEqual([JOB_KEY]);
  });

  it('waits until another delivery’s claim lapses, fetching nothing meanwhile', async () => {
    const { deps, claims, fetches, ledger } = setUp();
    claims.heldBy(JOB_KEY, 'm-other#1', new Date('2026-11-27T08:00:42.200Z'));

    const outcome = await collectJob(message(), deps);

    // 42.2 s until the lapse, rounded up, plus a second of margin.
    expect(outcome).toMatchObject({ status: 'deferred', delaySeconds: 44 });
    expect(fetches).toEqual([]);
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ outcome: 'deferred', reason: 'claimed-elsewhere', retryInSeconds: 44 }),
    ]);
    expect(claims.holder(JOB_KEY)).toBe('m-other#1');
  });

  it('takes over a job whose holder died: its lease lapsed and it never marked the job collected', async () => {
    const { deps, claims, fetches } = setUp();
    claims.heldBy(JOB_KEY, 'm-crashed#1', new Date('2026-11-27T07:59:59.000Z'));

    const outcome = await collectJob(message(), deps);

    expect(outcome.status).toBe('collected');
    expect(fetches).toEqual([JOB_KEY]);
  });

  it('gives the claim up after a failure too, so the retry can claim it', async () => {
    const { deps, calls, claims } = setUp(async () => {
      throw new HttpStatusError(503, 'https://faults.demo.sluice.example/faults/ok');
    });

    const outcome = await collectJob(message(), deps);

    expect(outcome).toMatchObject({ status: 'failed', next: { kind: 'retry' } });
    expect(calls).toEqual(['claim', 'collect', 'record retrying', 'release']);
    expect(claims.holder(JOB_KEY)).toBeUndefined();
  });

  it('claims nothing for a message it cannot parse', async () => {
    const { deps, claims } = setUp();

    await collectJob(message({ body: 'not json' }), deps);

    expect(claims.requests).toEqual([]);
  });
});

/** What an earlier delivery left in raw storage under the job's prefix for `fetchId`. */
function storedByEarlierDelivery(
  rawStore: FakeRawStore,
  fetchId: string,
  parts: readonly string[],
): string[] {
  const prefix = `raw/source=demo-faults/dt=2026-11-27/${JOB_KEY}/${fetchId}/`;
  return parts.map((name) => {
    const key = `${prefix}${name}`;
    rawStore.objects.set(key, { body: Buffer.from('{}'), contentType: 'application/json', metadata: {} });
    return key;
  });
}

// Found by the chaos run (npm run chaos): a collector killed after writing its manifest, before
// the ledger marked the job collected, left a claim that only lapsed; the redelivery took it over
// and collected the job a second time inside the dedupe window.
describe('collectJob after a delivery that died before recording its collection', () => {
  it('records the collection the earlier delivery stored and fetches nothing', async () => {
    const { deps, claims, fetches, ledger } = setUp();
    claims.claimedBefore(JOB_KEY, new Date('2026-11-27T07:58:00.000Z'));
    const [body, manifest] = storedByEarlierDelivery(
      deps.rawStore as FakeRawStore,
      '20261127T075801000Z-0a1b2c3d',
      ['response.html', 'manifest.json'],
    );

    const outcome = await collectJob(message({ receiveCount: 2 }), deps);

    expect(outcome).toMatchObject({
      status: 'collected',
      recovered: true,
      manifestKey: manifest,
      artifactKeys: [body],
    });
    expect(fetches).toEqual([]);
    expect(ledger.attempts).toEqual([
      expect.objectContaining({
        outcome: 'collected',
        manifestKey: manifest,
        reason: 'collection-recovered',
      }),
    ]);
  });

  it('collects when the earlier delivery died before its manifest: the collection never finished', async () => {
    const { deps, claims, fetches } = setUp();
    claims.claimedBefore(JOB_KEY, new Date('2026-11-27T07:58:00.000Z'));
    storedByEarlierDelivery(deps.rawStore as FakeRawStore, '20261127T075801000Z-0a1b2c3d', ['response.html']);

    const outcome = await collectJob(message({ receiveCount: 2 }), deps);

    expect(outcome).toMatchObject({ status: 'collected' });
    expect(outcome).not.toHaveProperty('recovered');
    expect(fetches).toEqual([JOB_KEY]);
  });

  it('collects when the stored collection is older than the dedupe window', async () => {
    const { deps, claims, fetches } = setUp();
    claims.claimedBefore(JOB_KEY, new Date('2026-11-27T06:58:00.000Z'));
    storedByEarlierDelivery(deps.rawStore as FakeRawStore, '20261127T065801000Z-0a1b2c3d', [
      'response.html',
      'manifest.json',
    ]);

    await collectJob(message({ receiveCount: 2 }), deps);

    expect(fetches).toEqual([JOB_KEY]);
  });

  it('looks in raw storage only when an earlier delivery claimed the job', async () => {
    const { deps, fetches } = setUp();
    storedByEarlierDelivery(deps.rawStore as FakeRawStore, '20261127T075801000Z-0a1b2c3d', [
      'response.html',
      'manifest.json',
    ]);

    await collectJob(message(), deps);

    expect(fetches).toEqual([JOB_KEY]);
  });
});

// Found by the chaos run: a collector killed on the last attempt its budget allowed (after
// storing the collection) left the message for SQS to redrive into the DLQ without a reason,
// although the job was collected. The queue now allows receives past the budget; a delivery
// there recovers what is stored or dead-letters the job itself, and never fetches again.
describe('collectJob on a delivery past its budget’s attempts', () => {
  // demo-faults retries 3 times: 4 attempts.
  const pastBudget = message({ receiveCount: 5 });

  it('records the collection an unreported earlier delivery stored, and fetches nothing', async () => {
    const { deps, fetches } = setUp();
    const [, manifest] = storedByEarlierDelivery(
      deps.rawStore as FakeRawStore,
      '20261127T075801000Z-0a1b2c3d',
      ['response.html', 'manifest.json'],
    );

    const outcome = await collectJob(pastBudget, deps);

    expect(outcome).toMatchObject({ status: 'collected', recovered: true, manifestKey: manifest });
    expect(fetches).toEqual([]);
  });

  it('dead-letters the job with retries-exhausted when nothing is stored, without fetching', async () => {
    const { deps, fetches, ledger, claims } = setUp();

    const outcome = await collectJob(pastBudget, deps);

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'retries-exhausted' },
    });
    expect(
      outcome.status === 'failed' && outcome.next.kind === 'dead-letter' && outcome.next.message,
    ).toMatch(
      /gave up after 3 retries; last error \(unreported-attempts\): delivered 5 times, past the 4 attempts/,
    );
    expect(fetches).toEqual([]);
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ attempt: 5, outcome: 'dead-lettered', reason: 'retries-exhausted' }),
    ]);
    expect(claims.holder(JOB_KEY)).toBeUndefined();
  });

  it('still fetches on the budget’s last attempt', async () => {
    const { deps, fetches } = setUp();

    const outcome = await collectJob(message({ receiveCount: 4 }), deps);

    expect(outcome.status).toBe('collected');
    expect(fetches).toEqual([JOB_KEY]);
  });
});

describe('collectJob keeps the evidence a failure left behind', () => {
  const evidence = [
    {
      name: 'failure-rendered.html',
      role: 'failure-dom' as const,
      contentType: 'text/html',
      body: Buffer.from('<h1>404</h1>'),
    },
    {
      name: 'failure-screenshot.png',
      role: 'screenshot' as const,
      contentType: 'image/png',
      body: Buffer.from([1, 2]),
    },
  ];
  const missing = new FailureWithEvidence(
    new HttpStatusError(404, 'https://faults.demo.sluice.example/x'),
    evidence,
  );

  it('stores it under a fetch prefix of the job and names it in the ledger and the outcome', async () => {
    const { deps, ledger, rawStore } = setUp(async () => {
      throw missing;
    });

    const outcome = await collectJob(message(), deps);

    const prefix = `raw/source=demo-faults/dt=2026-11-27/${JOB_KEY}/fetch-1/`;
    const keys = [`${prefix}failure-rendered.html`, `${prefix}failure-screenshot.png`];
    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'http-404' },
      evidenceKeys: keys,
    });
    expect([...rawStore.objects.keys()]).toEqual(keys);
    expect(rawStore.objects.get(keys[0] ?? '')?.metadata).toMatchObject({
      'job-key': JOB_KEY,
      source: 'demo-faults',
    });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ outcome: 'dead-lettered', reason: 'http-404', snapshotKeys: keys }),
    ]);
  });

  it('still dead-letters the job when the evidence cannot be stored, and says so', async () => {
    const { deps, ledger, rawStore } = setUp(async () => {
      throw missing;
    });
    rawStore.failWith = new Error('s3 is down');

    const outcome = await collectJob(message(), deps);

    expect(outcome).toMatchObject({ status: 'failed', evidenceKeys: [] });
    expect(ledger.attempts[0]?.message).toContain('snapshot not stored: s3 is down');
  });

  it('records the retry delay and the Retry-After honoured for a 429', async () => {
    const { deps, ledger } = setUp(async () => {
      throw new HttpStatusError(429, 'https://faults.demo.sluice.example/x', 120);
    });

    await collectJob(message(), { ...deps, timeScale: 1 / 60 });

    expect(ledger.attempts).toEqual([
      expect.objectContaining({
        outcome: 'retrying',
        reason: 'http-429',
        retryAfterSeconds: 120,
        retryInSeconds: 2,
      }),
    ]);
  });
});
