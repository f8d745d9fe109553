/**
 * Fuzzing the transform's SQS handler (createTransformHandler) with what arrives on its queue:
 * S3 notifications of every shape — keys with `+`, `%`, malformed escapes, unicode, thousands of
 * characters; other buckets, other event names, replay's events, several records in one
 * message — S3's TestEvent, damaged notifications, and garbage; pointing at manifests whose raw
 * bodies are real demo pages, damaged pages or random bytes, at objects that are not manifests,
 * and at keys that do not exist. SQS is the same contract-keeping emulation as for the collector.
 *
 * Every message ends one way per manifest it names (transformed, handed off, dead-lettered with a
 * reason), or as a whole (ignored, dead-lettered), or is retried with a delay; a raw body never
 * makes the transform retry or dead-letter (its parser's failure is a hand-off); nothing escapes
 * the handler; with failing ports a message is let go only with a durable outcome.
 */

import type { SQSBatchResponse } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandoffDesk, HandoffResult, HandoffTask } from '../../../functions/adapters/handoff-desk.js';
import { DeadLetterAttribute } from '../../../functions/adapters/work-queues.js';
import type {
  AttemptEntry,
  FreshnessMark,
  JobLedger,
  MarkResult,
  RawStore,
  RecordStore,
  StoredObject,
} from '../../../functions/core/ports.js';
import { createdObjects, encodeS3Key, S3Notification } from '../../../functions/core/s3-notification.js';
import { createTransformHandler } from '../../../functions/transform/manifest-batch-handler.js';
import {
  DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
} from '../../../infra/queue-limits.js';
import { CATALOG_CATEGORIES, RATE_BOARDS } from '../../../local/demo-site/data.js';
import { findParser } from '../../../sources/parsers.js';
import { findSource } from '../../../sources/registry.js';
import {
  catalogHtml,
  faultPageHtml,
  inventoryCsvBody,
  renderedRatesHtml,
  shipmentsJson,
} from '../../support/demo-pages.js';
import { MemoryFollowUpQueue } from '../../support/follow-up-fakes.js';
import {
  InMemoryFreshness,
  InMemoryRawStore,
  InMemoryRecordStore,
  storeCollection,
} from '../../support/transform-fakes.js';
import {
  captureLogs,
  Faults,
  LAMBDA_CONTEXT,
  type LogLine,
  outcomesByMessage,
  sqsRecord,
} from './fuzz-support.js';
import { SqsContract, sqsAcceptable, workQueuesOver } from './sqs-contract.js';

const RAW_BUCKET = 'sluice-raw';
/** A queue and its DLQ, named as the stacks name them: the DLQ is `<queue>-dlq`. */
const ROUTE = {
  queueArn: 'arn:aws:sqs:us-east-1:123456789012:transform',
  queueUrl: 'https://sqs.local/transform',
  deadLetterQueueUrl: 'https://sqs.local/transform-dlq',
};

const contract = new SqsContract((url) =>
  url === ROUTE.deadLetterQueueUrl ? DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES : WORK_QUEUE_MAX_MESSAGE_BYTES,
);
let queues: ReturnType<typeof workQueuesOver>['queues'];
let restoreSqs: () => void;
let logs: ReturnType<typeof captureLogs>;

beforeAll(() => {
  ({ queues, restore: restoreSqs } = workQueuesOver(contract));
  logs = captureLogs();
});

afterAll(() => {
  logs.restore();
  restoreSqs();
});

// ---- What raw storage holds ---------------------------------------------------------------------

const REAL_BODIES: readonly { source: string; body: Buffer; contentType: string }[] = [
  { source: 'demo-catalog', body: catalogHtml(CATALOG_CATEGORIES[0], 1), contentType: 'text/html' },
  { source: 'demo-rates', body: renderedRatesHtml(RATE_BOARDS[0]), contentType: 'text/html' },
  { source: 'demo-inventory', body: inventoryCsvBody('north'), contentType: 'text/csv' },
  { source: 'demo-shipments', body: shipmentsJson(1), contentType: 'application/json' },
  { source: 'demo-faults', body: faultPageHtml('ok-1', 'renders'), contentType: 'text/html' },
];

/** A collection in raw storage: a real body, cut short, or random bytes; and where it is kept. */
const collection = fc.record({
  real: fc.constantFrom(...REAL_BODIES),
  damage: fc.oneof(
    fc.constant(undefined),
    fc.nat().map((at) => ({ truncateAt: at })),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes })),
  ),
  jobKey: fc.oneof(
    fc.stringMatching(/^id-[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
    fc.constantFrom('id-job with space+plus', 'id-100%-sure', 'id-ünï-çødé', 'id-😀'),
  ),
  observedAt: fc.date({ min: new Date('2026-01-01'), max: new Date('2027-01-01'), noInvalidDate: true }),
});

type Collection = typeof collection extends fc.Arbitrary<infer T> ? T : never;

function bodyOf(c: Collection): Buffer {
  if (c.damage === undefined) return c.real.body;
  if ('truncateAt' in c.damage)
    return c.real.body.subarray(0, c.damage.truncateAt % (c.real.body.length + 1));
  return Buffer.from(c.damage.bytes);
}

// ---- What arrives on the queue ------------------------------------------------------------------

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));

/** A key in an event: an object that exists (as S3 encodes it), one that does not, or raw text. */
const keyChoice = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('manifest' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('body' as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('encoded' as const), key: anyText }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      key: fc.oneof(
        anyText,
        fc.constantFrom('raw/%', 'raw/%E0%A4%A', 'raw/%zz', 'raw/%ED%A0%80', 'raw/a+b%2Bc', '%2Fraw%2F'),
        fc.integer({ min: 1_000, max: 20_000 }).map((n) => `raw/${'k'.repeat(n)}`),
      ),
    }),
  },
);

const eventRecord = fc.record({
  key: keyChoice,
  eventName: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'ObjectCreated:Put',
        'ObjectCreated:CompleteMultipartUpload',
        'ObjectCreated:Replay',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('ObjectRemoved:Delete', 'ObjectCreated', 's3:TestEvent') },
    { weight: 1, arbitrary: anyText },
  ),
  eventSource: fc.constantFrom('aws:s3', 'sluice:replay', undefined, 'elsewhere'),
  bucket: fc.oneof(
    { weight: 6, arbitrary: fc.constant(RAW_BUCKET) },
    { weight: 1, arbitrary: fc.constantFrom('other-bucket', '') },
  ),
  extra: fc.option(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }), { nil: undefined }),
});

const notification = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      records: fc.array(eventRecord, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('event' as const), records: fc.constant([]) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'test-event' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: anyText }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('damaged' as const),
      records: fc.array(eventRecord, { minLength: 1, maxLength: 2 }),
      cut: fc.nat(),
    }),
  },
);

const scenario = fc.record({
  collections: fc.array(collection, { minLength: 1, maxLength: 4 }),
  rounds: fc.array(
    fc.array(fc.record({ notification, receiveCount: fc.integer({ min: 1, max: 5 }) }), {
      minLength: 1,
      maxLength: 10,
    }),
    { minLength: 1, maxLength: 3 },
  ),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
type Notification = Scenario['rounds'][number][number]['notification'];
type EventRecordInput = typeof eventRecord extends fc.Arbitrary<infer T> ? T : never;

interface Stored {
  readonly manifests: readonly string[];
  readonly bodies: readonly string[];
}

function eventKey(choice: EventRecordInput['key'], stored: Stored): string {
  switch (choice.kind) {
    case 'manifest':
      return encodeS3Key(stored.manifests[choice.index % stored.manifests.length] ?? 'raw/none');
    case 'body':
      return encodeS3Key(stored.bodies[choice.index % stored.bodies.length] ?? 'raw/none');
    case 'encoded':
      return encodeS3Key(choice.key);
    default:
      return choice.key;
  }
}

function bodyOfNotification(n: Notification, stored: Stored): string {
  const event = (records: readonly EventRecordInput[]) => ({
    Records: records.map((r) => ({
      eventVersion: '2.1',
      ...(r.eventSource === undefined ? {} : { eventSource: r.eventSource }),
      eventName: r.eventName,
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: r.bucket },
        object: { key: eventKey(r.key, stored), size: 10 },
      },
      ...r.extra,
    })),
  });
  switch (n.kind) {
    case 'event':
      return JSON.stringify(event(n.records));
    case 'test-event':
      return JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: RAW_BUCKET });
    case 'text':
      return n.text;
    case 'json':
      return JSON.stringify(n.value) ?? 'null';
    default: {
      const text = JSON.stringify(event(n.records));
      return text.slice(0, n.cut % text.length);
    }
  }
}

// ---- Ports --------------------------------------------------------------------------------------

class FuzzRawStore extends InMemoryRawStore implements RawStore {
  constructor(private readonly faults: Faults) {
    super();
  }
  override async get(key: string): Promise<StoredObject> {
    this.faults.next('s3');
    return super.get(key);
  }
}

class FuzzRecordStore extends InMemoryRecordStore implements RecordStore {
  constructor(private readonly faults: Faults) {
    super();
  }
  override async upsert(...args: Parameters<RecordStore['upsert']>) {
    this.faults.next('records');
    return super.upsert(...args);
  }
}

class FuzzLedger implements JobLedger {
  readonly entries: AttemptEntry[] = [];
  constructor(private readonly faults: Faults) {}
  async recordAttempt(entry: AttemptEntry): Promise<void> {
    this.faults.next('ledger');
    this.entries.push(entry);
  }
  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    return this.entries.filter((e) => e.jobKey === jobKey).map((e) => ({ ...e }));
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

class FuzzFreshness extends InMemoryFreshness {
  constructor(private readonly faults: Faults) {
    super();
  }
  override async markObserved(mark: FreshnessMark): Promise<MarkResult> {
    this.faults.next('freshness');
    return super.markObserved(mark);
  }
}

// ---- Running ------------------------------------------------------------------------------------

interface Message {
  readonly id: string;
  readonly body: string;
  readonly receiveCount: number;
}

async function prepare(input: Scenario, faultPattern: readonly boolean[]) {
  const faults = new Faults(faultPattern);
  const rawStore = new FuzzRawStore(faults);
  const manifests: string[] = [];
  const bodies: string[] = [];
  for (const [index, c] of input.collections.entries()) {
    const manifestKey = await storeCollection(rawStore, {
      source: c.real.source,
      body: bodyOf(c),
      contentType: c.real.contentType,
      observedAt: c.observedAt,
      fetchId: `20261127T080000000Z-${index}`,
      jobKey: c.jobKey,
    });
    manifests.push(manifestKey);
    bodies.push(manifestKey.replace(/manifest\.json$/, 'response.bin'));
  }
  return {
    stored: { manifests, bodies },
    ports: {
      rawStore,
      recordStore: new FuzzRecordStore(faults),
      ledger: new FuzzLedger(faults),
      desk: new FuzzDesk(faults),
      freshness: new FuzzFreshness(faults),
    },
  };
}

type Ports = Awaited<ReturnType<typeof prepare>>['ports'];

async function runBatch(messages: readonly Message[], ports: Ports, portsFail: boolean) {
  const sentBefore = contract.sent.length;
  const refusalsBefore = contract.refusals.length;
  const changesBefore = contract.visibilityChanges.length;
  contract.failNext = portsFail ? 1 : 0;
  const handler = createTransformHandler({
    ...ports,
    queues,
    findParser,
    findSource,
    followUpQueue: new MemoryFollowUpQueue(),
    rawBucketName: RAW_BUCKET,
    timeScale: 1,
    random: () => 0.5,
  });
  const records = messages.map((m) => sqsRecord(ROUTE.queueArn, { ...m, sentAt: Date.parse('2026-11-27') }));
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
    ports,
    deadLetters: contract.sent.slice(sentBefore),
    visibilityChanges: contract.visibilityChanges.slice(changesBefore),
    sqsRefusals: contract.refusals.slice(refusalsBefore),
  };
}

type Run = Awaited<ReturnType<typeof runBatch>>;

async function runScenario(input: Scenario, faultPattern: readonly boolean[]) {
  const { stored, ports } = await prepare(input, faultPattern);
  const runs: Run[] = [];
  let next = 0;
  let redelivered: Message[] = [];
  for (const round of input.rounds) {
    const fresh = round.map(
      (m, index): Message => ({
        id: `00000000-0000-4000-8000-${String(next + index + 1).padStart(12, '0')}`,
        body: sqsAcceptable(bodyOfNotification(m.notification, stored)),
        receiveCount: m.receiveCount,
      }),
    );
    next += round.length;
    const messages = [...redelivered, ...fresh].slice(0, 10);
    const run = await runBatch(messages, ports, faultPattern.some(Boolean));
    runs.push(run);
    const failed = new Set((run.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    redelivered = messages
      .filter((m) => failed.has(m.id))
      .map((m) => ({ ...m, receiveCount: m.receiveCount + 1 }));
  }
  return runs;
}

/** The raw-bucket manifests a body names, as S3 would: undefined when it is not a readable notification. */
function namedManifests(body: string): string[] | undefined {
  try {
    const parsed = S3Notification.safeParse(JSON.parse(body));
    if (!parsed.success) return undefined;
    return createdObjects(parsed.data)
      .filter((o) => o.bucket === RAW_BUCKET)
      .map((o) => o.key);
  } catch {
    return undefined;
  }
}

function unbacked(run: Run, id: string, line: LogLine): string | undefined {
  const manifestKey = typeof line.manifestKey === 'string' ? line.manifestKey : undefined;
  switch (line.outcome) {
    case 'transformed':
      return run.ports.ledger.entries.some(
        (e) => e.outcome === 'transformed' && e.manifestKey === manifestKey,
      )
        ? undefined
        : 'no transformed entry in the ledger';
    case 'handed-off':
      return run.ports.desk.tasks.some(
        (t) => t.stage === 'transform' && t.evidenceKeys.includes(manifestKey ?? ''),
      )
        ? undefined
        : 'no task names the manifest';
    case 'dead-lettered': {
      const letter = run.deadLetters.find((m) => m.attributes[DeadLetterAttribute.OriginalMessageId] === id);
      if (letter === undefined) return 'no dead letter';
      if (letter.body !== run.records.find((r) => r.messageId === id)?.body)
        return 'the dead letter lost the body';
      const reason = letter.attributes[DeadLetterAttribute.Reason] ?? '-';
      return reason === '-' ? 'the dead letter has no reason' : undefined;
    }
    case 'retrying':
      return run.visibilityChanges.some((c) => c.receiptHandle === `receipt-${id}`) ? undefined : 'no delay';
    case 'ignored':
      return (namedManifests(run.records.find((r) => r.messageId === id)?.body ?? '') ?? ['?']).length === 0
        ? undefined
        : 'ignored a message that names manifests';
    default:
      return `unknown outcome ${String(line.outcome)}`;
  }
}

function brokenPromises(run: Run, options: { readonly portsFail: boolean }): string[] {
  const problems = run.sqsRefusals.map((reason) => `SQS refused a request: ${reason}`);
  if (run.escaped !== undefined) return [...problems, `the handler threw: ${String(run.escaped)}`];
  const ids = new Set(run.records.map((r) => r.messageId));
  const failed = new Set((run.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  for (const id of failed)
    if (!ids.has(id)) problems.push(`the response names ${id}, which is not in the batch`);
  const outcomes = outcomesByMessage(run.lines);
  for (const record of run.records) {
    const id = record.messageId;
    const lines = outcomes.get(id) ?? [];
    for (const line of lines) {
      const why = unbacked(run, id, line);
      if (why !== undefined) problems.push(`${id} ${String(line.outcome)}: ${why}`);
    }
    const last = lines.at(-1);
    if (failed.has(id)) {
      if (last?.outcome !== 'retrying' && !options.portsFail)
        problems.push(`${id} failed without a retry (an unclassified error)`);
      continue;
    }
    if (lines.length === 0) {
      problems.push(`${id} was let go with no outcome: lost`);
      continue;
    }
    if (lines.some((l) => l.outcome === 'retrying')) problems.push(`${id} was retrying but let go: lost`);
    // Every manifest the message names has its own outcome, unless the whole message had one.
    const named = namedManifests(record.body);
    const perManifest = lines
      .filter((l) => typeof l.manifestKey === 'string')
      .map((l) => String(l.manifestKey));
    if (named !== undefined && named.length > 0 && lines.every((l) => typeof l.manifestKey === 'string')) {
      if (JSON.stringify([...perManifest].sort()) !== JSON.stringify([...named].sort()))
        problems.push(`${id} names ${named.length} manifests but ended ${perManifest.length}`);
    }
  }
  return problems;
}

describe('the transform handler, fuzzed', () => {
  it('ends every message of any batch accounted for, and a raw body never causes a retry or a dead letter', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        for (const run of await runScenario(input, [])) {
          expect(brokenPromises(run, { portsFail: false })).toEqual([]);
          for (const line of run.lines) {
            if (typeof line.outcome !== 'string') continue;
            seen.add(`${line.outcome}:${String(line.reason ?? '')}`);
            // What a parser makes of a body is a person's decision, never the queue's.
            if (['parse-failed', 'no-records', 'records-invalid'].includes(String(line.reason)))
              expect(line.outcome).toBe('handed-off');
          }
        }
      }),
      { seed: 20261127, numRuns: 200 },
    );

    const outcomes = new Set([...seen].map((s) => s.split(':')[0]));
    expect([...outcomes].sort()).toEqual([
      'dead-lettered',
      'handed-off',
      'ignored',
      'retrying',
      'transformed',
    ]);
    for (const reason of ['message-not-json', 'message-invalid', 'manifest-invalid', 'retries-exhausted']) {
      expect(seen, reason).toContain(`dead-lettered:${reason}`);
    }
    for (const reason of ['parse-failed', 'no-records', 'records-invalid']) {
      expect(seen, reason).toContain(`handed-off:${reason}`);
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
