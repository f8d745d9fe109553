/**
 * The transform's use case: one transform queue message in; for each manifest it names, records
 * upserted, the source's freshness advanced and the attempt in the ledger — or a decision on what
 * happens next (retry within the transform's budget, dead-letter, hand-off), also in the ledger.
 * The collector's counterpart is collect-job.ts. Free of AWS and of SQS: the adapter acts on the
 * outcome (delays or dead-letters the message, opens the hand-off task, logs, counts).
 */

import type { SourceDefinition } from '../../sources/define.js';
import { type ClassifiedError, classifyFailure } from './classify-failure.js';
import type { JobIdentity } from './collect-job.js';
import type { RawManifest } from './contracts.js';
import { failureClassOf } from './errors.js';
import { EMPTY_PLAN, type FollowUpPlan, ledgerFollowUps, planFollowUps } from './follow-ups.js';
import type { AttemptEntry, FollowUpQueue, JobLedger, MarkResult, SourceFreshness } from './ports.js';
import { parseRawKey } from './raw-layout.js';
import { type NextStep, nextStepWithin } from './retry-policy.js';
import { type CreatedObject, createdObjectsIn } from './s3-notification.js';
import { traceIdForMessage } from './trace-id.js';
import { TRANSFORM_RETRY_BUDGET } from './transform-budget.js';
import {
  InvalidOutputError,
  type RecordCounts,
  type TransformDeps,
  transformManifest,
} from './transform-manifest.js';

export interface ManifestMessage {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
}

/** What a transform queue message holds, as far as the transform is concerned. */
export type MessageContents =
  | { readonly status: 'manifests'; readonly manifests: readonly CreatedObject[] }
  /** Nothing to transform: an S3 test event, no created object, or objects of another bucket. */
  | { readonly status: 'ignored'; readonly branch: 'no-created-objects' | 'other-bucket' }
  /** The message names nothing that can be read: it goes to the DLQ at once, with the reason. */
  | {
      readonly status: 'unreadable';
      readonly identity: JobIdentity;
      readonly error: ClassifiedError;
      readonly next: Extract<NextStep, { kind: 'dead-letter' }>;
    };

export type TransformOutcome =
  | {
      readonly status: 'transformed';
      readonly identity: JobIdentity & { readonly source: string };
      readonly manifest: RawManifest;
      readonly counts: RecordCounts;
      /** Whether this manifest moved its source's freshness mark. */
      readonly freshness: MarkResult;
      /** The follow-ups the parser read in the raw body: enqueued (a fresh collection only), refused. */
      readonly followUps: FollowUpPlan;
      readonly durationMs: number;
      /**
       * From the job's request (or its collection's start) to its records. Only for a manifest
       * just written: a replayed one is old by design and says nothing about latency.
       */
      readonly endToEndMs?: number;
    }
  | {
      readonly status: 'failed';
      readonly identity: JobIdentity;
      readonly error: ClassifiedError;
      readonly next: NextStep;
      /** What a person looking into it needs: the raw object whose output failed, and the manifest. */
      readonly evidenceKeys: readonly string[];
      readonly durationMs: number;
    };

export interface TransformJobDeps extends TransformDeps {
  readonly ledger: JobLedger;
  /** Each source's newest observation that became records; the freshness checker reads it. */
  readonly freshness: SourceFreshness;
  /** The source definitions: a follow-up's bounds and targets, and each target's input schema. */
  readonly findSource: (name: string) => SourceDefinition | undefined;
  /** Where the parser's follow-ups go: their sources' jobs queues. */
  readonly followUpQueue: FollowUpQueue;
  readonly clock: () => Date;
  /** Local runs scale retry delays down (see DEFAULT_TIME_SCALE); 1 in AWS. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1), for retry jitter. @default Math.random */
  readonly random?: () => number;
}

function unknownJob(messageId: string): JobIdentity {
  return { jobKey: `msg-${messageId}`, traceId: traceIdForMessage(messageId), source: undefined };
}

/** Reads a transform queue message: the manifests of `rawBucketName` it names, or why there are none. */
export function readManifestMessage(message: ManifestMessage, rawBucketName: string): MessageContents {
  let objects: CreatedObject[];
  try {
    objects = createdObjectsIn(message.body);
  } catch (error) {
    const classified = classifyFailure(error);
    return {
      status: 'unreadable',
      identity: unknownJob(message.messageId),
      error: classified,
      next: { kind: 'dead-letter', reason: classified.reason, message: classified.message },
    };
  }
  const manifests = objects.filter((object) => object.bucket === rawBucketName);
  if (manifests.length > 0) return { status: 'manifests', manifests };
  return { status: 'ignored', branch: objects.length === 0 ? 'no-created-objects' : 'other-bucket' };
}

/**
 * Who a manifest belongs to before it is read: the job key and source from its raw key, when the
 * key has Sluice's layout, and a trace ID derived from the message.
 */
export function provisionalIdentity(messageId: string, manifestKey: string): JobIdentity {
  const parsedKey = parseRawKey(manifestKey);
  return {
    jobKey: parsedKey?.jobKey ?? `msg-${messageId}`,
    traceId: traceIdForMessage(messageId),
    source: parsedKey?.source,
  };
}

/** The transform's decision on a failed manifest: retry within its budget, dead-letter, or hand off. */
export function nextTransformStep(
  error: ClassifiedError,
  attempt: number,
  options: { readonly timeScale?: number; readonly random?: () => number } = {},
): NextStep {
  return nextStepWithin(TRANSFORM_RETRY_BUDGET, error, attempt, options);
}

const LEDGER_OUTCOME = {
  retry: 'retrying',
  'dead-letter': 'dead-lettered',
  'hand-off': 'handed-off',
} as const satisfies { [kind in NextStep['kind']]: AttemptEntry['outcome'] };

/**
 * Transforms one manifest a message names. Never throws for a failure of the manifest: the
 * outcome says what happened and what the adapter must do next. It throws only when the ledger
 * cannot record a failure, and then SQS delivers the message again.
 */
export async function transformJob(
  message: ManifestMessage,
  object: CreatedObject,
  deps: TransformJobDeps,
): Promise<TransformOutcome> {
  const startedAt = deps.clock();
  const manifestKey = object.key;
  const attempt = message.receiveCount;
  let identity = provisionalIdentity(message.messageId, manifestKey);
  try {
    const result = await transformManifest(manifestKey, deps);
    const { manifest } = result;
    identity = { jobKey: manifest.jobKey, traceId: manifest.traceId, source: manifest.source };
    // Only a fresh collection follows its links: a replay re-reads old raw data and must never
    // fetch anything (docs/records-and-replay.md), and the jobs it would ask for ran long ago.
    const parentSource = deps.findSource(manifest.source);
    const followUps =
      object.trigger !== 'created' || parentSource === undefined
        ? EMPTY_PLAN
        : planFollowUps(
            {
              jobKey: manifest.jobKey,
              traceId: manifest.traceId,
              source: parentSource,
              followUpOf: manifest.job.followUpOf,
            },
            result.followUps,
            deps.findSource,
            deps.clock(),
          );
    await deps.followUpQueue.enqueue(followUps.accepted);
    const freshness = await deps.freshness.markObserved({
      source: manifest.source,
      newestObservedAt: new Date(manifest.observedAt),
      newestTraceId: manifest.traceId,
      newestJobKey: manifest.jobKey,
      updatedAt: deps.clock(),
    });
    const finishedAt = deps.clock();
    await deps.ledger.recordAttempt({
      ...identity,
      attempt,
      stage: 'transform',
      startedAt,
      finishedAt,
      outcome: 'transformed',
      manifestKey,
      counts: result.counts,
      ...ledgerFollowUps(followUps),
      ...(manifest.job.followUpOf === undefined ? {} : { followUpOf: manifest.job.followUpOf }),
    });
    const requestedAt = new Date(manifest.job.requestedAt ?? manifest.timings.startedAt);
    return {
      status: 'transformed',
      identity: { ...identity, source: manifest.source },
      manifest,
      counts: result.counts,
      freshness,
      followUps,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      ...(object.trigger === 'created' ? { endToEndMs: finishedAt.getTime() - requestedAt.getTime() } : {}),
    };
  } catch (error) {
    const classified = classifyFailure(error);
    const next = nextTransformStep(classified, attempt, deps);
    const finishedAt = deps.clock();
    await deps.ledger.recordAttempt({
      ...identity,
      attempt,
      stage: 'transform',
      startedAt,
      finishedAt,
      outcome: LEDGER_OUTCOME[next.kind],
      errorClass: failureClassOf(classified),
      manifestKey,
      ...(next.kind === 'dead-letter'
        ? { reason: next.reason, message: next.message }
        : { reason: classified.reason, message: classified.message }),
      ...(next.kind === 'retry' ? { retryInSeconds: next.delaySeconds } : {}),
    });
    return {
      status: 'failed',
      identity,
      error: classified,
      next,
      evidenceKeys:
        classified instanceof InvalidOutputError ? [classified.rawKey, manifestKey] : [manifestKey],
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  }
}
