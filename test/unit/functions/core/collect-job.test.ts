import { describe, expect, it } from 'vitest';
import { classifyHttpStatus } from '../../../../functions/core/classify-failure.js';
import {
  type CollectJobDeps,
  collectJob,
  type JobMessage,
  MAX_JOB_MESSAGE_BYTES,
  nextStepFor,
  parseJobMessage,
} from '../../../../functions/core/collect-job.js';
import type { Collection } from '../../../../functions/core/collection.js';
import { RawManifest } from '../../../../functions/core/contracts.js';
import { HandoffRequiredError, PermanentError, TransientError } from '../../../../functions/core/errors.js';
import { deriveJobKey } from '../../../../functions/core/job-key.js';
import { traceIdForMessage } from '../../../../functions/core/trace-id.js';
import { demoCatalog } from '../../../../sources/demo-catalog/source.js';
import { findSource } from '../../../../sources/registry.js';
import { MemoryFollowUpQueue } from '../../../support/follow-up-fakes.js';
import { FakeClaims } from '../../support/collection-fakes.js';
import { MemoryJobLedger, MemoryRawStore, sha256Hex } from '../../support/in-memory-ports.js';

const SENT_AT = new Date('2026-11-27T08:00:00.000Z');
const TRACE_ID = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';

const catalogJob = {
  source: 'demo-catalog',
  input: { category: 'tools', page: 3 },
  traceId: TRACE_ID,
  requestedAt: '2026-11-27T07:59:58.000Z',
};

function message(body: unknown, overrides: Partial<JobMessage> = {}): JobMessage {
  return {
    messageId: 'msg-0001',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    receiveCount: 1,
    sentAt: SENT_AT,
    deliveryId: 'req-0001',
    ...overrides,
  };
}

describe('parseJobMessage', () => {
  it('refuses a message larger than the limit, measured in bytes', () => {
    // Three bytes per character: short in characters, over the limit in bytes.
    const body = JSON.stringify({ ...catalogJob, input: { note: '€'.repeat(MAX_JOB_MESSAGE_BYTES / 2) } });

    const result = parseJobMessage(message(body), findSource);

    expect(result).toMatchObject({ ok: false, error: { reason: 'message-too-large' } });
  });

  it('refuses a body that is not JSON', () => {
    const result = parseJobMessage(message('{"source": "demo-catalog",'), findSource);

    expect(result).toMatchObject({ ok: false, error: { reason: 'message-not-json' } });
  });

  it('refuses JSON that is not a CollectJob and names the bad field', () => {
    const result = parseJobMessage(message({ ...catalogJob, priority: 'urgent' }), findSource);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(PermanentError);
    expect(result.error.reason).toBe('message-invalid');
    expect(result.error.message).toContain('priority');
  });

  it('refuses a job for a source that is not registered', () => {
    const result = parseJobMessage(message({ ...catalogJob, source: 'no-such-source' }), findSource);

    expect(result).toMatchObject({ ok: false, error: { reason: 'unknown-source' } });
  });

  it('refuses a job for another source than the queue it came from, and files it under the queue', () => {
    const result = parseJobMessage(
      message({ ...catalogJob, jobId: 'erp-1' }, { queueSource: 'demo-inventory' }),
      findSource,
    );

    expect(result).toMatchObject({
      ok: false,
      error: { reason: 'wrong-queue' },
      identity: { jobKey: 'id-erp-1', source: 'demo-inventory' },
    });
    expect(result.ok ? '' : result.error.message).toBe(
      'a job for source demo-catalog arrived on the jobs queue of demo-inventory; send it to the queue of demo-catalog',
    );
  });

  it("accepts a job on its own source's queue", () => {
    const result = parseJobMessage(message(catalogJob, { queueSource: 'demo-catalog' }), findSource);

    expect(result).toMatchObject({ ok: true, value: { identity: { source: 'demo-catalog' } } });
  });

  it("keeps the job's trace ID when it refuses an unknown source", () => {
    const result = parseJobMessage(message({ ...catalogJob, source: 'no-such-source' }), findSource);

    expect(result).toMatchObject({ ok: false, identity: { traceId: TRACE_ID, source: undefined } });
  });

  it('files a refused job under its upstream jobId when it has one', () => {
    const result = parseJobMessage(
      message({ ...catalogJob, jobId: 'upstream-7', input: { category: 'tools' } }),
      findSource,
    );

    expect(result).toMatchObject({ ok: false, identity: { jobKey: 'id-upstream-7' } });
  });

  it("refuses an input the source's schema rejects and names the source", () => {
    const result = parseJobMessage(
      message({ ...catalogJob, input: { category: 'Tools!', page: 0 } }),
      findSource,
    );

    expect(result).toMatchObject({
      ok: false,
      identity: { source: 'demo-catalog' },
      error: { reason: 'input-invalid' },
    });
  });

  it("files a poison message under its queue's source: that source's DLQ, success rate and ledger", () => {
    const unreadable = parseJobMessage(
      message('not json', { messageId: 'p-1', queueSource: 'demo-catalog' }),
      findSource,
    );
    const unknown = parseJobMessage(
      message({ ...catalogJob, source: 'no-such-source' }, { queueSource: 'demo-catalog' }),
      findSource,
    );

    expect(unreadable).toMatchObject({
      ok: false,
      identity: { jobKey: 'msg-p-1', source: 'demo-catalog' },
      error: { reason: 'message-not-json' },
    });
    expect(unknown).toMatchObject({ ok: false, identity: { source: 'demo-catalog' } });
  });

  it('gives a message it cannot read a stable identity derived from the message ID', () => {
    const result = parseJobMessage(message('not json', { messageId: 'abc-123' }), findSource);

    expect(result).toMatchObject({
      ok: false,
      identity: { jobKey: 'msg-abc-123', traceId: traceIdForMessage('abc-123'), source: undefined },
    });
  });

  it("derives the job key from the source's dedupe window", () => {
    const result = parseJobMessage(message(catalogJob), findSource);

    const expected = deriveJobKey(catalogJob, {
      dedupeWindowSeconds: demoCatalog.dedupeWindowSeconds,
      fallbackRequestedAt: SENT_AT,
    });
    expect(result).toMatchObject({
      ok: true,
      value: { identity: { jobKey: expected, traceId: TRACE_ID, source: 'demo-catalog' } },
    });
  });

  it('uses the upstream jobId as the job key when given', () => {
    const result = parseJobMessage(message({ ...catalogJob, jobId: 'upstream-7' }), findSource);

    expect(result).toMatchObject({ ok: true, value: { identity: { jobKey: 'id-upstream-7' } } });
  });

  it('anchors the dedupe window on the SQS sent time when the job has no requestedAt', () => {
    const { source, input, traceId } = catalogJob;

    const result = parseJobMessage(message({ source, input, traceId }), findSource);

    const expected = deriveJobKey(
      { source, input },
      { dedupeWindowSeconds: 3600, fallbackRequestedAt: SENT_AT },
    );
    expect(result).toMatchObject({ ok: true, value: { identity: { jobKey: expected } } });
  });

  describe('refuses what JSON.parse or zod would let through unseen', () => {
    const faultsJob = (input: string, extra = '') =>
      `{"source":"demo-faults","jobId":"j-1","input":${input}${extra}}`;

    it.each([
      ['inside input', faultsJob('{"path":"/faults/ok","__proto__":{"polluted":true}}'), 'input.__proto__'],
      ['spelled with an escape', faultsJob('{"path":"/faults/ok","\\u005f_proto__":1}'), 'input.__proto__'],
      ['nested deeper', faultsJob('{"path":"/faults/ok","a":[{"__proto__":null}]}'), 'input.a.0.__proto__'],
    ])('a __proto__ key %s, which a parsed object drops silently', (_, body, where) => {
      const result = parseJobMessage(message(body), findSource);

      expect(result).toMatchObject({ ok: false, error: { reason: 'message-invalid' } });
      expect(result.ok ? '' : result.error.message).toContain(`${where} is a __proto__ key`);
    });

    it('a __proto__ key at the top level (the strict CollectJob schema sees this one)', () => {
      const result = parseJobMessage(
        message(faultsJob('{"path":"/faults/ok"}', ',"__proto__":{}')),
        findSource,
      );

      expect(result).toMatchObject({ ok: false, error: { reason: 'message-invalid' } });
      expect(result.ok ? '' : result.error.message).toContain('__proto__');
    });

    it.each([
      ['a NUL character', '/faults/ok\\u0000.html', 'NUL'],
      ['a lone high surrogate', '/faults/\\ud800', 'lone surrogate'],
      ['a lone low surrogate', '/faults/\\udc00x', 'lone surrogate'],
    ])('a string holding %s', (_, path, what) => {
      const result = parseJobMessage(message(faultsJob(`{"path":"${path}"}`)), findSource);

      expect(result).toMatchObject({ ok: false, error: { reason: 'message-invalid' } });
      expect(result.ok ? '' : result.error.message).toContain(`input.path holds a ${what}`);
    });

    it('a key holding a NUL character', () => {
      const result = parseJobMessage(message(faultsJob('{"path":"/x","a\\u0000b":1}')), findSource);

      expect(result).toMatchObject({ ok: false, error: { reason: 'message-invalid' } });
    });

    it('accepts a surrogate pair (an emoji), which is well-formed text', () => {
      const result = parseJobMessage(
        message(faultsJob('{"path":"/faults/ok?note=\\ud83d\\ude00"}')),
        findSource,
      );

      expect(result.ok).toBe(true);
    });

    it('a requestedAt after the message was sent, beyond the clock skew SigV4 allows', () => {
      const result = parseJobMessage(
        message({ ...catalogJob, requestedAt: '9999-12-31T23:59:59Z' }),
        findSource,
      );

      expect(result).toMatchObject({ ok: false, error: { reason: 'message-invalid' } });
      expect(result.ok ? '' : result.error.message).toContain('requestedAt 9999-12-31T23:59:59Z is after');
    });

    it('accepts a requestedAt a little after the SQS sent time (clocks differ)', () => {
      const requestedAt = new Date(SENT_AT.getTime() + 4 * 60_000).toISOString();

      expect(parseJobMessage(message({ ...catalogJob, requestedAt }), findSource).ok).toBe(true);
    });
  });

  it('hands back the input as parsed by the source schema', () => {
    const result = parseJobMessage(message(catalogJob), findSource);

    expect(result).toMatchObject({ ok: true, value: { input: { category: 'tools', page: 3 } } });
  });
});

describe('nextStepFor', () => {
  const half = { random: () => 0.5 };

  it('hands off an error that needs a human', () => {
    const error = new HandoffRequiredError('captcha shown', { reason: 'captcha' });

    expect(nextStepFor(error, demoCatalog, 1, half)).toEqual({ kind: 'hand-off' });
  });

  it('dead-letters a permanent error at once with its reason', () => {
    const error = classifyHttpStatus(404);

    expect(nextStepFor(error, demoCatalog, 1, half)).toEqual({
      kind: 'dead-letter',
      reason: 'http-404',
      message: error.message,
    });
  });

  it('retries a transient error after the first budget delay', () => {
    expect(nextStepFor(classifyHttpStatus(503), demoCatalog, 1, half)).toEqual({
      kind: 'retry',
      delaySeconds: 30,
      retryNumber: 1,
    });
  });

  it("waits for the source's Retry-After when it is longer than the budget delay", () => {
    const error = new TransientError('slow down', { reason: 'http-429', retryAfterSeconds: 120 });

    expect(nextStepFor(error, demoCatalog, 1, half)).toMatchObject({ kind: 'retry', delaySeconds: 120 });
  });

  it('applies the time scale to the retry delay', () => {
    expect(nextStepFor(classifyHttpStatus(503), demoCatalog, 2, { ...half, timeScale: 0.1 })).toMatchObject({
      kind: 'retry',
      delaySeconds: 30,
    });
  });

  it('dead-letters a transient error as retries-exhausted once the budget is spent', () => {
    const step = nextStepFor(classifyHttpStatus(503), demoCatalog, 4, half);

    expect(step).toMatchObject({ kind: 'dead-letter', reason: 'retries-exhausted' });
    expect(step).toMatchObject({ message: expect.stringContaining('http-503') });
  });

  it('dead-letters a transient error when the source is unknown, since it has no budget', () => {
    expect(nextStepFor(classifyHttpStatus(503), undefined, 1, half)).toMatchObject({
      kind: 'dead-letter',
      reason: 'http-503',
    });
  });
});

describe('collectJob', () => {
  const OBSERVED_AT = new Date('2026-11-27T08:00:01.250Z');
  const FETCH_ID = '20261127T080001250Z-0badcafe';
  const html = Buffer.from('<html><body><li class="product" data-sku="TOO-0041"></li></body></html>');
  const screenshot = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

  const collection: Collection = {
    request: { url: 'https://catalog.demo.sluice.example/catalog/tools?page=3', method: 'GET' },
    response: {
      status: 200,
      finalUrl: 'https://catalog.demo.sluice.example/catalog/tools?page=3',
      contentType: 'text/html; charset=utf-8',
    },
    observedAt: OBSERVED_AT,
    artifacts: [
      { name: 'body.html', role: 'body', contentType: 'text/html; charset=utf-8', body: html },
      { name: 'screenshot.png', role: 'screenshot', contentType: 'image/png', body: screenshot },
    ],
    primaryArtifact: 'body.html',
    branches: ['http-get'],
  };

  /** Advances 100 ms on every call, so durations are real and deterministic. */
  function steppingClock(start: Date): () => Date {
    let now = start.getTime();
    return () => {
      const current = new Date(now);
      now += 100;
      return current;
    };
  }

  function setUp(collect: CollectJobDeps['collect']) {
    const rawStore = new MemoryRawStore();
    const ledger = new MemoryJobLedger();
    const deps: CollectJobDeps = {
      findSource,
      collect,
      rawStore,
      catalog: rawStore,
      ledger,
      clock: steppingClock(new Date('2026-11-27T08:00:00.000Z')),
      fetchIdFor: () => FETCH_ID,
      random: () => 0.5,
      claims: new FakeClaims(),
      leaseUntil: () => new Date('2026-11-27T08:05:00.000Z'),
      followUpQueue: new MemoryFollowUpQueue(),
    };
    return { deps, rawStore, ledger };
  }

  const collected = async () => collection;
  const failsWith = (error: unknown) => async (): Promise<Collection> => {
    throw error;
  };

  async function storedManifest(rawStore: MemoryRawStore, key: string): Promise<unknown> {
    return JSON.parse((await rawStore.get(key)).body.toString('utf8'));
  }

  it('stores every artifact under the Hive-style fetch prefix', async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome.status).toBe('collected');
    const prefix = `raw/source=demo-catalog/dt=2026-11-27/${outcome.identity.jobKey}/${FETCH_ID}/`;
    expect([...rawStore.objects.keys()].sort()).toEqual(
      [`${prefix}body.html`, `${prefix}manifest.json`, `${prefix}screenshot.png`].sort(),
    );
  });

  it('stores the exact bytes of each artifact', async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome.status).toBe('collected');
    if (outcome.status !== 'collected') return;
    const [bodyKey, screenshotKey] = outcome.artifactKeys;
    expect((await rawStore.get(bodyKey ?? '')).body.equals(html)).toBe(true);
    expect((await rawStore.get(screenshotKey ?? '')).body.equals(screenshot)).toBe(true);
  });

  it('writes manifest.json last, after every artifact it names is stored', async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    if (outcome.status !== 'collected') throw new Error(`expected a collection, got ${outcome.status}`);
    const last = rawStore.writes.at(-1);
    expect(last?.key).toBe(outcome.manifestKey);
    expect(outcome.manifestKey.endsWith('/manifest.json')).toBe(true);
    expect([...(last?.keysStoredBefore ?? [])].sort()).toEqual([...outcome.artifactKeys].sort());
  });

  it('writes a manifest that validates against RawManifest', async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    if (outcome.status !== 'collected') throw new Error(`expected a collection, got ${outcome.status}`);
    const parsed = RawManifest.safeParse(await storedManifest(rawStore, outcome.manifestKey));
    expect(parsed.error).toBeUndefined();
  });

  it('records in the manifest the job, its trace ID, attempt and each artifact checksum', async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob, { receiveCount: 2 }), deps);

    if (outcome.status !== 'collected') throw new Error(`expected a collection, got ${outcome.status}`);
    const manifest = RawManifest.parse(await storedManifest(rawStore, outcome.manifestKey));
    expect(manifest).toMatchObject({
      source: 'demo-catalog',
      jobKey: outcome.identity.jobKey,
      fetchId: FETCH_ID,
      traceId: TRACE_ID,
      attempt: 2,
      collector: 'http',
      observedAt: OBSERVED_AT.toISOString(),
      primaryArtifact: 'body.html',
      branches: ['http-get'],
      job: { ...catalogJob, priority: 'normal' },
    });
    expect(manifest.artifacts).toEqual([
      expect.objectContaining({ name: 'body.html', size: html.byteLength, sha256: sha256Hex(html) }),
      expect.objectContaining({
        name: 'screenshot.png',
        size: screenshot.byteLength,
        sha256: sha256Hex(screenshot),
      }),
    ]);
  });

  it("tags every stored object with the job's trace ID, job key and source", async () => {
    const { deps, rawStore } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    expect(rawStore.writes).toHaveLength(3);
    for (const write of rawStore.writes) {
      expect(write.metadata).toEqual({
        'trace-id': TRACE_ID,
        'job-key': outcome.identity.jobKey,
        source: 'demo-catalog',
      });
    }
  });

  it('records a collected attempt in the ledger with the manifest and artifacts', async () => {
    const { deps, ledger } = setUp(collected);

    const outcome = await collectJob(message(catalogJob), deps);

    if (outcome.status !== 'collected') throw new Error(`expected a collection, got ${outcome.status}`);
    expect(ledger.attempts).toEqual([
      expect.objectContaining({
        jobKey: outcome.identity.jobKey,
        source: 'demo-catalog',
        traceId: TRACE_ID,
        attempt: 1,
        stage: 'collect',
        outcome: 'collected',
        manifestKey: outcome.manifestKey,
        artifactKeys: outcome.artifactKeys,
      }),
    ]);
  });

  it('asks for a retry and records a retrying attempt when the source answers 503', async () => {
    const { deps, ledger, rawStore } = setUp(failsWith(classifyHttpStatus(503)));

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'retry', delaySeconds: 30, retryNumber: 1 },
    });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({
        outcome: 'retrying',
        errorClass: 'transient',
        reason: 'http-503',
        attempt: 1,
      }),
    ]);
    expect(rawStore.objects.size).toBe(0);
  });

  it('dead-letters at once and records it when the source answers 404', async () => {
    const { deps, ledger } = setUp(failsWith(classifyHttpStatus(404)));

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome).toMatchObject({ status: 'failed', next: { kind: 'dead-letter', reason: 'http-404' } });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ outcome: 'dead-lettered', errorClass: 'permanent', reason: 'http-404' }),
    ]);
  });

  it('dead-letters as retries-exhausted when the last attempt in the budget fails', async () => {
    const { deps, ledger } = setUp(failsWith(classifyHttpStatus(503)));

    const outcome = await collectJob(message(catalogJob, { receiveCount: 4 }), deps);

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'retries-exhausted' },
    });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({
        attempt: 4,
        outcome: 'dead-lettered',
        errorClass: 'transient',
        reason: 'retries-exhausted',
        message: expect.stringContaining('http-503'),
      }),
    ]);
  });

  it('treats an unexpected collector error as transient and retries it', async () => {
    const { deps, ledger } = setUp(failsWith(new Error('kaboom')));

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome).toMatchObject({ status: 'failed', next: { kind: 'retry' } });
    expect(ledger.attempts).toEqual([expect.objectContaining({ outcome: 'retrying', reason: 'unexpected' })]);
  });

  it('records a hand-off when the collector needs a human', async () => {
    const { deps, ledger } = setUp(
      failsWith(new HandoffRequiredError('captcha shown', { reason: 'captcha' })),
    );

    const outcome = await collectJob(message(catalogJob), deps);

    expect(outcome).toMatchObject({ status: 'failed', next: { kind: 'hand-off' } });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ outcome: 'handed-off', errorClass: 'needs-human', reason: 'captcha' }),
    ]);
  });

  it('dead-letters a message it cannot parse without collecting anything', async () => {
    const { deps, ledger, rawStore } = setUp(collected);

    const outcome = await collectJob(message('not json', { messageId: 'm-9' }), deps);

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'message-not-json' },
    });
    expect(ledger.attempts).toEqual([
      expect.objectContaining({ jobKey: 'msg-m-9', source: undefined, outcome: 'dead-lettered' }),
    ]);
    expect(rawStore.objects.size).toBe(0);
  });

  it('dead-letters an invalid input even on a first delivery, never retrying it', async () => {
    const { deps } = setUp(collected);

    const outcome = await collectJob(message({ ...catalogJob, input: { category: 'tools' } }), deps);

    expect(outcome).toMatchObject({
      status: 'failed',
      next: { kind: 'dead-letter', reason: 'input-invalid' },
    });
  });
});
