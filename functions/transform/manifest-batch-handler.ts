/**
 * The SQS adapter of the transform: each message is an S3 notification for one or more
 * `manifest.json` objects. Transient failures are retried by SQS; anything retrying cannot fix
 * goes to the transform DLQ at once with its reason.
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
import { failureClassOf, PermanentError } from '../core/errors.js';
import { parseRawKey } from '../core/raw-layout.js';
import { createdObjects, S3Notification } from '../core/s3-notification.js';
import { traceIdForMessage } from '../core/trace-id.js';
import { InvalidOutputError, transformManifest } from '../core/transform-manifest.js';
import {
  addJobLogKeys,
  countForSource,
  logger,
  MetricName,
  timeForSource,
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
}

function parseNotification(body: string): S3Notification {
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
  return parsed.data;
}

export function createTransformHandler(deps: TransformHandlerDeps) {
  const processor = new BatchProcessor(EventType.SQS);

  async function transformOne(record: SQSRecord, manifestKey: string): Promise<void> {
    const startedAt = new Date();
    const parsedKey = parseRawKey(manifestKey);
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    let identity = {
      jobKey: parsedKey?.jobKey ?? `msg-${record.messageId}`,
      traceId: traceIdForMessage(record.messageId),
      source: parsedKey?.source,
    };
    addJobLogKeys({ ...identity, manifestKey, attempt });
    try {
      const result = await transformManifest(manifestKey, { ...deps, clock: () => new Date() });
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
      const endToEndMs =
        finishedAt.getTime() -
        new Date(result.manifest.job.requestedAt ?? result.manifest.timings.startedAt).getTime();
      logger.info('manifest transformed', {
        ...identity,
        manifestKey,
        outcome: 'transformed',
        counts: result.counts,
        freshness,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      const source = result.manifest.source;
      countForSource(source, MetricName.JobSucceeded);
      countForSource(source, MetricName.RecordsWritten, result.counts.created + result.counts.updated);
      countForSource(source, MetricName.RecordsUnchanged, result.counts.unchanged);
      countForSource(source, MetricName.RecordsStale, result.counts.stale);
      timeForSource(source, MetricName.EndToEndLatency, endToEndMs);
    } catch (error) {
      const classified: ClassifiedError = classifyFailure(error);
      const errorClass = failureClassOf(classified);
      const outcome =
        errorClass === 'transient' ? 'retrying' : errorClass === 'permanent' ? 'dead-lettered' : 'handed-off';
      await deps.ledger.recordAttempt({
        ...identity,
        attempt,
        stage: 'transform',
        startedAt,
        finishedAt: new Date(),
        outcome,
        errorClass,
        reason: classified.reason,
        message: classified.message,
        manifestKey,
      });
      const fields = {
        ...identity,
        manifestKey,
        errorClass,
        reason: classified.reason,
        error: classified.message,
        durationMs: Date.now() - startedAt.getTime(),
      };
      const source = identity.source ?? 'unknown';
      if (errorClass === 'transient') {
        logger.warn('transform failed; will retry', { ...fields, outcome });
        countForSource(source, MetricName.JobRetried);
        throw classified;
      }
      if (errorClass === 'needs-human') {
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
        if (classified instanceof InvalidOutputError) countForSource(source, MetricName.RecordsInvalid);
        countForSource(source, MetricName.JobHandedOff);
        logger.warn('transform output handed off to a person', { ...fields, outcome, task });
        return;
      }
      await deps.queues.deadLetter(record.eventSourceARN, record.body, {
        reason: classified.reason,
        errorClass,
        message: classified.message,
        jobKey: identity.jobKey,
        traceId: identity.traceId,
        source: identity.source,
        originalMessageId: record.messageId,
        attempts: attempt,
      });
      logger.error('transform dead-lettered', { ...fields, outcome });
      countForSource(source, MetricName.JobDeadLettered);
    }
  }

  async function handleRecord(record: SQSRecord): Promise<void> {
    let notification: S3Notification;
    try {
      notification = parseNotification(record.body);
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
        attempts: Number(record.attributes.ApproximateReceiveCount) || 1,
      });
      logger.error('transform message dead-lettered', {
        messageId: record.messageId,
        reason: classified.reason,
      });
      return;
    }
    const objects = createdObjects(notification).filter((o) => o.bucket === deps.rawBucketName);
    if (objects.length === 0) {
      logger.info('notification ignored', { messageId: record.messageId, branch: 'no-created-manifests' });
      return;
    }
    for (const object of objects) await transformOne(record, object.key);
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
