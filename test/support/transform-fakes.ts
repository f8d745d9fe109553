/**
 * In-memory fakes of Sluice's own ports, for unit tests of the transform and replay cores. The
 * record store applies the real upsert rules (core/record-upsert.ts), so a fake write behaves
 * like a conditional write.
 */
import { createHash } from 'node:crypto';
import type { HandoffDesk, HandoffResult, HandoffTask } from '../../functions/adapters/handoff-desk.js';
import type { DeadLetterNote, WorkQueues } from '../../functions/adapters/work-queues.js';
import type { RawManifest, RecordItem } from '../../functions/core/contracts.js';
import type {
  AttemptEntry,
  FreshnessMark,
  JobLedger,
  MarkResult,
  PutResult,
  RawStore,
  RecordStore,
  SourceFreshness,
  StoredObject,
  UpsertOptions,
} from '../../functions/core/ports.js';
import { fetchPrefix, MANIFEST_NAME } from '../../functions/core/raw-layout.js';
import {
  applyUpsert,
  type Observation,
  type RecordState,
  recordKey,
  type UpsertOutcome,
} from '../../functions/core/record-upsert.js';
import { recordStateOf } from '../../functions/core/transform-manifest.js';

export class InMemoryRawStore implements RawStore {
  readonly objects = new Map<string, StoredObject>();

  async put(
    key: string,
    body: Buffer,
    options: { contentType: string; metadata: { [key: string]: string } },
  ): Promise<PutResult> {
    if (this.objects.has(key)) throw new Error(`raw object already exists: ${key}`);
    this.objects.set(key, { body, contentType: options.contentType, metadata: options.metadata });
    return { size: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') };
  }

  async get(key: string): Promise<StoredObject> {
    const object = this.objects.get(key);
    if (object === undefined) throw Object.assign(new Error(`no such key ${key}`), { name: 'NoSuchKey' });
    return object;
  }
}

export class InMemoryRecordStore implements RecordStore {
  readonly items = new Map<string, RecordItem>();
  readonly upserts: { readonly observation: Observation; readonly options: UpsertOptions }[] = [];

  async upsert(observation: Observation, options: UpsertOptions = {}): Promise<UpsertOutcome> {
    this.upserts.push({ observation, options });
    const pk = recordKey(observation.source, observation.entityId);
    const stored = this.items.get(pk);
    const { decision, state } = applyUpsert(
      stored === undefined ? undefined : recordStateOf(stored),
      observation,
    );
    if (state !== undefined) this.items.set(pk, itemOf(pk, observation, state));
    return decision.outcome;
  }

  async get(pk: string): Promise<RecordItem | undefined> {
    return this.items.get(pk);
  }
}

function itemOf(pk: string, observation: Observation, state: RecordState): RecordItem {
  return {
    pk,
    source: observation.source,
    entityId: observation.entityId,
    data: { ...state.data },
    observedAt: state.current.observedAt,
    observationId: state.current.observationId,
    parserRevision: state.current.parserRevision,
    contentHash: state.contentHash,
    rawKey: state.rawKey,
    traceId: state.traceId,
    version: state.version,
    firstSeenAt: state.firstSeenAt,
    lastSeenAt: state.lastSeen.observedAt,
    lastObservationId: state.lastSeen.observationId,
    lastParserRevision: state.lastSeen.parserRevision,
  };
}

export class RecordingLedger implements JobLedger {
  readonly entries: AttemptEntry[] = [];
  async recordAttempt(entry: AttemptEntry): Promise<void> {
    this.entries.push(entry);
  }
  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    return this.entries.filter((e) => e.jobKey === jobKey).map((e) => ({ ...e }));
  }
}

export class RecordingQueues implements WorkQueues {
  readonly deadLetters: { readonly body: string; readonly note: DeadLetterNote }[] = [];
  readonly delays: { readonly receiptHandle: string; readonly seconds: number }[] = [];
  async deadLetter(_fromQueueArn: string, body: string, note: DeadLetterNote): Promise<void> {
    this.deadLetters.push({ body, note });
  }
  async delay(_fromQueueArn: string, receiptHandle: string, seconds: number): Promise<void> {
    this.delays.push({ receiptHandle, seconds });
  }
}

export class RecordingDesk implements HandoffDesk {
  readonly tasks: HandoffTask[] = [];
  async open(task: HandoffTask): Promise<HandoffResult> {
    this.tasks.push(task);
    return 'opened';
  }
}

export interface CollectionFixture {
  readonly source: string;
  /** Text is stored as UTF-8; bytes as they are. */
  readonly body: string | Buffer;
  readonly contentType: string;
  readonly observedAt: Date;
  readonly fetchId: string;
  readonly jobKey: string;
  readonly artifactName?: string;
}

/** Writes a raw body and its manifest the way a collector does; returns the manifest key. */
export async function storeCollection(rawStore: RawStore, fixture: CollectionFixture): Promise<string> {
  const prefix = fetchPrefix(fixture.source, fixture.observedAt, fixture.jobKey, fixture.fetchId);
  const name = fixture.artifactName ?? 'response.bin';
  const body = typeof fixture.body === 'string' ? Buffer.from(fixture.body, 'utf8') : fixture.body;
  const stored = await rawStore.put(`${prefix}${name}`, body, {
    contentType: fixture.contentType,
    metadata: {},
  });
  const traceId = `trace-${fixture.fetchId.replace(/[^A-Za-z0-9-]/g, '')}`.slice(0, 64);
  const manifest: RawManifest = {
    manifestVersion: 1,
    source: fixture.source,
    jobKey: fixture.jobKey,
    fetchId: fixture.fetchId,
    traceId,
    job: { source: fixture.source, input: {}, priority: 'normal' },
    attempt: 1,
    collector: 'http',
    request: { url: 'https://example.test/data', method: 'GET' },
    response: { status: 200, finalUrl: 'https://example.test/data', contentType: fixture.contentType },
    observedAt: fixture.observedAt.toISOString(),
    timings: {
      startedAt: fixture.observedAt.toISOString(),
      finishedAt: fixture.observedAt.toISOString(),
      durationMs: 1,
    },
    artifacts: [
      {
        name,
        key: `${prefix}${name}`,
        role: 'body',
        contentType: fixture.contentType,
        size: stored.size,
        sha256: stored.sha256,
      },
    ],
    primaryArtifact: name,
    branches: ['http-get'],
  };
  const manifestKey = `${prefix}${MANIFEST_NAME}`;
  await rawStore.put(manifestKey, Buffer.from(JSON.stringify(manifest)), {
    contentType: 'application/json',
    metadata: {},
  });
  return manifestKey;
}

/** Freshness marks kept in memory, moved forward only, as the DynamoDB adapter does. */
export class InMemoryFreshness implements SourceFreshness {
  readonly marks = new Map<string, FreshnessMark>();

  async markObserved(mark: FreshnessMark): Promise<MarkResult> {
    const current = this.marks.get(mark.source);
    if (current !== undefined && current.newestObservedAt >= mark.newestObservedAt) return 'not-newer';
    this.marks.set(mark.source, mark);
    return 'advanced';
  }

  async newest(sources: readonly string[]): Promise<Map<string, FreshnessMark>> {
    return new Map(
      sources.flatMap((source) => {
        const mark = this.marks.get(source);
        return mark === undefined ? [] : [[source, mark] as const];
      }),
    );
  }

  readonly tracked = new Map<string, Date>();

  async trackedSince(sources: readonly string[], at: Date): Promise<Map<string, Date>> {
    for (const source of sources) if (!this.tracked.has(source)) this.tracked.set(source, at);
    return new Map(sources.map((source) => [source, this.tracked.get(source) ?? at] as const));
  }
}
