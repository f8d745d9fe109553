/**
 * The ports of the core: every collaborator a use case needs from the outside world, declared
 * here and implemented in `functions/adapters/` (S3, DynamoDB, SQS, files), or by in-memory fakes
 * in unit tests. Nothing in `functions/core/` imports an adapter or the AWS SDK (biome.json).
 */
import type { FollowUpOf, RecordItem } from './contracts.js';
import type { PlannedFollowUp, RefusedFollowUp } from './follow-ups.js';
import type { RecordChangedDetail } from './record-changes.js';
import type { Observation, UpsertOutcome } from './record-upsert.js';
import type { ReplayRange } from './replay.js';

// Raw storage

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly metadata: { readonly [key: string]: string };
}

export interface PutResult {
  readonly size: number;
  readonly sha256: string;
}

/** Append-only storage for raw responses, snapshots and manifests. */
export interface RawStore {
  /**
   * Writes a new object; refuses to overwrite an existing key. Writing the same bytes to the same
   * key again succeeds (a retried write whose first try was stored), so a put can be retried.
   */
  put(
    key: string,
    body: Buffer,
    options: { contentType: string; metadata: { [key: string]: string } },
  ): Promise<PutResult>;
  get(key: string): Promise<StoredObject>;
}

/** Lists raw keys under a prefix in S3's order (UTF-8 binary), in pages, after `startAfter`. */
export interface RawCatalog {
  listKeys(prefix: string, startAfter?: string): AsyncIterable<readonly string[]>;
}

// Records

export interface UpsertOptions {
  /** The write to try first; the other follows only if the stored record says so. @default 'touch' */
  readonly firstAttempt?: 'data' | 'touch';
}

export interface RecordStore {
  upsert(observation: Observation, options?: UpsertOptions): Promise<UpsertOutcome>;
  /** The stored record, validated against the contract; undefined when there is none. */
  get(pk: string): Promise<RecordItem | undefined>;
}

// Job ledger and claims

export type AttemptOutcome =
  | 'collected'
  | 'retrying'
  | 'dead-lettered'
  | 'handed-off'
  | 'transformed'
  /** A delivery of a job already collected inside its dedupe window: nothing was fetched. */
  | 'duplicate'
  /** A delivery that arrived while another was collecting the same job: it waits and comes back. */
  | 'deferred'
  /** A scheduled run that started its jobs (its follow-ups): nothing of its own to transform. */
  | 'scheduled';

export interface AttemptEntry {
  readonly jobKey: string;
  readonly source: string | undefined;
  readonly traceId: string;
  /** The SQS receive count of the message this attempt processed. */
  readonly attempt: number;
  /** Which stage made the attempt. */
  readonly stage: 'collect' | 'transform';
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly outcome: AttemptOutcome;
  readonly errorClass?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly manifestKey?: string;
  readonly artifactKeys?: readonly string[];
  /** Snapshot keys (rendered DOM, screenshot, console, error response) stored for a failure. */
  readonly snapshotKeys?: readonly string[];
  /** Seconds until the next attempt, when one was scheduled (already time-scaled locally). */
  readonly retryInSeconds?: number;
  /** The Retry-After the source sent and Sluice honoured, in seconds. */
  readonly retryAfterSeconds?: number;
  /** Stage-specific figures, e.g. records written by a transform. */
  readonly counts?: { readonly [name: string]: number };
  /**
   * With a `collected` or `scheduled` collect attempt only: the owner whose claim on the job this
   * write also gives up, if that owner still holds it — one write instead of the record and a release.
   */
  readonly releasesClaimOf?: string;
  /** Where the job came from, when it is a follow-up: kept on the job's summary. */
  readonly followUpOf?: FollowUpOf;
  /** The follow-up jobs this attempt enqueued (children of the job in `sluice job`). */
  readonly followUps?: readonly { readonly jobKey: string; readonly source: string }[];
  /** Follow-ups this attempt asked for and may not have, with why. */
  readonly followUpsRefused?: readonly RefusedFollowUp[];
}

export interface JobLedger {
  recordAttempt(entry: AttemptEntry): Promise<void>;
  history(jobKey: string): Promise<{ [key: string]: unknown }[]>;
}

export interface ClaimRequest {
  readonly jobKey: string;
  readonly source: string;
  readonly traceId: string;
  /** Who claims: unique per delivery, so a claim that meets this owner met its own write. */
  readonly owner: string;
  readonly now: Date;
  /** When the claim lapses by itself: no earlier than the claiming invocation can still run. */
  readonly leaseUntil: Date;
  /** A collection finished at or after this time makes this delivery a duplicate. */
  readonly collectedSince: Date;
}

export type ClaimResult =
  | {
      readonly status: 'claimed';
      /**
       * True when an earlier delivery claimed the job (and recorded no collection inside the
       * window): it failed, or it died — possibly after storing a collection. Also true when that
       * cannot be told (a retried claim that met its own first write).
       */
      readonly previouslyClaimed: boolean;
    }
  | { readonly status: 'already-collected'; readonly collectedAt: Date; readonly manifestKey?: string }
  | { readonly status: 'held-elsewhere'; readonly until: Date; readonly owner: string };

/**
 * Collection claims: a conditional write on the job's summary item, so two deliveries of one job
 * never collect at once, and a delivery of a job collected inside its dedupe window collects
 * nothing.
 */
export interface JobClaims {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Gives the claim up, if `owner` still holds it. */
  release(jobKey: string, owner: string): Promise<void>;
}

// Follow-up jobs

/**
 * Sends follow-up jobs to their sources' jobs queues. Throws unless every one was accepted; a
 * retry sends them all again (their keys make the second copy of each a duplicate delivery).
 */
export interface FollowUpQueue {
  enqueue(followUps: readonly PlannedFollowUp[]): Promise<void>;
}

// The change feed

/**
 * Publishes RecordChanged events to the change feed's bus, in the order given, at most 10 at a
 * time. Resolves with the index of the first event the bus did not accept (everything before it
 * was), or undefined when it accepted all.
 */
export interface ChangePublisher {
  publish(details: readonly RecordChangedDetail[]): Promise<number | undefined>;
}

// Source freshness

export interface FreshnessMark {
  readonly source: string;
  /** Observation time of the newest fetch whose records were written (or confirmed unchanged). */
  readonly newestObservedAt: Date;
  readonly newestTraceId: string;
  readonly newestJobKey: string;
  /** When the mark last moved. */
  readonly updatedAt: Date;
}

export type MarkResult = 'advanced' | 'not-newer';

export interface SourceFreshness {
  /** Moves the source's mark forward; an observation older than the mark changes nothing. */
  markObserved(mark: FreshnessMark): Promise<MarkResult>;
  /** The marks of `sources`; a source that never produced records has none. */
  newest(sources: readonly string[]): Promise<Map<string, FreshnessMark>>;
  /**
   * When Sluice started tracking each of `sources`: the first call that named it, which records
   * `at` for a source seen for the first time. Data age counts from it until records arrive
   * (functions/core/freshness.ts).
   */
  trackedSince(sources: readonly string[], at: Date): Promise<Map<string, Date>>;
}

// Replay

/** Sends manifests to the transform queue, at most 10 per call; throws unless all were accepted. */
export interface TransformQueueSender {
  send(manifestKeys: readonly string[]): Promise<void>;
}

export interface DayProgress {
  /** The last manifest key sent for the day, in listing order. */
  readonly lastKey?: string;
  readonly sent: number;
  readonly done: boolean;
}

export interface ReplayCheckpoint extends ReplayRange {
  readonly days: { readonly [day: string]: DayProgress };
}

export interface ReplayCheckpointStore {
  load(id: string): Promise<ReplayCheckpoint | undefined>;
  save(id: string, checkpoint: ReplayCheckpoint): Promise<void>;
  clear(id: string): Promise<void>;
}
