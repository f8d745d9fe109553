/**
 * The collector's core: one SQS message in, artifacts and a manifest in raw storage out, every
 * attempt in the ledger. Free of AWS and of the fetch mechanism; both come in as collaborators.
 *
 * Before it fetches anything, a delivery claims its job (DESIGN.md decision 3): a job collected
 * inside its dedupe window is a duplicate and fetches nothing; a job another delivery is
 * collecting right now makes this one wait until that claim lapses, then look again.
 */
import { MAX_SCHEDULED_INPUTS, type SourceDefinition } from '../../sources/define.js';
import { type ClassifiedError, classifyFailure, evidenceOf } from './classify-failure.js';
import type { CollectedArtifact, Collection, CollectRequest } from './collection.js';
import { CollectJob, RawManifest, ScheduledRun } from './contracts.js';
import { failureClassOf, PermanentError, TransientError } from './errors.js';
import {
  EMPTY_PLAN,
  type FollowUpPlan,
  followUpJob,
  ledgerFollowUps,
  type PlannedFollowUp,
  planFollowUps,
} from './follow-ups.js';
import { canonicalJson, deriveJobKey, jobKeyFromJobId, scheduledRunKey } from './job-key.js';
import type {
  AttemptEntry,
  AttemptOutcome,
  FollowUpQueue,
  JobClaims,
  JobLedger,
  RawCatalog,
  RawStore,
} from './ports.js';
import {
  fetchIdTime,
  fetchPrefix,
  jobDayPrefix,
  MANIFEST_NAME,
  newFetchId,
  parseRawKey,
} from './raw-layout.js';
import { attemptsAllowed, MAX_VISIBILITY_SECONDS, type NextStep, nextStepWithin } from './retry-policy.js';
import { traceIdForMessage } from './trace-id.js';
import { jsonHazardIn } from './untrusted-json.js';

/** SQS caps a message at 256 KiB; a job needs a tiny fraction of that. */
export const MAX_JOB_MESSAGE_BYTES = 64 * 1024;

/**
 * How far a job's requestedAt may lie after the message's SQS sent time: the clock skew AWS's own
 * SigV4 tolerates, so a sender whose message SQS accepted is within it. Further is not a clock.
 */
export const MAX_REQUESTED_AT_LEAD_MS = 5 * 60_000;

export interface JobMessage {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** SentTimestamp: stable across redeliveries, so it anchors the dedupe window. */
  readonly sentAt: Date;
  /**
   * Unique to this delivery of the message (the Lambda request ID): two deliveries of one message
   * can share a receive count, and a claim must tell them apart.
   */
  readonly deliveryId: string;
  /**
   * The source whose jobs queue delivered the message. The queue decides whose job it is: a body
   * naming another source is refused (`wrong-queue`), never collected under this queue's budget.
   * @default - not known (a test or a queue that is not a source's)
   */
  readonly queueSource?: string;
}

export interface JobIdentity {
  readonly jobKey: string;
  readonly traceId: string;
  /**
   * The source the job belongs to: the one its body names, or, for a body that names no known
   * source, the source of the queue it came from. Undefined only when neither is known.
   */
  readonly source: string | undefined;
}

export type CollectOutcome =
  | {
      readonly status: 'collected';
      readonly identity: JobIdentity;
      readonly manifestKey: string;
      readonly artifactKeys: readonly string[];
      readonly durationMs: number;
      /**
       * True when this delivery fetched nothing: an earlier one stored the collection and died
       * before recording it, and this one found it in raw storage and recorded it.
       */
      readonly recovered?: boolean;
      /** The follow-ups the collector asked for from what it saw: enqueued, and refused. */
      readonly followUps: FollowUpPlan;
    }
  | {
      /** A scheduled run: it enqueued the jobs its source's schedule names for its time. */
      readonly status: 'scheduled';
      readonly identity: JobIdentity;
      readonly scheduledAt: Date;
      readonly followUps: FollowUpPlan;
      readonly durationMs: number;
    }
  | {
      readonly status: 'failed';
      readonly identity: JobIdentity;
      readonly error: ClassifiedError;
      readonly next: NextStep;
      /** Snapshot keys stored for this failure, for whoever looks into it. */
      readonly evidenceKeys: readonly string[];
      readonly durationMs: number;
    }
  | {
      /** The job was collected inside its dedupe window already: the message can go. */
      readonly status: 'duplicate';
      readonly identity: JobIdentity;
      readonly collectedAt: Date;
      /** The manifest of the collection this delivery duplicates, when the ledger knows it. */
      readonly manifestKey?: string;
      readonly durationMs: number;
    }
  | {
      /** Another delivery is collecting the job: look again once its claim has lapsed. */
      readonly status: 'deferred';
      readonly identity: JobIdentity;
      readonly delaySeconds: number;
      readonly durationMs: number;
    };

export interface CollectJobDeps {
  readonly findSource: (name: string) => SourceDefinition | undefined;
  readonly collect: (source: SourceDefinition, request: CollectRequest) => Promise<Collection>;
  readonly rawStore: RawStore;
  /** Lists raw storage: where a delivery looks for a collection an earlier one stored but never recorded. */
  readonly catalog: RawCatalog;
  readonly ledger: JobLedger;
  readonly claims: JobClaims;
  /** Where follow-up jobs (and a scheduled run's jobs) are sent. */
  readonly followUpQueue: FollowUpQueue;
  /**
   * When a claim made now lapses by itself: no earlier than this invocation could still be
   * running (Lambda's remaining time), so no second delivery collects while this one might.
   */
  readonly leaseUntil: () => Date;
  readonly clock: () => Date;
  readonly fetchIdFor?: (observedAt: Date) => string;
  /** Local runs scale retry delays down (see DEFAULT_TIME_SCALE); 1 in AWS. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1), for retry jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * A delivery past the budget's attempts that found no stored collection: earlier deliveries
 * stopped without reporting (crashed, timed out). Transient, so nextStepFor dead-letters it
 * with `retries-exhausted` — instead of fetching past the budget, or leaving the message for
 * SQS to redrive without a reason.
 */
export class UnreportedAttemptsError extends TransientError {
  constructor(receiveCount: number, attempts: number) {
    super(
      `delivered ${receiveCount} times, past the ${attempts} attempts its budget allows, and no stored ` +
        'collection was found: earlier deliveries stopped without reporting (a crash or a timeout); nothing fetched',
      { reason: 'unreported-attempts' },
    );
  }
}

/** Decides what happens to a failed job: retry within its source's budget, dead-letter, or hand off. */
export function nextStepFor(
  error: ClassifiedError,
  source: SourceDefinition | undefined,
  attempt: number,
  options: { readonly timeScale?: number; readonly random?: () => number } = {},
): NextStep {
  return nextStepWithin(source?.retry, error, attempt, options);
}

type ParsedJob =
  | {
      readonly kind: 'job';
      readonly job: CollectJob;
      readonly source: SourceDefinition;
      readonly input: unknown;
      readonly identity: JobIdentity;
    }
  | {
      /** A source's schedule fired: its jobs for `scheduledAt` are to be started. */
      readonly kind: 'run';
      readonly source: SourceDefinition;
      readonly scheduledAt: Date;
      readonly identity: JobIdentity;
    };

/** A scheduled run's body, when the message is one (it names no input, so it is no CollectJob). */
function parseScheduledRun(
  json: unknown,
  message: JobMessage,
  findSource: (name: string) => SourceDefinition | undefined,
  fallback: JobIdentity,
): { ok: true; value: ParsedJob } | { ok: false; identity: JobIdentity; error: PermanentError } | undefined {
  const parsed = ScheduledRun.safeParse(json);
  if (!parsed.success) return undefined;
  const scheduledAt = new Date(parsed.data.scheduledRun.scheduledAt);
  const jobKey = scheduledRunKey(parsed.data.source, scheduledAt);
  // Every firing for one time shares the run's key and trace ID.
  const identity: JobIdentity = { jobKey, traceId: traceIdForMessage(jobKey), source: undefined };
  const fail = (reason: string, text: string, at: JobIdentity = identity) => ({
    ok: false as const,
    identity: at,
    error: new PermanentError(text, { reason }),
  });
  const hazard = jsonHazardIn(json);
  if (hazard !== undefined) return fail('message-invalid', `scheduled run refused: ${hazard}`, fallback);
  const source = findSource(parsed.data.source);
  if (source === undefined)
    return fail('unknown-source', `unknown source ${JSON.stringify(parsed.data.source)}`);
  if (message.queueSource !== undefined && message.queueSource !== source.name) {
    return fail(
      'wrong-queue',
      `a scheduled run of ${source.name} arrived on the jobs queue of ${message.queueSource}`,
      { ...identity, source: message.queueSource },
    );
  }
  if (source.schedule === undefined) {
    return fail('message-invalid', `${source.name} has no schedule, so it takes no scheduled run`, {
      ...identity,
      source: source.name,
    });
  }
  return {
    ok: true,
    value: { kind: 'run', source, scheduledAt, identity: { ...identity, source: source.name } },
  };
}

/** The jobs a scheduled run of `source` starts for `scheduledAt`, or a permanent error saying why none. */
export function scheduledInputs(source: SourceDefinition, scheduledAt: Date): unknown[] {
  const schedule = source.schedule;
  if (schedule === undefined) return [];
  let inputs: readonly unknown[];
  try {
    inputs = typeof schedule.inputs === 'function' ? schedule.inputs(scheduledAt) : schedule.inputs;
  } catch (cause) {
    throw new PermanentError(
      `${source.name}'s schedule could not name the inputs for ${scheduledAt.toISOString()}: ${(cause as Error).message}`,
      { reason: 'schedule-inputs-failed', cause },
    );
  }
  if (inputs.length > MAX_SCHEDULED_INPUTS) {
    throw new PermanentError(
      `${source.name}'s schedule named ${inputs.length} inputs for ${scheduledAt.toISOString()}; a run starts at most ${MAX_SCHEDULED_INPUTS}`,
      { reason: 'schedule-inputs-failed' },
    );
  }
  const seen = new Set<string>();
  return inputs.flatMap((input, index) => {
    const checked = source.input.safeParse(input);
    if (!checked.success) {
      const issues = checked.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new PermanentError(
        `${source.name}'s schedule named an invalid input #${index} for ${scheduledAt.toISOString()}: ${issues}`,
        { reason: 'schedule-inputs-failed' },
      );
    }
    const text = canonicalJson(checked.data);
    if (seen.has(text)) return [];
    seen.add(text);
    return [checked.data];
  });
}

/** Parses an untrusted message body into a job for a known source, or explains why not. */
export function parseJobMessage(
  message: JobMessage,
  findSource: (name: string) => SourceDefinition | undefined,
): { ok: true; value: ParsedJob } | { ok: false; identity: JobIdentity; error: PermanentError } {
  // Until the body says otherwise, the job is its queue's: a poison message on a source's queue
  // is that source's failure (its DLQ, its success rate, its ledger entry).
  const fallback: JobIdentity = {
    jobKey: `msg-${message.messageId}`,
    traceId: traceIdForMessage(message.messageId),
    source: message.queueSource,
  };
  const fail = (reason: string, text: string, identity: JobIdentity = fallback, cause?: unknown) => ({
    ok: false as const,
    identity,
    error: new PermanentError(text, { reason, cause }),
  });

  const size = Buffer.byteLength(message.body, 'utf8');
  if (size > MAX_JOB_MESSAGE_BYTES) {
    return fail('message-too-large', `job message is ${size} bytes; the limit is ${MAX_JOB_MESSAGE_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(message.body);
  } catch (cause) {
    return fail('message-not-json', `job message is not JSON: ${(cause as Error).message}`, fallback, cause);
  }
  const parsed = CollectJob.safeParse(json);
  if (!parsed.success) {
    const run = parseScheduledRun(json, message, findSource, fallback);
    if (run !== undefined) return run;
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return fail('message-invalid', `job message is not a CollectJob: ${issues}`, fallback, parsed.error);
  }
  const job = parsed.data;
  // Even a job that fails below is filed under its upstream jobId when it has one.
  const identity: JobIdentity = {
    ...fallback,
    jobKey: job.jobId === undefined ? fallback.jobKey : jobKeyFromJobId(job.jobId),
    traceId: job.traceId ?? fallback.traceId,
  };
  // Looked for in what JSON.parse made, not in what zod kept: zod drops a __proto__ key.
  const hazard = jsonHazardIn(json);
  if (hazard !== undefined) return fail('message-invalid', `job message refused: ${hazard}`, identity);
  if (job.requestedAt !== undefined) {
    const lead = Date.parse(job.requestedAt) - message.sentAt.getTime();
    if (!(lead <= MAX_REQUESTED_AT_LEAD_MS)) {
      return fail(
        'message-invalid',
        `requestedAt ${job.requestedAt} is after the message was sent (${message.sentAt.toISOString()}) by more than the ${MAX_REQUESTED_AT_LEAD_MS / 60_000} minutes clocks may differ`,
        identity,
      );
    }
  }
  const source = findSource(job.source);
  if (source === undefined) {
    return fail('unknown-source', `unknown source ${JSON.stringify(job.source)}`, identity);
  }
  if (message.queueSource !== undefined && message.queueSource !== source.name) {
    return fail(
      'wrong-queue',
      `a job for source ${source.name} arrived on the jobs queue of ${message.queueSource}; send it to the queue of ${source.name}`,
      { ...identity, source: message.queueSource },
    );
  }
  const input = source.input.safeParse(job.input);
  if (!input.success) {
    const issues = input.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return fail(
      'input-invalid',
      `input is not valid for ${source.name}: ${issues}`,
      { ...identity, source: source.name },
      input.error,
    );
  }
  const jobKey = deriveJobKey(job, {
    dedupeWindowSeconds: source.dedupeWindowSeconds,
    fallbackRequestedAt: message.sentAt,
  });
  return {
    ok: true,
    value: {
      kind: 'job',
      job,
      source,
      input: input.data,
      identity: { ...identity, jobKey, source: source.name },
    },
  };
}

async function storeCollection(
  parsed: Extract<ParsedJob, { kind: 'job' }>,
  collection: Collection,
  followUps: readonly PlannedFollowUp[],
  attempt: number,
  startedAt: Date,
  deps: CollectJobDeps,
): Promise<{ manifestKey: string; artifactKeys: string[] }> {
  const { identity } = parsed;
  const fetchId = (deps.fetchIdFor ?? newFetchId)(collection.observedAt);
  const prefix = fetchPrefix(parsed.source.name, collection.observedAt, identity.jobKey, fetchId);
  const metadata = { 'trace-id': identity.traceId, 'job-key': identity.jobKey, source: parsed.source.name };

  const artifacts = await Promise.all(
    collection.artifacts.map(async (artifact) => {
      const key = `${prefix}${artifact.name}`;
      const stored = await deps.rawStore.put(key, artifact.body, {
        contentType: artifact.contentType,
        metadata,
      });
      return { name: artifact.name, key, role: artifact.role, contentType: artifact.contentType, ...stored };
    }),
  );
  const finishedAt = deps.clock();
  const manifest = RawManifest.parse({
    manifestVersion: 1,
    source: parsed.source.name,
    jobKey: identity.jobKey,
    fetchId,
    traceId: identity.traceId,
    job: parsed.job,
    attempt,
    collector: parsed.source.kind,
    request: collection.request,
    response: collection.response,
    observedAt: collection.observedAt.toISOString(),
    timings: {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    },
    artifacts,
    primaryArtifact: collection.primaryArtifact,
    branches: [...collection.branches],
    ...(followUps.length === 0
      ? {}
      : { followUps: followUps.map((f) => ({ jobKey: f.jobKey, job: f.job })) }),
  } satisfies RawManifest);
  // The manifest goes last: its ObjectCreated event starts the transform, so every artifact it
  // names must already exist.
  const manifestKey = `${prefix}${MANIFEST_NAME}`;
  await deps.rawStore.put(manifestKey, Buffer.from(JSON.stringify(manifest, null, 2)), {
    contentType: 'application/json',
    metadata,
  });
  return { manifestKey, artifactKeys: artifacts.map((a) => a.key) };
}

/**
 * Stores what a failure left behind under a fetch prefix of its own. Never fails the job's
 * handling: a snapshot that cannot be stored is reported in the ledger message instead.
 */
async function storeEvidence(
  identity: JobIdentity,
  evidence: readonly CollectedArtifact[],
  deps: CollectJobDeps,
): Promise<{ keys: string[]; problem?: string }> {
  if (evidence.length === 0 || identity.source === undefined) return { keys: [] };
  const at = deps.clock();
  const prefix = fetchPrefix(identity.source, at, identity.jobKey, (deps.fetchIdFor ?? newFetchId)(at));
  const metadata = { 'trace-id': identity.traceId, 'job-key': identity.jobKey, source: identity.source };
  try {
    const keys = await Promise.all(
      evidence.map(async (artifact) => {
        const key = `${prefix}${artifact.name}`;
        await deps.rawStore.put(key, artifact.body, { contentType: artifact.contentType, metadata });
        return key;
      }),
    );
    return { keys };
  } catch (error) {
    return { keys: [], problem: `snapshot not stored: ${(error as Error).message}` };
  }
}

const LEDGER_OUTCOME = {
  retry: 'retrying',
  'dead-letter': 'dead-lettered',
  'hand-off': 'handed-off',
} as const satisfies { [key in NextStep['kind']]: AttemptOutcome };

/** A delivery that found its job claimed waits until the claim lapses, plus this margin. */
const CLAIM_RECHECK_MARGIN_SECONDS = 1;

type AttemptDetails = Omit<
  AttemptEntry,
  'jobKey' | 'source' | 'traceId' | 'attempt' | 'stage' | 'startedAt' | 'finishedAt'
>;

/** What the ledger says about an attempt that ended in `outcome`. */
function attemptDetails(outcome: CollectOutcome, evidenceProblem: string | undefined): AttemptDetails {
  switch (outcome.status) {
    case 'scheduled':
      return {
        outcome: 'scheduled',
        reason: 'scheduled-run',
        message: `the schedule's run for ${outcome.scheduledAt.toISOString()} started ${outcome.followUps.accepted.length} job(s)`,
        ...ledgerFollowUps(outcome.followUps),
      };
    case 'collected':
      return {
        outcome: 'collected',
        manifestKey: outcome.manifestKey,
        artifactKeys: outcome.artifactKeys,
        ...ledgerFollowUps(outcome.followUps),
        ...(outcome.recovered === true
          ? {
              reason: 'collection-recovered',
              message:
                'an earlier delivery stored this collection and stopped before recording it; this delivery fetched nothing',
            }
          : {}),
      };
    case 'duplicate':
      return {
        outcome: 'duplicate',
        reason: 'duplicate-delivery',
        message: `already collected at ${outcome.collectedAt.toISOString()}; this delivery fetched nothing`,
        ...(outcome.manifestKey === undefined ? {} : { manifestKey: outcome.manifestKey }),
      };
    case 'deferred':
      return {
        outcome: 'deferred',
        reason: 'claimed-elsewhere',
        message: `another delivery is collecting this job; looking again in ${outcome.delaySeconds} s`,
        retryInSeconds: outcome.delaySeconds,
      };
    case 'failed': {
      const { next, error } = outcome;
      const text = next.kind === 'dead-letter' ? next.message : error.message;
      return {
        outcome: LEDGER_OUTCOME[next.kind],
        errorClass: failureClassOf(error),
        reason: next.kind === 'dead-letter' ? next.reason : error.reason,
        message: evidenceProblem === undefined ? text : `${text} (${evidenceProblem})`,
        ...(outcome.evidenceKeys.length === 0 ? {} : { snapshotKeys: outcome.evidenceKeys }),
        ...(next.kind === 'retry'
          ? {
              retryInSeconds: next.delaySeconds,
              ...(next.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: next.retryAfterSeconds }),
            }
          : {}),
      };
    }
  }
}

/**
 * The newest collection of a job stored in raw storage at or after `since`: its manifest and
 * artifacts. Only a complete collection counts (the manifest is written last); a fetch prefix
 * without a manifest is a collection that never finished.
 */
export async function findStoredCollection(
  catalog: RawCatalog,
  source: string,
  jobKey: string,
  since: Date,
  until: Date,
): Promise<{ manifestKey: string; artifactKeys: string[] } | undefined> {
  const keysByFetch = new Map<string, string[]>();
  const firstDay = Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate());
  for (let day = firstDay; day <= until.getTime(); day += 24 * 3600 * 1000) {
    for await (const page of catalog.listKeys(jobDayPrefix(source, new Date(day), jobKey))) {
      for (const key of page) {
        const parsed = parseRawKey(key);
        if (parsed === undefined || parsed.jobKey !== jobKey) continue;
        const observedAt = fetchIdTime(parsed.fetchId);
        if (observedAt === undefined || observedAt < since) continue;
        keysByFetch.set(parsed.fetchId, [...(keysByFetch.get(parsed.fetchId) ?? []), key]);
      }
    }
  }
  // Fetch IDs sort by time: the newest complete collection wins.
  const complete = [...keysByFetch.entries()]
    .filter(([, keys]) => keys.some((key) => key.endsWith(`/${MANIFEST_NAME}`)))
    .sort(([a], [b]) => (a < b ? 1 : -1));
  const [, keys] = complete[0] ?? [];
  if (keys === undefined) return undefined;
  const manifestKey = keys.find((key) => key.endsWith(`/${MANIFEST_NAME}`)) ?? '';
  return { manifestKey, artifactKeys: keys.filter((key) => key !== manifestKey).sort() };
}

/**
 * Reads the follow-ups a stored manifest names: what a recovering delivery must enqueue again. A
 * manifest that cannot be read names none here; the transform dead-letters it with its reason.
 */
async function followUpsOfManifest(rawStore: RawStore, manifestKey: string): Promise<PlannedFollowUp[]> {
  const object = await rawStore.get(manifestKey);
  let json: unknown;
  try {
    json = JSON.parse(object.body.toString('utf8'));
  } catch {
    return [];
  }
  const manifest = RawManifest.safeParse(json);
  if (!manifest.success) return [];
  return (manifest.data.followUps ?? []).map((f) => ({ jobKey: f.jobKey, job: f.job }));
}

/** Claims the job, then collects it: a duplicate or a job claimed elsewhere fetches nothing. */
async function claimAndCollect(
  message: JobMessage,
  parsed: ParsedJob,
  owner: string,
  startedAt: Date,
  deps: CollectJobDeps,
  held: { claimed: boolean },
): Promise<CollectOutcome> {
  const { source, identity } = parsed;
  const elapsed = () => deps.clock().getTime() - startedAt.getTime();
  const collectedSince = new Date(startedAt.getTime() - source.dedupeWindowSeconds * 1000);
  const claim = await deps.claims.claim({
    jobKey: identity.jobKey,
    source: source.name,
    traceId: identity.traceId,
    owner,
    now: startedAt,
    leaseUntil: deps.leaseUntil(),
    collectedSince,
  });
  if (claim.status === 'already-collected') {
    return {
      status: 'duplicate',
      identity,
      collectedAt: claim.collectedAt,
      ...(claim.manifestKey === undefined ? {} : { manifestKey: claim.manifestKey }),
      durationMs: elapsed(),
    };
  }
  if (claim.status === 'held-elsewhere') {
    // Real seconds, never time-scaled: the claim lapses on the wall clock of the invocation
    // holding it. Waiting for the lapse (not a short poll) keeps a duplicate from spending its
    // receive count while the first delivery is still at work.
    const untilLapse = Math.ceil((claim.until.getTime() - startedAt.getTime()) / 1000);
    const delaySeconds = Math.min(
      MAX_VISIBILITY_SECONDS,
      Math.max(0, untilLapse) + CLAIM_RECHECK_MARGIN_SECONDS,
    );
    return { status: 'deferred', identity, delaySeconds, durationMs: elapsed() };
  }
  held.claimed = true;
  if (parsed.kind === 'run') {
    // A run fetches nothing: it starts its jobs, each a follow-up of the run at depth 0, so the
    // run's tree holds everything the schedule collected for that time.
    const parent = { jobKey: identity.jobKey, traceId: identity.traceId, followUpOf: undefined };
    const accepted = scheduledInputs(source, parsed.scheduledAt).map((input) =>
      followUpJob(parent, source.name, input as { [key: string]: unknown }, 0, deps.clock()),
    );
    await deps.followUpQueue.enqueue(accepted);
    const followUps = { accepted, refused: [] };
    return {
      status: 'scheduled',
      identity,
      scheduledAt: parsed.scheduledAt,
      followUps,
      durationMs: elapsed(),
    };
  }
  // A receive past the budget means earlier deliveries stopped without reporting (the queue's
  // redrive leaves room for that): like a delivery that took over a lapsed claim, it may follow
  // one that stored the collection and died before the ledger.
  const pastBudget = message.receiveCount > attemptsAllowed(source.retry);
  if (claim.previouslyClaimed || pastBudget) {
    // An earlier delivery held this job and recorded no collection. It may have died between
    // writing the manifest and writing the ledger (a crash, a timeout, a ledger write that kept
    // failing): raw storage, not the ledger, says whether the job was collected.
    const stored = await findStoredCollection(
      deps.catalog,
      source.name,
      identity.jobKey,
      collectedSince,
      startedAt,
    );
    if (stored !== undefined) {
      // Whatever it asked for next may never have been sent: send it (again).
      const accepted = await followUpsOfManifest(deps.rawStore, stored.manifestKey);
      await deps.followUpQueue.enqueue(accepted);
      return {
        status: 'collected',
        identity,
        ...stored,
        durationMs: elapsed(),
        recovered: true,
        followUps: { accepted, refused: [] },
      };
    }
  }
  if (pastBudget) {
    // The budget's attempts are spent; fetching again would exceed what the source agreed to.
    throw new UnreportedAttemptsError(message.receiveCount, attemptsAllowed(source.retry));
  }
  const collection = await deps.collect(source, {
    input: parsed.input,
    traceId: identity.traceId,
    jobKey: identity.jobKey,
  });
  const followUps =
    collection.followUps === undefined
      ? EMPTY_PLAN
      : planFollowUps(
          { jobKey: identity.jobKey, traceId: identity.traceId, source, followUpOf: parsed.job.followUpOf },
          collection.followUps,
          deps.findSource,
          deps.clock(),
        );
  const stored = await storeCollection(
    parsed,
    collection,
    followUps.accepted,
    message.receiveCount,
    startedAt,
    deps,
  );
  // After the manifest, which names them: a delivery that recovers this collection sends them too.
  await deps.followUpQueue.enqueue(followUps.accepted);
  return { status: 'collected', identity, ...stored, durationMs: elapsed(), followUps };
}

/** Collects one job. Never throws for a job-level failure: the outcome says what happened. */
export async function collectJob(message: JobMessage, deps: CollectJobDeps): Promise<CollectOutcome> {
  const startedAt = deps.clock();
  const parsed = parseJobMessage(message, deps.findSource);
  const identity = parsed.ok ? parsed.value.identity : parsed.identity;
  const owner = `${message.messageId}#${message.receiveCount}#${message.deliveryId}`;
  const held = { claimed: false };
  let outcome: CollectOutcome;
  let evidenceProblem: string | undefined;
  try {
    if (!parsed.ok) throw parsed.error;
    outcome = await claimAndCollect(message, parsed.value, owner, startedAt, deps, held);
  } catch (error) {
    const classified = classifyFailure(error);
    const evidence = await storeEvidence(identity, evidenceOf(error), deps);
    evidenceProblem = evidence.problem;
    outcome = {
      status: 'failed',
      identity,
      error: classified,
      next: nextStepFor(classified, parsed.ok ? parsed.value.source : undefined, message.receiveCount, deps),
      evidenceKeys: evidence.keys,
      durationMs: deps.clock().getTime() - startedAt.getTime(),
    };
  }

  // Recording a collection also marks the job collected, so the claim is given up with it or
  // after it, never before: a delivery that claims next sees the job as done, never as free. A
  // collection gives it up in the same ledger write; any other outcome releases it afterwards.
  const releasedWithRecord =
    held.claimed && (outcome.status === 'collected' || outcome.status === 'scheduled');
  let released = false;
  try {
    await deps.ledger.recordAttempt({
      jobKey: identity.jobKey,
      source: identity.source,
      traceId: identity.traceId,
      attempt: message.receiveCount,
      stage: 'collect',
      startedAt,
      finishedAt: deps.clock(),
      ...attemptDetails(outcome, evidenceProblem),
      ...(releasedWithRecord ? { releasesClaimOf: owner } : {}),
      ...(parsed.ok && parsed.value.kind === 'job' && parsed.value.job.followUpOf !== undefined
        ? { followUpOf: parsed.value.job.followUpOf }
        : {}),
    });
    released = releasedWithRecord;
  } finally {
    if (held.claimed && !released) await deps.claims.release(identity.jobKey, owner);
  }
  return outcome;
}
