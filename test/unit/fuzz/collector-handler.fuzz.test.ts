/**
 * Fuzzing the collectors' SQS handler (createCollectorHandler) with hostile and broken job
 * messages: arbitrary text, arbitrary JSON, near-valid CollectJobs with mutated fields, huge and
 * unicode-heavy bodies, batches that repeat a job; and a fetch that succeeds, fails in every way a
 * collector can fail, or throws things that are not errors at all. The ports are this suite's
 * fakes, except SQS: the real SqsWorkQueues adapter talks to an in-memory SQS that refuses what
 * SQS refuses (see sqs-contract.ts).
 *
 * Whatever arrives, every message of a batch ends in exactly one way — collected (its manifest in
 * raw storage), already collected (a duplicate delivery), retried with a delay, dead-lettered
 * with a reason, or handed off (a task) — the batch response names only messages of the batch,
 * and nothing is thrown out of the handler. With failing ports (S3, DynamoDB, SQS, SNS), a message
 * the handler lets go has a durable outcome; anything else is reported for redelivery.
 */

import { createHash } from 'node:crypto';
import type { SQSBatchResponse } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandoffDesk, HandoffResult, HandoffTask } from '../../../functions/adapters/handoff-desk.js';
import { DeadLetterAttribute } from '../../../functions/adapters/work-queues.js';
import { createCollectorHandler } from '../../../functions/collector/job-batch-handler.js';
import {
  BrowserCrashedError,
  FailureWithEvidence,
  HttpStatusError,
  LoginRejectedError,
  SelectorMissingError,
  SessionExpiredError,
  StepTimeoutError,
} from '../../../functions/core/classify-failure.js';
import { MAX_JOB_MESSAGE_BYTES } from '../../../functions/core/collect-job.js';
import type { Collection, CollectRequest } from '../../../functions/core/collection.js';
import { RawManifest } from '../../../functions/core/contracts.js';
import { EgressBlockedError } from '../../../functions/core/egress.js';
import { HandoffRequiredError, PermanentError, TransientError } from '../../../functions/core/errors.js';
import type { AttemptEntry, JobClaims, JobLedger, RawStore } from '../../../functions/core/ports.js';
import {
  DEFAULT_APP_NAME,
  jobsQueueName,
  queueNameOfArn,
  sourceOfQueueName,
} from '../../../functions/core/resource-names.js';
import {
  DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
} from '../../../infra/queue-limits.js';
import type { SourceDefinition } from '../../../sources/define.js';
import { fixtureSources, sources } from '../../../sources/registry.js';
import { MemoryFollowUpQueue } from '../../support/follow-up-fakes.js';
import { validInputs as validInputsOf } from '../../support/source-fixtures.js';
import { FakeClaims } from '../support/collection-fakes.js';
import { MemoryRawStore } from '../support/in-memory-ports.js';
import {
  captureLogs,
  Faults,
  LAMBDA_CONTEXT,
  type LogLine,
  outcomesByMessage,
  sqsRecord,
} from './fuzz-support.js';
import { SqsContract, sqsAcceptable, workQueuesOver } from './sqs-contract.js';

const allSources = [...sources, ...fixtureSources];
/** Each source's jobs queue, named as the stack names it; the handler learns the source from it. */
const routes = allSources.map((source) => ({
  source: source.name,
  queueArn: `arn:aws:sqs:us-east-1:123456789012:${jobsQueueName(DEFAULT_APP_NAME, source.name)}`,
}));

const contract = new SqsContract((url) =>
  url.endsWith('-dlq') ? DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES : WORK_QUEUE_MAX_MESSAGE_BYTES,
);
let restoreSqs: () => void;
let queues: ReturnType<typeof workQueuesOver>['queues'];
let logs: ReturnType<typeof captureLogs>;

beforeAll(() => {
  ({ queues, restore: restoreSqs } = workQueuesOver(contract));
  logs = captureLogs();
});

afterAll(() => {
  logs.restore();
  restoreSqs();
});

// ---- Inputs ------------------------------------------------------------------------------------

/**
 * Valid inputs of each source, derived from its input schema (test/support/source-fixtures.ts),
 * so a source added to the registry is fuzzed without editing this file.
 */
const inputGenerators = new Map<string, fc.Arbitrary<{ [key: string]: unknown }> | Error>(
  allSources.map((source) => {
    try {
      return [source.name, validInputsOf(source)] as const;
    } catch (error) {
      return [source.name, error as Error] as const;
    }
  }),
);
const validInputs: { readonly [source: string]: fc.Arbitrary<{ [key: string]: unknown }> } =
  Object.fromEntries(
    [...inputGenerators].flatMap(([name, generator]) =>
      generator instanceof Error ? [] : [[name, generator]],
    ),
  );

/** Text of every kind: ASCII, any code point, emoji and combining marks, control characters. */
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u001b[2m',
    '😀',
    '\uD83D',
    'a\u0301',
    '\uFEFF',
    '%E0%A4%A',
    '__proto__',
  ),
);

const jobIdLike = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), anyText);
const traceIdLike = fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9-]{8,64}$/), anyText);
const requestedAtLike = fc.oneof(
  fc
    .date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-11-27T08:00:00+14:00',
    '2026-02-30T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
  ),
  anyText,
);

/** A value nested a few hundred levels deep. */
const nested = fc.integer({ min: 50, max: 500 }).map((depth) => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { nested: value };
  return value;
});

const anyJsonValue = fc.oneof({ weight: 4, arbitrary: fc.jsonValue() }, { weight: 1, arbitrary: nested });

/**
 * A job whose input nests thousands of levels deep, written as text (JSON.stringify itself cannot
 * write it): the shape that overflows the stack of a recursive walk over the input.
 */
const deeplyNestedJob = fc
  .tuple(
    fc.constantFrom(...['demo-faults', 'demo-catalog', 'no-such-source']),
    fc.integer({ min: 2_000, max: 30_000 }),
    fc.boolean(),
  )
  .map(([source, depth, inPath]) => {
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return inPath
      ? `{"source":"${source}","input":{"path":${deep}}}`
      : `{"source":"${source}","input":{"path":"/x","deep":${deep}}}`;
  });

/** A valid job for `source`. */
const validJobFor = (source: string) =>
  fc.record(
    {
      source: fc.constant(source),
      input: validInputs[source] ?? fc.constant({}),
      jobId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/),
      traceId: fc.uuid(),
    },
    { requiredKeys: ['source', 'input'] },
  );

/** A valid job for some source (sent to another source's queue, it is refused: wrong-queue). */
const validJob = fc.constantFrom(...allSources.map((s) => s.name)).chain(validJobFor);

/** A job for `source`, changed in one or more ways an upstream system gets wrong. */
const nearValidJobFor = (source: string) =>
  fc
    .constant(source)
    .chain((source) =>
      fc.record({
        source: fc.constant<unknown>(source),
        input: (validInputs[source] ?? fc.constant({})) as fc.Arbitrary<unknown>,
        jobId: fc.option(jobIdLike, { nil: undefined }),
        traceId: fc.option(traceIdLike, { nil: undefined }),
        requestedAt: fc.option(requestedAtLike, { nil: undefined }),
        priority: fc.option(fc.constantFrom<unknown>('low', 'normal', 'high', 'urgent', 3), {
          nil: undefined,
        }),
      }),
    )
    .chain((job) =>
      fc
        .array(
          fc.oneof(
            fc.record({
              kind: fc.constant('drop' as const),
              field: fc.constantFrom('source', 'input', 'jobId'),
            }),
            fc.record({
              kind: fc.constant('replace' as const),
              field: fc.constantFrom('source', 'input', 'jobId', 'traceId', 'requestedAt', 'priority'),
              value: anyJsonValue,
            }),
            fc.record({ kind: fc.constant('extra' as const), field: anyText, value: anyJsonValue }),
            fc.record({ kind: fc.constant('input-field' as const), field: anyText, value: anyJsonValue }),
            fc.record({
              kind: fc.constant('source' as const),
              value: fc.constantFrom(
                'demo-catalog ',
                'Demo-Catalog',
                'no-such-source',
                'demo-portal',
                'demo-rates',
              ),
            }),
          ),
          { maxLength: 3 },
        )
        .map((mutations) => {
          const changed: { [key: string]: unknown } = Object.fromEntries(
            Object.entries(job).filter(([, v]) => v !== undefined),
          );
          for (const mutation of mutations) {
            if (mutation.kind === 'drop') delete changed[mutation.field];
            else if (mutation.kind === 'replace' || mutation.kind === 'extra')
              changed[mutation.field] = mutation.value;
            else if (mutation.kind === 'source') changed.source = mutation.value;
            else {
              const input = changed.input;
              changed.input = {
                ...(typeof input === 'object' && input !== null ? input : {}),
                [mutation.field]: mutation.value,
              };
            }
          }
          return changed;
        }),
    );

/** How a serialized job can arrive broken: cut short, a character changed, a BOM, whitespace. */
const serialized = (value: fc.Arbitrary<unknown>) =>
  fc
    .tuple(value, fc.constantFrom('as-is', 'truncated', 'flipped', 'bom', 'padded'), fc.nat())
    .map(([job, damage, at]) => {
      const text = JSON.stringify(job) ?? 'null';
      const cut = at % Math.max(1, text.length);
      switch (damage) {
        case 'truncated':
          return text.slice(0, cut);
        case 'flipped':
          return `${text.slice(0, cut)}${String.fromCharCode(33 + (at % 90))}${text.slice(cut + 1)}`;
        case 'bom':
          return `\uFEFF${text}`;
        case 'padded':
          return ` \n\t${text}\r\n`;
        default:
          return text;
      }
    });

/** Bodies near and past the job size limit, up to what a jobs queue accepts at all. */
const hugeBody = fc
  .tuple(
    fc.constantFrom(
      MAX_JOB_MESSAGE_BYTES - 200,
      MAX_JOB_MESSAGE_BYTES + 1,
      200_000,
      WORK_QUEUE_MAX_MESSAGE_BYTES - 64,
    ),
    fc.constantFrom('x', 'é', '😀'),
    fc.boolean(),
  )
  .map(([bytes, filler, asJob]) => {
    const envelope = asJob ? JSON.stringify({ source: 'demo-faults', input: { path: '' } }) : '';
    const room = Math.max(0, bytes - Buffer.byteLength(envelope));
    const padding = filler.repeat(Math.floor(room / Buffer.byteLength(filler)));
    return asJob ? envelope.replace('"path":""', `"path":"${padding}"`) : padding;
  });

/**
 * Any body SQS could deliver to `source`'s queue: SQS itself refuses the characters XML 1.0 does
 * not allow. Most jobs are for the queue's source, some for another one.
 */
const messageBodyFor = (source: string) =>
  fc
    .oneof(
      { weight: 2, arbitrary: anyText },
      { weight: 2, arbitrary: serialized(fc.jsonValue()) },
      { weight: 6, arbitrary: validJobFor(source).map((job) => JSON.stringify(job)) },
      { weight: 1, arbitrary: validJob.map((job) => JSON.stringify(job)) },
      { weight: 6, arbitrary: serialized(nearValidJobFor(source)) },
      { weight: 1, arbitrary: hugeBody },
      { weight: 1, arbitrary: deeplyNestedJob },
    )
    .map(sqsAcceptable);

// ---- The fetch ---------------------------------------------------------------------------------

const evidence = [
  {
    name: 'failure-rendered.html',
    role: 'failure-dom' as const,
    contentType: 'text/html',
    body: Buffer.from('<p>x</p>'),
  },
  {
    name: 'failure-console.json',
    role: 'console-log' as const,
    contentType: 'application/json',
    body: Buffer.from('{}'),
  },
];

/** What a collector observed, in every shape a fetch can fail (and some that are not errors). */
const fetchOutcome = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      ok: fc.constant(true as const),
      body: fc.uint8Array({ maxLength: 512 }),
      finalUrl: fc.oneof(fc.webUrl(), anyText),
    }),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'http-503',
          'http-429',
          'http-404',
          'http-500',
          'selector',
          'timeout',
          'crash',
          'session',
          'login',
          'egress',
          'captcha',
          'plain',
          'network',
          'string',
          'undefined',
          'object',
          'transient',
          'permanent',
        ),
        anyText,
        // Reasons are codes Sluice's own code chooses; messages can be anything.
        fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
        fc.integer({ min: 0, max: 100_000 }),
        fc.boolean(),
      )
      .map(([kind, text, reason, n, withEvidence]) => ({
        ok: false as const,
        kind,
        text,
        reason,
        n,
        withEvidence,
      })),
  },
);
type FetchOutcome = typeof fetchOutcome extends fc.Arbitrary<infer T> ? T : never;

function thrown(outcome: Extract<FetchOutcome, { ok: false }>, url: string): unknown {
  const { text, n } = outcome;
  const error = (() => {
    switch (outcome.kind) {
      case 'http-503':
        return new HttpStatusError(503, url, n % 7200);
      case 'http-429':
        return new HttpStatusError(429, url, n);
      case 'http-404':
        return new HttpStatusError(404, url);
      case 'http-500':
        return new HttpStatusError(500, url);
      case 'selector':
        return new SelectorMissingError(text, url);
      case 'timeout':
        return new StepTimeoutError(text, n);
      case 'crash':
        return new BrowserCrashedError(text);
      case 'session':
        return new SessionExpiredError(text);
      case 'login':
        return new LoginRejectedError(text);
      case 'egress':
        return new EgressBlockedError(`egress blocked: ${text}`, { reason: 'egress-blocked' });
      case 'captcha':
        return new HandoffRequiredError(text, { reason: 'captcha' });
      case 'network':
        return Object.assign(new TypeError('fetch failed'), {
          cause: Object.assign(new Error(text), { code: 'ECONNRESET' }),
        });
      case 'string':
        return text;
      case 'undefined':
        return undefined;
      case 'object':
        return { message: text, code: n };
      case 'transient':
        return new TransientError(text, { reason: outcome.reason, retryAfterSeconds: n });
      case 'permanent':
        return new PermanentError(text, { reason: outcome.reason });
      default:
        return new Error(text);
    }
  })();
  return outcome.withEvidence ? new FailureWithEvidence(error, evidence) : error;
}

function pick<T>(items: readonly T[], key: string): T {
  const index = createHash('sha256').update(key).digest().readUInt32BE(0) % items.length;
  return items[index] as T;
}

/** The fetch: each job key gets one of `outcomes`, the same one every time it is fetched. */
function fakeCollect(outcomes: readonly FetchOutcome[]) {
  return async (source: SourceDefinition, request: CollectRequest): Promise<Collection> => {
    const outcome = pick(outcomes, request.jobKey);
    const url = `${source.origin}/fuzz`;
    if (!outcome.ok) throw thrown(outcome, url);
    return {
      request: { url, method: 'GET' },
      response: { status: 200, finalUrl: outcome.finalUrl, contentType: 'text/html' },
      observedAt: new Date('2026-11-27T08:00:00.000Z'),
      artifacts: [
        { name: 'response.html', role: 'body', contentType: 'text/html', body: Buffer.from(outcome.body) },
      ],
      primaryArtifact: 'response.html',
      branches: ['fuzz'],
    };
  };
}

// ---- Ports -------------------------------------------------------------------------------------

/** The ledger and claims together, as one DynamoDB table keeps them: a collection marks the claim. */
class FuzzLedger implements JobLedger, JobClaims {
  readonly attempts: AttemptEntry[] = [];
  private readonly claims = new FakeClaims();
  constructor(private readonly faults: Faults) {}

  async recordAttempt(entry: AttemptEntry): Promise<void> {
    this.faults.next('ledger');
    this.attempts.push(entry);
    if (entry.stage === 'collect' && entry.outcome === 'collected')
      this.claims.collected(entry.jobKey, entry.finishedAt);
    if (entry.releasesClaimOf !== undefined) this.claims.giveUp(entry.jobKey, entry.releasesClaimOf);
  }
  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    return this.attempts.filter((a) => a.jobKey === jobKey).map((a) => ({ ...a }));
  }
  claim(...args: Parameters<JobClaims['claim']>) {
    this.faults.next('claim');
    return this.claims.claim(...args);
  }
  release(...args: Parameters<JobClaims['release']>) {
    return this.claims.release(...args);
  }
}

class FuzzRawStore extends MemoryRawStore implements RawStore {
  constructor(private readonly faults: Faults) {
    super();
  }
  override async put(...args: Parameters<RawStore['put']>) {
    this.faults.next('s3');
    return super.put(...args);
  }
  /** The collector lists raw storage for a collection a delivery that died may have stored. */
  override async *listKeys(prefix: string): AsyncIterable<readonly string[]> {
    this.faults.next('s3');
    yield* super.listKeys(prefix);
  }
}

class FuzzDesk implements HandoffDesk {
  readonly tasks: HandoffTask[] = [];
  constructor(private readonly faults: Faults) {}
  async open(task: HandoffTask): Promise<HandoffResult> {
    this.faults.next('desk');
    this.tasks.push(task);
    return 'opened';
  }
}

// ---- Running a batch ---------------------------------------------------------------------------

interface Message {
  readonly id: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly sentAt: number;
}

/**
 * One to three batches from one queue. Each batch after the first brings back what the one
 * before reported failed (SQS redelivers it, with its receive count up by one), then new
 * messages, some repeating an earlier body: a job sent twice, or delivered twice.
 */
const scenario = fc
  .constantFrom(...routes)
  .chain((queue) =>
    fc.record({
      queue: fc.constant(queue),
      rounds: fc.array(
        fc.array(
          fc.record({
            body: messageBodyFor(queue.source),
            receiveCount: fc.integer({ min: 1, max: 6 }),
            sentAt: fc.integer({ min: Date.parse('2026-01-01'), max: Date.parse('2027-01-01') }),
            repeatOf: fc.option(fc.nat(), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        { minLength: 1, maxLength: 3 },
      ),
      outcomes: fc.array(fetchOutcome, { minLength: 1, maxLength: 4 }),
    }),
  )
  .map(({ queue, rounds, outcomes }) => {
    const bodies: string[] = [];
    let next = 0;
    return {
      queue,
      outcomes,
      rounds: rounds.map((round) =>
        round.map((message): Message => {
          const earlier =
            message.repeatOf === undefined || bodies.length === 0
              ? undefined
              : bodies[message.repeatOf % bodies.length];
          const body = earlier ?? message.body;
          bodies.push(body);
          next += 1;
          return {
            body,
            receiveCount: message.receiveCount,
            sentAt: message.sentAt,
            id: `00000000-0000-4000-8000-${String(next).padStart(12, '0')}`,
          };
        }),
      ),
    };
  });

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The fakes one scenario's batches share, as the real tables, bucket and queues would be. */
function portsFor(faultPattern: readonly boolean[]) {
  const faults = new Faults(faultPattern);
  return { rawStore: new FuzzRawStore(faults), ledger: new FuzzLedger(faults), desk: new FuzzDesk(faults) };
}

async function runBatch(
  input: Scenario,
  messages: readonly Message[],
  ports: ReturnType<typeof portsFor>,
  portsFail: boolean,
) {
  const sentBefore = contract.sent.length;
  const refusalsBefore = contract.refusals.length;
  const changesBefore = contract.visibilityChanges.length;
  contract.failNext = portsFail ? 1 : 0;
  const handler = createCollectorHandler({
    collect: fakeCollect(input.outcomes),
    rawStore: ports.rawStore,
    catalog: ports.rawStore,
    ledger: ports.ledger,
    claims: ports.ledger,
    queues,
    followUpQueue: new MemoryFollowUpQueue(),
    desk: ports.desk,
    sourceOfQueue: (queueArn) => sourceOfQueueName(DEFAULT_APP_NAME, queueNameOfArn(queueArn)),
    timeScale: 1,
  });
  const records = messages.map((message) => sqsRecord(input.queue.queueArn, message));
  logs.take();
  let response: SQSBatchResponse | undefined;
  let escaped: unknown;
  try {
    response = await handler({ Records: records }, LAMBDA_CONTEXT);
  } catch (error) {
    escaped = error;
  }
  return {
    records,
    response,
    escaped,
    lines: logs.take(),
    ...ports,
    deadLetters: contract.sent.slice(sentBefore),
    visibilityChanges: contract.visibilityChanges.slice(changesBefore),
    sqsRefusals: contract.refusals.slice(refusalsBefore),
  };
}

/** Runs the scenario's batches in turn; answers each batch's run. */
async function runScenario(input: Scenario, faultPattern: readonly boolean[]) {
  const ports = portsFor(faultPattern);
  const runs: Run[] = [];
  let redelivered: Message[] = [];
  for (const fresh of input.rounds) {
    const messages = [...redelivered, ...fresh].slice(0, 10);
    const run = await runBatch(input, messages, ports, faultPattern.some(Boolean));
    runs.push(run);
    const failed = new Set((run.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    redelivered = messages
      .filter((m) => failed.has(m.id))
      .map((m) => ({ ...m, receiveCount: m.receiveCount + 1 }));
  }
  return runs;
}

type Run = Awaited<ReturnType<typeof runBatch>>;

const TERMINAL = new Set(['collected', 'duplicate', 'dead-lettered', 'handed-off']);
const REDELIVERED = new Set(['retrying', 'deferred']);

/** Why the outcome `line` of message `id` is not backed by what the ports hold; undefined if it is. */
function unbacked(run: Run, id: string, line: LogLine): string | undefined {
  const jobKey = String(line.jobKey);
  switch (line.outcome) {
    case 'collected': {
      const stored = run.rawStore.objects.get(String(line.manifestKey));
      if (stored === undefined) return `no manifest at ${String(line.manifestKey)}`;
      const manifest = RawManifest.safeParse(JSON.parse(stored.body.toString('utf8')));
      if (!manifest.success) return 'the manifest is not a RawManifest';
      const missing = manifest.data.artifacts.filter((a) => !run.rawStore.objects.has(a.key));
      return missing.length > 0 ? `artifacts missing: ${missing.map((a) => a.key).join(', ')}` : undefined;
    }
    case 'duplicate':
      return run.ledger.attempts.some((a) => a.jobKey === jobKey && a.outcome === 'collected')
        ? undefined
        : `duplicate of ${jobKey}, which was never collected`;
    case 'dead-lettered': {
      const letter = run.deadLetters.find((m) => m.attributes[DeadLetterAttribute.OriginalMessageId] === id);
      if (letter === undefined) return 'no dead letter';
      const record = run.records.find((r) => r.messageId === id);
      if (letter.body !== record?.body) return 'the dead letter does not carry the original body';
      const reason = letter.attributes[DeadLetterAttribute.Reason] ?? '';
      return reason.trim() === '' || reason === '-' ? 'the dead letter has no reason' : undefined;
    }
    case 'handed-off':
      return run.desk.tasks.some((t) => t.jobKey === jobKey && t.stage === 'collect') ? undefined : 'no task';
    case 'retrying':
    case 'deferred': {
      const change = run.visibilityChanges.find((c) => c.receiptHandle === `receipt-${id}`);
      return change === undefined ? 'no delay' : undefined;
    }
    default:
      return `unknown outcome ${String(line.outcome)}`;
  }
}

/** Every way `run` broke the handler's promises; empty when it kept them all. */
function brokenPromises(run: Run, options: { readonly portsFail: boolean }): string[] {
  const problems: string[] = run.sqsRefusals.map((reason) => `SQS refused a request: ${reason}`);
  if (run.escaped !== undefined) return [`the handler threw: ${String(run.escaped)}`];
  const ids = new Set(run.records.map((r) => r.messageId));
  const failed = new Set((run.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  for (const id of failed)
    if (!ids.has(id)) problems.push(`the response names ${id}, which is not in the batch`);
  const outcomes = outcomesByMessage(run.lines);
  for (const id of ids) {
    const lines = outcomes.get(id) ?? [];
    if (lines.length > 1)
      problems.push(`${id} ended ${lines.length} ways: ${lines.map((l) => l.outcome).join(', ')}`);
    const [line] = lines;
    if (line === undefined) {
      // No outcome: only a port failure may do that, and the message must then come back.
      if (!options.portsFail) problems.push(`${id} has no outcome (an unclassified error)`);
      else if (!failed.has(id)) problems.push(`${id} has no outcome and was let go: lost`);
      continue;
    }
    const outcome = String(line.outcome);
    if (TERMINAL.has(outcome) && failed.has(id)) problems.push(`${id} was ${outcome} but reported failed`);
    if (REDELIVERED.has(outcome) && !failed.has(id)) problems.push(`${id} was ${outcome} but let go: lost`);
    const why = unbacked(run, id, line);
    if (why !== undefined) problems.push(`${id} ${outcome}: ${why}`);
  }
  return problems;
}

describe('the collector handler, fuzzed', () => {
  it.each(allSources.map((s) => [s.name, s] as const))(
    '%s: has valid inputs derived from its input schema',
    (name, source) => {
      const generator = inputGenerators.get(name);
      if (generator instanceof Error) throw generator;
      for (const sample of fc.sample(generator ?? fc.constant(undefined), { numRuns: 20, seed: 1 })) {
        expect(source.input.safeParse(sample).success, name).toBe(true);
      }
    },
  );

  it('ends every message of any batch in exactly one accounted way, and never throws', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        for (const run of await runScenario(input, [])) {
          expect(brokenPromises(run, { portsFail: false })).toEqual([]);
          for (const line of run.lines) {
            if (typeof line.outcome === 'string') seen.add(`${line.outcome}:${String(line.reason ?? '')}`);
          }
        }
      }),
      { seed: 20261127, numRuns: 200 },
    );

    // The generators reach every way a message can end, and every reason a message is refused.
    const outcomes = new Set([...seen].map((s) => s.split(':')[0]));
    expect([...outcomes].sort()).toEqual([
      'collected',
      'dead-lettered',
      'deferred',
      'duplicate',
      'handed-off',
      'retrying',
    ]);
    for (const reason of [
      'message-not-json',
      'message-invalid',
      'message-too-large',
      'unknown-source',
      'wrong-queue',
      'input-invalid',
    ]) {
      expect(seen, reason).toContain(`dead-lettered:${reason}`);
    }
  }, 120_000);

  it('lets a message go only with a durable outcome when S3, DynamoDB, SQS or SNS fail', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        async (input, pattern) => {
          for (const run of await runScenario(input, pattern)) {
            expect(brokenPromises(run, { portsFail: true })).toEqual([]);
          }
        },
      ),
      { seed: 4711, numRuns: 120 },
    );
  }, 120_000);
});
