/**
 * The transform's core: a manifest key in, validated records conditionally upserted out.
 * Touches nothing but raw storage and the records table (DESIGN.md decision 1).
 *
 * Two modes share every step up to the write: `transformManifest` applies the upsert rules
 * through the record store; `planManifest` (replay's dry run) applies the same rules to the
 * records as they are and reports what would change, writing nothing.
 */
import { createHash } from 'node:crypto';
import type { FollowUpRequest, SourceParser } from '../../sources/define.js';
import { RawManifest, type RecordItem } from './contracts.js';
import { HandoffRequiredError, PermanentError, TransientError } from './errors.js';
import type { RawStore, RecordStore } from './ports.js';
import {
  applyUpsert,
  contentHashOf,
  diffData,
  type FieldChange,
  type Observation,
  type RecordState,
  recordKey,
  type UpsertDecision,
  type UpsertOutcome,
} from './record-upsert.js';

export { contentHashOf } from './record-upsert.js';

/** What reading a raw object needs: the raw store and the parsers. */
export interface TransformReadDeps {
  readonly rawStore: RawStore;
  readonly findParser: (source: string) => SourceParser | undefined;
}

export interface TransformDeps extends TransformReadDeps {
  readonly recordStore: RecordStore;
  /** Conditional writes in flight at once for one raw object. @default 8 */
  readonly writeConcurrency?: number;
  /**
   * The write each source's records needed last, kept across the manifests one transform
   * container handles. @default - a new one per call: every manifest starts with a touch
   */
  readonly recentWrites?: RecentWrites;
  /**
   * True once the writes must stop for the function to end in time (the handler asks Lambda for
   * its remaining time). Checked before each group of writes: a manifest too large for what is
   * left of the invocation fails as a retryable `transform-deadline` with its own reason, instead
   * of timing out and taking the other manifests of its batch with it. @default - never
   */
  readonly outOfTime?: () => boolean;
}

/**
 * Which write (`data` or `touch`) the records of each source needed last: the first guess for the
 * next manifest of that source. A source goes through phases — a first load or a replay after a
 * rule change writes data for every record, a routine re-collection touches every record — and a
 * manifest usually belongs to the phase its predecessor did. A guess decides only which of the two
 * conditional writes is tried first, never what is written (see DynamoRecordStore), so a wrong or
 * stale guess costs one failed conditional write per record of the first batch, nothing more.
 */
export class RecentWrites {
  private readonly bySource = new Map<string, 'data' | 'touch'>();

  /** The write to try first for `source`: the one its records needed last, else a touch. */
  firstGuess(source: string): 'data' | 'touch' {
    return this.bySource.get(source) ?? 'touch';
  }

  remember(source: string, write: 'data' | 'touch'): void {
    this.bySource.set(source, write);
  }
}

export type RecordCounts = { [outcome in UpsertOutcome]: number };

export interface TransformResult {
  readonly manifest: RawManifest;
  readonly counts: RecordCounts;
  /** The follow-ups the parser read in the raw body (not yet checked against any bound). */
  readonly followUps: readonly FollowUpRequest[];
}

/** Parsers without a declared revision are at revision 1. */
export const DEFAULT_PARSER_REVISION = 1;

/**
 * The parser's output cannot be trusted (it failed, found no records, or records fail their
 * schema). Nothing is written; a person decides whether the source changed or the rules must,
 * with the raw key and the issues to hand.
 */
export class InvalidOutputError extends HandoffRequiredError {
  readonly rawKey: string;
  readonly issues: readonly string[];
  constructor(
    message: string,
    options: {
      reason: 'no-records' | 'records-invalid' | 'parse-failed';
      rawKey: string;
      issues: readonly string[];
      cause?: unknown;
    },
  ) {
    super(message, { reason: options.reason, cause: options.cause });
    this.rawKey = options.rawKey;
    this.issues = options.issues;
  }
}

export async function loadManifest(rawStore: RawStore, manifestKey: string): Promise<RawManifest> {
  const object = await rawStore.get(manifestKey);
  let json: unknown;
  try {
    json = JSON.parse(object.body.toString('utf8'));
  } catch (cause) {
    throw new PermanentError(`manifest ${manifestKey} is not JSON`, { reason: 'manifest-invalid', cause });
  }
  const parsed = RawManifest.safeParse(json);
  if (!parsed.success) {
    throw new PermanentError(`manifest ${manifestKey} is not a RawManifest: ${parsed.error.message}`, {
      reason: 'manifest-invalid',
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export interface ManifestObservations {
  readonly manifest: RawManifest;
  /** The raw object the records were parsed from. */
  readonly rawKey: string;
  readonly observations: readonly Observation[];
  /** The follow-ups the parser read in the raw body; none when it reads none. */
  readonly followUps: readonly FollowUpRequest[];
}

/** Validation issues are listed in full on the error; the message carries the first few. */
const ISSUES_IN_MESSAGE = 5;

/**
 * Loads a manifest and its primary artifact, parses it and validates every record against the
 * source's schema. Throws InvalidOutputError when any record fails, so nothing is ever written
 * from a raw object whose output cannot be trusted as a whole.
 */
export async function readObservations(
  manifestKey: string,
  deps: TransformReadDeps,
): Promise<ManifestObservations> {
  const manifest = await loadManifest(deps.rawStore, manifestKey);
  const parser = deps.findParser(manifest.source);
  if (parser === undefined) {
    throw new PermanentError(`no parser is registered for source ${manifest.source}`, {
      reason: 'unknown-source',
    });
  }
  const primary = manifest.artifacts.find((a) => a.name === manifest.primaryArtifact);
  if (primary === undefined) {
    throw new PermanentError(`manifest names no artifact ${manifest.primaryArtifact}`, {
      reason: 'manifest-invalid',
    });
  }
  const raw = await deps.rawStore.get(primary.key);
  const sha256 = createHash('sha256').update(raw.body).digest('hex');
  if (sha256 !== primary.sha256) {
    throw new PermanentError(`raw object ${primary.key} does not match its manifest checksum`, {
      reason: 'raw-checksum-mismatch',
    });
  }

  let candidates: ReturnType<SourceParser['parse']>;
  let followUps: FollowUpRequest[] = [];
  try {
    const context = {
      finalUrl: manifest.response.finalUrl,
      contentType: manifest.response.contentType,
      input: manifest.job.input,
    };
    candidates = parser.parse(raw.body, context);
    followUps = parser.followUps?.(raw.body, context) ?? [];
  } catch (cause) {
    // The bytes are what the source sent; a parser that cannot read them will not on a retry.
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidOutputError(`parser for ${manifest.source} could not read ${primary.key}: ${detail}`, {
      reason: 'parse-failed',
      rawKey: primary.key,
      issues: [detail],
      cause,
    });
  }
  // An empty result is how a changed page usually shows itself: never let it pass silently.
  if (candidates.length === 0) {
    throw new InvalidOutputError(`parser for ${manifest.source} found no records in ${primary.key}`, {
      reason: 'no-records',
      rawKey: primary.key,
      issues: ['no records'],
    });
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const valid = candidates.flatMap((candidate, index) => {
    if (seen.has(candidate.entityId)) {
      problems.push(`#${index} (${candidate.entityId}): the same entity appears twice in one observation`);
      return [];
    }
    seen.add(candidate.entityId);
    const result = parser.record.safeParse(candidate.data);
    if (result.success && candidate.entityId !== '')
      return [{ entityId: candidate.entityId, data: result.data }];
    const issues = result.success
      ? 'entityId is empty'
      : result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    problems.push(`#${index} (${candidate.entityId || 'no id'}): ${issues}`);
    return [];
  });
  if (problems.length > 0) {
    throw new InvalidOutputError(
      `${problems.length} of ${candidates.length} records from ${primary.key} failed validation: ${problems.slice(0, ISSUES_IN_MESSAGE).join(' | ')}`,
      { reason: 'records-invalid', rawKey: primary.key, issues: problems },
    );
  }

  const observedAt = new Date(manifest.observedAt);
  const parserRevision = parser.revision ?? DEFAULT_PARSER_REVISION;
  return {
    manifest,
    rawKey: primary.key,
    followUps,
    observations: valid.map((record) => ({
      source: manifest.source,
      entityId: record.entityId,
      data: record.data,
      contentHash: contentHashOf(record.data),
      observedAt,
      observationId: manifest.fetchId,
      parserRevision,
      rawKey: primary.key,
      traceId: manifest.traceId,
    })),
  };
}

export function emptyCounts(): RecordCounts {
  return { created: 0, updated: 0, unchanged: 0, stale: 0 };
}

export async function transformManifest(manifestKey: string, deps: TransformDeps): Promise<TransformResult> {
  const { manifest, observations, followUps } = await readObservations(manifestKey, deps);
  const counts = emptyCounts();
  const concurrency = deps.writeConcurrency ?? 8;
  const recent = deps.recentWrites ?? new RecentWrites();
  // Records of one raw object tend to share a fate (a first load creates them all, a routine
  // re-collection leaves them all unchanged), so the write that the last record needed is the
  // best guess for the next: one round trip per record in a homogeneous batch. The first batch
  // starts from what the source's previous manifest ended with.
  let firstAttempt = recent.firstGuess(manifest.source);
  for (let start = 0; start < observations.length; start += concurrency) {
    if (deps.outOfTime?.() === true) {
      throw new TransientError(
        `the function's time ran out after ${start} of ${observations.length} records of ${manifestKey}; ` +
          'the records written stay written, and the next delivery writes every record again (conditionally)',
        { reason: 'transform-deadline' },
      );
    }
    const batch = observations.slice(start, start + concurrency);
    const guess = firstAttempt;
    const outcomes = await Promise.all(
      batch.map((observation) => deps.recordStore.upsert(observation, { firstAttempt: guess })),
    );
    for (const outcome of outcomes) {
      counts[outcome] += 1;
      if (outcome === 'created' || outcome === 'updated') firstAttempt = 'data';
      else if (outcome === 'unchanged') firstAttempt = 'touch';
    }
    recent.remember(manifest.source, firstAttempt);
  }
  return { manifest, counts, followUps };
}

/** The state the upsert rules work on, from a stored record. */
export function recordStateOf(item: RecordItem): RecordState {
  return {
    data: item.data,
    contentHash: item.contentHash,
    current: {
      observedAt: item.observedAt,
      observationId: item.observationId,
      parserRevision: item.parserRevision,
    },
    lastSeen: {
      observedAt: item.lastSeenAt,
      observationId: item.lastObservationId,
      parserRevision: item.lastParserRevision,
    },
    rawKey: item.rawKey,
    traceId: item.traceId,
    version: item.version,
    firstSeenAt: item.firstSeenAt,
  };
}

/** Where a plan reads records from and keeps its own hypothetical writes (nothing reaches the table). */
export interface PlanningRecords {
  current(pk: string): Promise<RecordState | undefined>;
  assume(pk: string, state: RecordState | undefined): void;
}

export interface PlannedRecord {
  readonly pk: string;
  readonly decision: UpsertDecision;
  /** For `updated`: what would change in the data. */
  readonly changes: readonly FieldChange[];
}

export interface ManifestPlan {
  readonly manifest: RawManifest;
  readonly rawKey: string;
  readonly records: readonly PlannedRecord[];
  readonly counts: RecordCounts;
}

/** What `transformManifest` would do to the records, without writing anything. */
export async function planManifest(
  manifestKey: string,
  deps: TransformReadDeps & { readonly records: PlanningRecords },
): Promise<ManifestPlan> {
  const { manifest, rawKey, observations } = await readObservations(manifestKey, deps);
  const counts = emptyCounts();
  const records: PlannedRecord[] = [];
  for (const observation of observations) {
    const pk = recordKey(observation.source, observation.entityId);
    const before = await deps.records.current(pk);
    const { decision, state } = applyUpsert(before, observation);
    deps.records.assume(pk, state);
    counts[decision.outcome] += 1;
    records.push({
      pk,
      decision,
      changes: decision.outcome === 'updated' ? diffData(before?.data, observation.data) : [],
    });
  }
  return { manifest, rawKey, records, counts };
}
