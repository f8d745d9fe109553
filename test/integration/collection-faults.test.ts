/**
 * Failures, retries, dead letters, hand-offs and the egress guard, proven end to end: the real
 * collector bundles against moto and the demo site's fault routes (local/demo-site/faults.ts).
 *
 * Step timeouts are shortened for this file (a hanging page waits 5 s, not 30 s); retry delays
 * run at the local time scale (1/60), so a 30 s retry waits about half a second.
 */

import { SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeadLetterAttribute } from '../../functions/adapters/work-queues.js';
import { MAX_JOB_MESSAGE_BYTES } from '../../functions/core/collect-job.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import {
  attribute,
  collectAttempts,
  deadLetterFor,
  newJobId,
  rawObject,
  sendJob,
  summaryWithStatus,
  taggedResource,
} from './collection-support.js';
import { eventually, peekMessages } from './support.js';

let env: LocalEnvironment;
const logLines: { fn: string; line: string }[] = [];
let handoffTapUrl: string;

beforeAll(async () => {
  env = await startLocalEnvironment({
    synth: false,
    functionEnvironment: { NAVIGATION_TIMEOUT_MS: '5000', READY_TIMEOUT_MS: '3000', HTTP_TIMEOUT_MS: '5000' },
    onLogLine: (fn, line) => logLines.push({ fn, line }),
  });
  // An SQS queue on the hand-off topic, to read what the topic announced.
  const tap = await env.clients.sqs.send(
    new CreateQueueCommand({ QueueName: `handoff-tap-${env.runId.slice(-6)}` }),
  );
  handoffTapUrl = tap.QueueUrl ?? '';
  const { Attributes } = await env.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: handoffTapUrl, AttributeNames: ['QueueArn'] }),
  );
  await env.clients.sns.send(
    new SubscribeCommand({
      TopicArn: taggedResource(env, env.provisioned.topics, { 'sluice:role': 'handoff' }),
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn ?? '',
    }),
  );
});

afterAll(async () => {
  await env?.stop();
});

function job(source: 'demo-faults' | 'demo-faults-browser', jobId: string, path: string) {
  return { source, jobId, input: { path }, priority: 'normal' };
}

/** The log lines (JSON) a function wrote that mention `text`. */
function logsMentioning(text: string): { [key: string]: unknown }[] {
  return logLines
    .filter((l) => l.line.includes(text))
    .flatMap((l) => {
      try {
        return [z.record(z.string(), z.unknown()).parse(JSON.parse(l.line))];
      } catch {
        return [];
      }
    });
}

describe.concurrent('transient failures are retried within the budget', () => {
  it('retries a 500 and collects on the next attempt, keeping the error page as a snapshot', async () => {
    const jobId = newJobId('flaky');
    await sendJob(
      env,
      'demo-faults',
      job('demo-faults', jobId, `/faults/flaky?key=${jobId}&failures=1&status=500`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    const [first, second, ...rest] = await collectAttempts(env, `id-${jobId}`);
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      attempt: 1,
      outcome: 'retrying',
      errorClass: 'transient',
      reason: 'http-500',
    });
    expect(first?.snapshotKeys?.some((k) => k.endsWith('/failure-response.html'))).toBe(true);
    const snapshot = await rawObject(env, first?.snapshotKeys?.find((k) => k.endsWith('.html')) ?? '');
    expect(snapshot.body.toString('utf8')).toContain('Failure 1 of 1');
    expect(second).toMatchObject({ attempt: 2, outcome: 'collected' });
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(2);
    const { Item } = await env.clients.documents.send(
      new GetCommand({ TableName: env.recordsTable, Key: { pk: `demo-faults#${jobId}` } }),
    );
    expect(Item?.data).toEqual({ key: jobId, text: 'ok after 1 failures' });
  });

  it('waits for the Retry-After of a 429 before the next attempt (HTTP)', async () => {
    const jobId = newJobId('429');
    await sendJob(
      env,
      'demo-faults',
      job('demo-faults', jobId, `/faults/rate-limited?key=${jobId}&failures=1&retryAfter=120`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    const [first, second] = await collectAttempts(env, `id-${jobId}`);
    // 120 s asked for, longer than the 30 s (±20%) budget delay; 1/60 time scale locally.
    expect(first).toMatchObject({
      outcome: 'retrying',
      reason: 'http-429',
      retryAfterSeconds: 120,
      retryInSeconds: 2,
    });
    expect(second).toMatchObject({ outcome: 'collected' });
    const [refused, served] = env.demoSite.faults.requestsFor(jobId);
    expect((served?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1_500);
  });

  it('waits for the Retry-After of a 503 in the browser too', async () => {
    const jobId = newJobId('503');
    await sendJob(
      env,
      'demo-faults-browser',
      job(
        'demo-faults-browser',
        jobId,
        `/faults/rate-limited?key=${jobId}&failures=1&status=503&retryAfter=90`,
      ),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    const [first, second] = await collectAttempts(env, `id-${jobId}`);
    expect(first).toMatchObject({
      outcome: 'retrying',
      reason: 'http-503',
      retryAfterSeconds: 90,
      retryInSeconds: 2,
    });
    expect(second).toMatchObject({ outcome: 'collected' });
  });

  it('gives a hanging page its navigation timeout, snapshots it, and retries', async () => {
    const jobId = newJobId('hang');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/hang?key=${jobId}&times=1`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    const [first, second] = await collectAttempts(env, `id-${jobId}`);
    expect(first).toMatchObject({ outcome: 'retrying', errorClass: 'transient', reason: 'timeout' });
    expect(first?.message).toContain('browse');
    expect(first?.snapshotKeys?.some((k) => k.endsWith('/failure-console.json'))).toBe(true);
    expect(second).toMatchObject({ outcome: 'collected' });
  });
});

describe.concurrent('permanent failures dead-letter at once, with a snapshot', () => {
  it('dead-letters a 404 in the browser with the rendered page and a screenshot', async () => {
    const jobId = newJobId('404b');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/missing?key=${jobId}`),
    );

    const dead = await deadLetterFor(env, 'demo-faults-browser', `id-${jobId}`);

    expect(attribute(dead, DeadLetterAttribute.Reason)).toBe('http-404');
    expect(attribute(dead, DeadLetterAttribute.Attempts)).toBe('1');
    const [attempt, ...rest] = await collectAttempts(env, `id-${jobId}`);
    expect(rest).toEqual([]);
    expect(attempt).toMatchObject({ outcome: 'dead-lettered', errorClass: 'permanent', reason: 'http-404' });
    const keys = attempt?.snapshotKeys ?? [];
    expect(keys.map((k) => k.split('/').at(-1)).sort()).toEqual([
      'failure-console.json',
      'failure-rendered.html',
      'failure-screenshot.png',
    ]);
    const rendered = await rawObject(env, keys.find((k) => k.endsWith('failure-rendered.html')) ?? '');
    expect(rendered.body.toString('utf8')).toContain('No such page');
    const screenshot = await rawObject(env, keys.find((k) => k.endsWith('.png')) ?? '');
    expect(screenshot.contentType).toBe('image/png');
    expect(screenshot.body.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('dead-letters a 404 over HTTP with the error response kept', async () => {
    const jobId = newJobId('404h');
    await sendJob(env, 'demo-faults', job('demo-faults', jobId, `/faults/missing?key=${jobId}`));

    const dead = await deadLetterFor(env, 'demo-faults', `id-${jobId}`);

    expect(attribute(dead, DeadLetterAttribute.Reason)).toBe('http-404');
    const [attempt] = await collectAttempts(env, `id-${jobId}`);
    const key = attempt?.snapshotKeys?.find((k) => k.endsWith('/failure-response.html')) ?? '';
    expect((await rawObject(env, key)).body.toString('utf8')).toContain('No such page');
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
  });

  it('dead-letters a page whose layout changed, with a snapshot of what it shows now', async () => {
    const jobId = newJobId('layout');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/changed-layout?key=${jobId}`),
    );

    const dead = await deadLetterFor(env, 'demo-faults-browser', `id-${jobId}`);

    expect(attribute(dead, DeadLetterAttribute.Reason)).toBe('selector-missing');
    expect(attribute(dead, DeadLetterAttribute.ErrorMessage)).toContain('main[data-ready="true"]');
    const [attempt] = await collectAttempts(env, `id-${jobId}`);
    const key = attempt?.snapshotKeys?.find((k) => k.endsWith('failure-rendered.html')) ?? '';
    expect((await rawObject(env, key)).body.toString('utf8')).toContain('app-shell-v2');
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
  });
});

describe('a page that needs a person', () => {
  it('hands a captcha off: a task with the snapshot, a notification, a metric; no retry', async () => {
    const jobId = newJobId('captcha');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/captcha?key=${jobId}`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'handed-off');

    const [attempt, ...rest] = await collectAttempts(env, `id-${jobId}`);
    expect(rest).toEqual([]);
    expect(attempt).toMatchObject({ outcome: 'handed-off', errorClass: 'needs-human', reason: 'captcha' });
    const snapshotKeys = attempt?.snapshotKeys ?? [];
    expect(snapshotKeys.some((k) => k.endsWith('failure-screenshot.png'))).toBe(true);

    const tasksTable = taggedResource(env, env.provisioned.tables, { 'sluice:role': 'tasks' });
    const { Item: task } = await env.clients.documents.send(
      new GetCommand({ TableName: tasksTable, Key: { pk: `task#collect-id-${jobId}` } }),
    );
    expect(task).toMatchObject({ status: 'open', reason: 'captcha', source: 'demo-faults-browser' });
    expect(task?.evidenceKeys).toEqual(snapshotKeys);

    const announced = await eventually('the hand-off notification', async () => {
      const messages: Message[] = await peekMessages(env, handoffTapUrl);
      return messages
        .map((m) => z.object({ Message: z.string() }).parse(JSON.parse(m.Body ?? '{}')).Message)
        .map((text) => JSON.parse(text) as { jobKey?: string; reason?: string; evidenceKeys?: string[] })
        .find((n) => n.jobKey === `id-${jobId}`);
    });
    expect(announced).toMatchObject({ reason: 'captcha', evidenceKeys: snapshotKeys });

    // Counted fleet-wide by outcome, and as a job that did not succeed in the source's success rate.
    const metric = await eventually('the JobHandedOff metric line', async () =>
      logsMentioning('"JobHandedOff"').find((line) => JSON.stringify(line).includes('JobHandedOff')),
    );
    expect(metric).toMatchObject({ JobHandedOff: 1 });
    expect(
      logsMentioning('"JobSuccess"').some(
        (line) => line.source === 'demo-faults-browser' && line.JobSuccess === 0,
      ),
    ).toBe(true);
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
  });

  it('hands a captcha off over HTTP too, at collection: the page is evidence, not a collection', async () => {
    const jobId = newJobId('http-captcha');
    await sendJob(env, 'demo-faults', job('demo-faults', jobId, `/faults/captcha?key=${jobId}`));

    await summaryWithStatus(env, `id-${jobId}`, 'handed-off');

    const attempts = await collectAttempts(env, `id-${jobId}`);
    expect(attempts).toEqual([
      expect.objectContaining({ outcome: 'handed-off', errorClass: 'needs-human', reason: 'captcha' }),
    ]);
    const [evidence] = attempts[0]?.snapshotKeys ?? [];
    expect(evidence).toMatch(/\/handoff-response\.html$/);
    expect((await rawObject(env, evidence ?? '')).body.toString('utf8')).toContain('data-captcha');
    expect(attempts[0]?.manifestKey).toBeUndefined();
    const tasksTable = taggedResource(env, env.provisioned.tables, { 'sluice:role': 'tasks' });
    const { Item: task } = await env.clients.documents.send(
      new GetCommand({ TableName: tasksTable, Key: { pk: `task#collect-id-${jobId}` } }),
    );
    expect(task).toMatchObject({
      status: 'open',
      reason: 'captcha',
      stage: 'collect',
      source: 'demo-faults',
    });
    expect(env.demoSite.faults.requestsFor(jobId)).toHaveLength(1);
  });
});

describe('partial batch responses', () => {
  it('lets a poison message fail alone: its batch-mates are collected on their first attempt', async () => {
    const good = [newJobId('batch-a'), newJobId('batch-b')];
    const poisonId = newJobId('batch-poison');
    const sent = await env.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: env.sourceQueues('demo-faults').jobs.url,
        Entries: [
          {
            Id: 'a',
            MessageBody: JSON.stringify(job('demo-faults', good[0] ?? '', `/faults/ok?key=${good[0]}`)),
          },
          {
            Id: 'poison',
            MessageBody: JSON.stringify({ source: 'demo-faults', jobId: poisonId, input: {} }),
          },
          {
            Id: 'b',
            MessageBody: JSON.stringify(job('demo-faults', good[1] ?? '', `/faults/ok?key=${good[1]}`)),
          },
        ],
      }),
    );
    expect(sent.Failed ?? []).toEqual([]);

    await deadLetterFor(env, 'demo-faults', `id-${poisonId}`);
    for (const jobId of good) await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    for (const jobId of good) {
      expect((await collectAttempts(env, `id-${jobId}`)).map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'collected'],
      ]);
    }
    // One invocation handled all three: the poison failed alone inside it.
    const requestIds = [poisonId, ...good].map(
      (jobId) =>
        logsMentioning(`"jobKey":"id-${jobId}"`).find((l) => l.outcome !== undefined)?.function_request_id,
    );
    expect(requestIds.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(requestIds).size).toBe(1);
  });
});

describe.concurrent('malformed messages go to the DLQ at once with their reason, never retried', () => {
  async function expectDeadLettered(
    messageBody: string,
    jobKeyFor: (messageId: string) => string,
    reason: string,
  ) {
    const messageId = await sendJob(env, 'demo-faults', messageBody);
    const jobKey = jobKeyFor(messageId);

    const dead = await deadLetterFor(env, 'demo-faults', jobKey);

    expect(attribute(dead, DeadLetterAttribute.Reason)).toBe(reason);
    expect(attribute(dead, DeadLetterAttribute.Attempts)).toBe('1');
    expect(dead.Body).toBe(messageBody);
    const attempts = await collectAttempts(env, jobKey);
    expect(attempts).toEqual([
      expect.objectContaining({ outcome: 'dead-lettered', errorClass: 'permanent', reason }),
    ]);
    const logged = logsMentioning('job dead-lettered').find((line) => line.jobKey === jobKey);
    expect(logged).toMatchObject({ level: 'ERROR', reason, outcome: 'dead-lettered' });
  }

  it('a body that is not JSON', async () => {
    await expectDeadLettered('{"source": "demo-faults",', (id) => `msg-${id}`, 'message-not-json');
  });

  it('a job for a source that does not exist', async () => {
    const jobId = newJobId('unknown');
    await expectDeadLettered(
      JSON.stringify({ source: 'no-such-source', input: {}, jobId }),
      () => `id-${jobId}`,
      'unknown-source',
    );
  });

  it("an input the source's schema refuses", async () => {
    const jobId = newJobId('schema');
    await expectDeadLettered(
      JSON.stringify({ source: 'demo-faults', input: { path: 42 }, jobId }),
      () => `id-${jobId}`,
      'input-invalid',
    );
  });

  it('an input with a __proto__ key, which a parsed object would drop unseen', async () => {
    const jobId = newJobId('proto');
    await expectDeadLettered(
      `{"source":"demo-faults","jobId":"${jobId}","input":{"path":"/faults/ok?key=${jobId}","__proto__":{"admin":true}}}`,
      () => `id-${jobId}`,
      'message-invalid',
    );
    expect(env.demoSite.faults.requestsFor(jobId)).toEqual([]);
  });

  it('a message over the size limit', async () => {
    const body = JSON.stringify({
      source: 'demo-faults',
      input: { path: `/faults/ok?pad=${'x'.repeat(MAX_JOB_MESSAGE_BYTES)}` },
    });
    await expectDeadLettered(body, (id) => `msg-${id}`, 'message-too-large');
  });
});

describe.concurrent('the egress guard in the pipeline', () => {
  async function expectBlocked(
    source: 'demo-faults' | 'demo-faults-browser',
    label: string,
    path: (jobId: string) => string,
  ) {
    const jobId = newJobId(label);
    await sendJob(env, source, job(source, jobId, path(jobId)));

    const dead = await deadLetterFor(env, source, `id-${jobId}`);

    expect(attribute(dead, DeadLetterAttribute.Reason)).toBe('egress-blocked');
    expect(attribute(dead, DeadLetterAttribute.Attempts)).toBe('1');
    return { jobId, message: attribute(dead, DeadLetterAttribute.ErrorMessage) ?? '' };
  }

  const toLoopback = encodeURIComponent('http://127.0.0.1:8089/admin');
  const toMetadata = encodeURIComponent('http://169.254.169.254/latest/meta-data/iam/');

  it.each(['demo-faults', 'demo-faults-browser'] as const)(
    '%s: blocks a redirect to loopback',
    async (source) => {
      const { message } = await expectBlocked(
        source,
        'to-loopback',
        (k) => `/faults/redirect?key=${k}&to=${toLoopback}`,
      );
      expect(message).toContain('127.0.0.1:8089');
    },
  );

  it.each(['demo-faults', 'demo-faults-browser'] as const)(
    '%s: blocks a redirect to the metadata service',
    async (source) => {
      const { message } = await expectBlocked(
        source,
        'to-metadata',
        (k) => `/faults/redirect?key=${k}&to=${toMetadata}`,
      );
      expect(message).toContain('169.254.169.254');
    },
  );

  it.each(['demo-faults', 'demo-faults-browser'] as const)(
    '%s: blocks a file: URL in the job',
    async (source) => {
      const { message } = await expectBlocked(source, 'file', () => 'file:///etc/passwd');
      expect(message).toContain('scheme file:');
    },
  );

  it('blocks a protocol-relative path to the metadata service', async () => {
    const { message } = await expectBlocked(
      'demo-faults',
      'scheme-relative',
      () => '//169.254.169.254/latest/meta-data/',
    );
    expect(message).toContain('169.254.169.254');
  });

  it('collects a page but none of its subresources on private addresses, and says so', async () => {
    const jobId = newJobId('private-sub');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/private-subresources?key=${jobId}`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    const [attempt] = await collectAttempts(env, `id-${jobId}`);
    const consoleKey = attempt?.artifactKeys?.find((k) => k.endsWith('/console.json')) ?? '';
    const report = z
      .object({ refusedRequests: z.array(z.object({ url: z.string(), reason: z.string() })) })
      .parse(JSON.parse((await rawObject(env, consoleKey)).body.toString('utf8')));
    const refused = report.refusedRequests.map((r) => r.url);
    expect(refused).toEqual(
      expect.arrayContaining([
        'http://192.168.1.1/widget.js',
        'http://169.254.169.254/latest/meta-data/',
        'http://127.0.0.1:8089/internal',
      ]),
    );
    const manifest = JSON.parse((await rawObject(env, attempt?.manifestKey ?? '')).body.toString('utf8'));
    expect(manifest.branches).toContain('subresources-blocked');
  });

  it('never loads a resource type the source blocks (images here)', async () => {
    const jobId = newJobId('image');
    await sendJob(
      env,
      'demo-faults-browser',
      job('demo-faults-browser', jobId, `/faults/with-image?key=${jobId}`),
    );

    await summaryWithStatus(env, `id-${jobId}`, 'transformed');

    expect(env.demoSite.faults.requestsFor(jobId).map((r) => r.route)).toEqual(['with-image']);
  });
});
