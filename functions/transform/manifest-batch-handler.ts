/**
 * The SQS adapter of the transform: each message is an S3 notification (from S3, or from replay)
 * for one or more `manifest.json` objects. Transient failures are retried within the transform's
 * budget (the next attempt delayed by changing the message's visibility), then dead-lettered with
 * their reason; anything retrying cannot fix goes to the transform DLQ at once; output that fails
 * validation is handed to a person.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { SourceParser } from '../../sources/define.js';
import type { HandoffDesk } from '../adapters/handoff-desk.js';
import type { JobLedger } from '../adapters/job-ledger.js';
import type { RawStore } from '../adapters/raw-store.js';
import type { RecordStore } from '../adapters/record-store.js';
import type { SourceFreshness } from '../adapters/source-freshness.js';
import type { WorkQueues } from '../adapters/work-queues.js';
import { type ClassifiedError, classifyFailure } from '../core/classify-failure.js';
import { failureClassOf, PermanentError, TransientError } from '../core/errors.js';
import { parseRawKey } from '../core/raw-layout.js';
import { decideRetry } from '../core/retry-policy.js';
import { type CreatedObject, createdObjects, S3Notification } from '../core/s3-notification.js';
import { traceIdForMessage } from '../core/trace-id.js';
import { TRANSFORM_RETRY_BUDGET } from '../core/transform-budget.js';
import { InvalidOutputError, transformManifest } from '../core/transform-manifest.js';
import {
  addJobLogKeys,
  logger,
  MetricName,
  publishMetric,
  recordAttempt,
  UNKNOWN_SOURCE,
  withJobLogKeys,
} from '../observability.js';

export interface TransformHandlerDeps {
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
  readonly ledger: JobLedger;
  readonly queues: WorkQueues;
  readonly desk: HandoffDesk;
  /** Each source's newest observation that became records; the freshness checker reads it. */
  readonly freshness: SourceFreshness;
  readonly findParser: (source: string) => SourceParser | undefined;
  readonly rawBucketName: string;
  /** Local runs scale retry delays down; 1 in AWS. @default 1 */
  readonly timeScale?: number;
  /** Uniform in [0, 1), for retry jitter. @default Math.random */
  readonly random?: () => number;
}

/** The manifests a message names, or a PermanentError saying why it names none that can be read. */
function manifestsIn(body: string): CreatedObject[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new PermanentError('transform message is not JSON', { reason: 'message-not-json', cause });
  }
  const parsed = S3Notification.safeParse(json);
  if (!parsed.success) {
    throw new PermanentError(`transform message is not an S3 notification: ${parsed.error.message}`, {
      reason: 'message-invalid',
      cause: parsed.error,
    });
  }
  return createdObjects(parsed.data);
}

function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount) || 1;
}

export function createTransformHandler(deps: TransformHandlerDeps) {
  const processor = new BatchProcessor(EventType.SQS);

  async function transformOne(record: SQSRecord, object: CreatedObject): Promise<void> {
    const startedAt = new Date();
    const manifestKey = object.key;
    const parsedKey = parseRawKey(manifestKey);
    const attempt = receiveCountOf(record);
    let identity = {
      jobKey: parsedKey?.jobKey ?? `msg-${record.messageId}`,
      traceId: traceIdForMessage(record.messageId),
      source: parsedKey?.source,
    };
    addJobLogKeys({ ...identity, manifestKey, attempt });
    try {
      const result = await transformManifest(manifestKey, deps);
      identity = {
        jobKey: result.manifest.jobKey,
        traceId: result.manifest.traceId,
        source: result.manifest.source,
      };
      addJobLogKeys({ ...identity, input: result.manifest.job.input });
      const freshness = await deps.freshness.markObserved({
        source: result.manifest.source,
        newestObservedAt: new Date(result.manifest.observedAt),
        newestTraceId: result.manifest.traceId,
        newestJobKey: result.manifest.jobKey,
        updatedAt: new Date(),
      });
      const finishedAt = new Date();
      await deps.ledger.recordAttempt({
        ...identity,
        attempt,
        stage: 'transform',
        startedAt,
        finishedAt,
        outcome: 'transformed',
        manifestKey,
        counts: result.counts,
      });
      logger.info('manifest transformed', {
        ...identity,
        manifestKey,
        trigger: object.trigger,
        outcome: 'transformed',
        counts: result.counts,
        freshness,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      const source = result.manifest.source;
      recordAttempt(source, 'succeeded');
      publishMetric(source, MetricName.RecordsWritten, result.counts.created + result.counts.updated);
      publishMetric(source, MetricName.RecordsUnchanged, result.counts.unchanged);
      publishMetric(source, MetricName.RecordsStale, result.counts.stale);
      // A replayed manifest is old by design; its age says nothing about the pipeline's latency.
      if (object.trigger === 'created') {
        const endToEndMs =
          finishedAt.getTime() -
          new Date(result.manifest.job.requestedAt ?? result.manifest.timings.startedAt).getTime();
        publishMetric(source, MetricName.EndToEndLatency, endToEndMs);
      }
    } catch (error) {
      await handleFailure(record, object, classifyFailure(error), { identity, attempt, startedAt });
    }
  }

  async function handleFailure(
    record: SQSRecord,
    object: CreatedObject,
    classified: ClassifiedError,
    context: {
      readonly identity: { jobKey: string; traceId: string; source: string | undefined };
      readonly attempt: number;
      readonly startedAt: Date;
    },
  ): Promise<void> {
    const { identity, attempt, startedAt } = context;
    const manifestKey = object.key;
    const errorClass = failureClassOf(classified);
    const source = identity.source ?? UNKNOWN_SOURCE;
    const fields = {
      ...identity,
      manifestKey,
      trigger: object.trigger,
      errorClass,
      reason: classified.reason,
      error: classified.message,
      durationMs: Date.now() - startedAt.getTime(),
    };
    const ledgerEntry = {
      ...identity,
      attempt,
      stage: 'transform' as const,
      startedAt,
      finishedAt: new Date(),
      errorClass,
      manifestKey,
    };

    let deadLetter = { reason: classified.reason, message: classified.message };
    if (errorClass === 'transient') {
      const decision = decideRetry(TRANSFORM_RETRY_BUDGET, attempt, {
        ...(classified instanceof TransientError && classified.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: classified.retryAfterSeconds }
          : {}),
        ...(deps.timeScale === undefined ? {} : { timeScale: deps.timeScale }),
        ...(deps.random === undefined ? {} : { random: deps.random }),
      });
      if (decision.action === 'retry') {
        await deps.ledger.recordAttempt({
          ...ledgerEntry,
          outcome: 'retrying',
          reason: classified.reason,
          message: classified.message,
        });
        await deps.queues.delay(record.eventSourceARN, record.receiptHandle, decision.delaySeconds);
        logger.warn('transform failed; will retry', {
          ...fields,
          outcome: 'retrying',
          retryNumber: decision.retryNumber,
          retryInSeconds: decision.delaySeconds,
        });
        recordAttempt(source, 'retried');
        throw classified;
      }
      deadLetter = {
        reason: 'retries-exhausted',
        message: `gave up after ${decision.retriesUsed} retries; last error (${classified.reason}): ${classified.message}`,
      };
    }

    if (errorClass === 'needs-human') {
      await deps.ledger.recordAttempt({
        ...ledgerEntry,
        outcome: 'handed-off',
        reason: classified.reason,
        message: classified.message,
      });
      const task = await deps.desk.open({
        stage: 'transform',
        jobKey: identity.jobKey,
        source,
        traceId: identity.traceId,
        reason: classified.reason,
        message: classified.message,
        evidenceKeys:
          classified instanceof InvalidOutputError ? [classified.rawKey, manifestKey] : [manifestKey],
        createdAt: new Date(),
      });
      if (classified instanceof InvalidOutputError) publishMetric(source, MetricName.RecordsInvalid, 1);
      recordAttempt(source, 'handed-off');
      logger.warn('transform output handed off to a person', { ...fields, outcome: 'handed-off', task });
      return;
    }

    await deps.ledger.recordAttempt({ ...ledgerEntry, outcome: 'dead-lettered', ...deadLetter });
    await deps.queues.deadLetter(record.eventSourceARN, record.body, {
      ...deadLetter,
      errorClass,
      jobKey: identity.jobKey,
      traceId: identity.traceId,
      source: identity.source,
      originalMessageId: record.messageId,
      attempts: attempt,
    });
    logger.error('transform dead-lettered', { ...fields, ...deadLetter, outcome: 'dead-lettered' });
    recordAttempt(source, 'dead-lettered');
  }

  async function handleRecord(record: SQSRecord): Promise<void> {
    let objects: CreatedObject[];
    try {
      objects = manifestsIn(record.body);
    } catch (error) {
      const classified = classifyFailure(error);
      await deps.queues.deadLetter(record.eventSourceARN, record.body, {
        reason: classified.reason,
        errorClass: failureClassOf(classified),
        message: classified.message,
        jobKey: `msg-${record.messageId}`,
        traceId: traceIdForMessage(record.messageId),
        source: undefined,
        originalMessageId: record.messageId,
        attempts: receiveCountOf(record),
      });
      logger.error('transform message dead-lettered', {
        messageId: record.messageId,
        reason: classified.reason,
        error: classified.message,
        outcome: 'dead-lettered',
      });
      return;
    }
    const manifests = objects.filter((o) => o.bucket === deps.rawBucketName);
    if (manifests.length === 0) {
      logger.info('notification ignored', {
        messageId: record.messageId,
        branch: objects.length === 0 ? 'no-created-objects' : 'other-bucket',
        outcome: 'ignored',
      });
      return;
    }
    for (const object of manifests) await transformOne(record, object);
  }

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    logger.addContext(context);
    const inJobContext = (record: SQSRecord) =>
      withJobLogKeys({ messageId: record.messageId }, () => handleRecord(record));
    return processPartialResponse(event, inJobContext, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  };
}
