/**
 * The collector's core: one SQS message in, artifacts and a manifest in raw storage out, every
 * attempt in the ledger. Free of AWS and of the fetch mechanism; both come in as collaborators.
 */
import type { SourceDefinition } from '../../sources/define.js';
import type { AttemptOutcome, JobLedger } from '../adapters/job-ledger.js';
import type { RawStore } from '../adapters/raw-store.js';
import { type ClassifiedError, classifyFailure } from './classify-failure.js';
import type { Collection, CollectRequest } from './collection.js';
import { CollectJob, RawManifest } from './contracts.js';
import { failureClassOf, PermanentError, TransientError } from './errors.js';
import { deriveJobKey, jobKeyFromJobId } from './job-key.js';
import { fetchPrefix, MANIFEST_NAME, newFetchId } from './raw-layout.js';
import { decideRetry } from './retry-policy.js';
import { traceIdForMessage } from './trace-id.js';

/** SQS caps a message at 256 KiB; a job needs a tiny fraction of that. */
export const MAX_JOB_MESSAGE_BYTES = 64 * 1024;

export interface JobMessage {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** SentTimestamp: stable across redeliveries, so it anchors the dedupe window. */
  readonly sentAt: Date;
}

export interface JobIdentity {
  readonly jobKey: string;
  readonly traceId: string;
  /** Undefined when the message did not name a known source. */
  readonly source: string | undefined;
}

/** What the SQS adapter must do with a message whose job failed. */
export type NextStep =
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly retryNumber: number }
  | { readonly kind: 'dead-letter'; readonly reason: string; readonly message: string }
  | { readonly kind: 'hand-off' };

export type CollectOutcome =
  | {
      readonly status: 'collected';
      readonly identity: JobIdentity;
      readonly manifestKey: string;
      readonly artifactKeys: readonly string[];
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
    };

export interface CollectJobDeps {
  readonly findSource: (name: string) => SourceDefinition | undefined;
  readonly collect: (source: SourceDefinition, request: CollectRequest) => Promise<Collection>;
  readonly rawStore: RawStore;
  readonly ledger: JobLedger;
  readonly clock: () => Date;
  readonly fetchIdFor?: (observedAt: Date) => string;
  /** Local runs scale retry delays down (see DEFAULT_TIME_SCALE); 1 in AWS. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1), for retry jitter. @default Math.random */
  readonly random?: () => number;
}

/** Decides what happens to a failed job: retry within its source's budget, dead-letter, or hand off. */
export function nextStepFor(
  error: ClassifiedError,
  source: SourceDefinition | undefined,
  attempt: number,
  options: { readonly timeScale?: number; readonly random?: () => number } = {},
): NextStep {
  const errorClass = failureClassOf(error);
  if (errorClass === 'needs-human') return { kind: 'hand-off' };
  if (errorClass === 'permanent' || source === undefined) {
    return { kind: 'dead-letter', reason: error.reason, message: error.message };
  }
  const decision = decideRetry(source.retry, attempt, {
    ...(error instanceof TransientError && error.retryAfterSeconds !== undefined
      ? { retryAfterSeconds: error.retryAfterSeconds }
      : {}),
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  if (decision.action === 'retry')
    return { kind: 'retry', delaySeconds: decision.delaySeconds, retryNumber: decision.retryNumber };
  return {
    kind: 'dead-letter',
    reason: 'retries-exhausted',
    message: `gave up after ${decision.retriesUsed} retries; last error (${error.reason}): ${error.message}`,
  };
}

interface ParsedJob {
  readonly job: CollectJob;
  readonly source: SourceDefinition;
  readonly input: unknown;
  readonly identity: JobIdentity;
}

/** Parses an untrusted message body into a job for a known source, or explains why not. */
export function parseJobMessage(
  message: JobMessage,
  findSource: (name: string) => SourceDefinition | undefined,
): { ok: true; value: ParsedJob } | { ok: false; identity: JobIdentity; error: PermanentError } {
  const fallback: JobIdentity = {
    jobKey: `msg-${message.messageId}`,
    traceId: traceIdForMessage(message.messageId),
    source: undefined,
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
  const source = findSource(job.source);
  if (source === undefined) {
    return fail('unknown-source', `unknown source ${JSON.stringify(job.source)}`, identity);
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
    value: { job, source, input: input.data, identity: { ...identity, jobKey, source: source.name } },
  };
}

async function storeCollection(
  parsed: ParsedJob,
  collection: Collection,
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

const LEDGER_OUTCOME = {
  retry: 'retrying',
  'dead-letter': 'dead-lettered',
  'hand-off': 'handed-off',
} as const satisfies { [key in NextStep['kind']]: AttemptOutcome };

/** Collects one job. Never throws for a job-level failure: the outcome says what happened. */
export async function collectJob(message: JobMessage, deps: CollectJobDeps): Promise<CollectOutcome> {
  const startedAt = deps.clock();
  const parsed = parseJobMessage(message, deps.findSource);
  let identity = parsed.ok ? parsed.value.identity : parsed.identity;
  let outcome: CollectOutcome;
  try {
    if (!parsed.ok) throw parsed.error;
    identity = parsed.value.identity;
    const collection = await deps.collect(parsed.value.source, {
      input: parsed.value.input,
      traceId: identity.traceId,
      jobKey: identity.jobKey,
    });
    const stored = await storeCollection(parsed.value, collection, message.receiveCount, startedAt, deps);
    outcome = {
      status: 'collected',
      identity,
      ...stored,
      durationMs: deps.clock().getTime() - startedAt.getTime(),
    };
  } catch (error) {
    const classified = classifyFailure(error);
    outcome = {
      status: 'failed',
      identity,
      error: classified,
      next: nextStepFor(classified, parsed.ok ? parsed.value.source : undefined, message.receiveCount, deps),
      evidenceKeys: [],
      durationMs: deps.clock().getTime() - startedAt.getTime(),
    };
  }

  const finishedAt = deps.clock();
  await deps.ledger.recordAttempt({
    jobKey: identity.jobKey,
    source: identity.source,
    traceId: identity.traceId,
    attempt: message.receiveCount,
    stage: 'collect',
    startedAt,
    finishedAt,
    ...(outcome.status === 'collected'
      ? { outcome: 'collected', manifestKey: outcome.manifestKey, artifactKeys: outcome.artifactKeys }
      : {
          outcome: LEDGER_OUTCOME[outcome.next.kind],
          errorClass: failureClassOf(outcome.error),
          reason: outcome.next.kind === 'dead-letter' ? outcome.next.reason : outcome.error.reason,
          message: outcome.next.kind === 'dead-letter' ? outcome.next.message : outcome.error.message,
        }),
  });
  return outcome;
}
