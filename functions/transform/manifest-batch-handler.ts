/**
 * The SQS adapter of the transform: reads each message (an S3 notification, from S3 or from
 * replay), runs the core for every manifest it names (core/transform-job.ts), and does what the
 * outcome says: delays the message for a retry by changing its visibility, sends it to the
 * transform DLQ with its reason, or opens a hand-off task. Logs and metrics are made here.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { HandoffDesk } from '../adapters/handoff-desk.js';
import type { WorkQueues } from '../adapters/work-queues.js';
import { failureClassOf } from '../core/errors.js';
import type { CreatedObject } from '../core/s3-notification.js';
import {
  type ManifestMessage,
  provisionalIdentity,
  readManifestMessage,
  type TransformJobDeps,
  transformJob,
} from '../core/transform-job.js';
import { InvalidOutputError, RecentWrites } from '../core/transform-manifest.js';
import {
  addJobLogKeys,
  logger,
  MetricName,
  publishMetric,
  recordAttempt,
  UNKNOWN_SOURCE,
  withJobLogKeys,
} from '../observability.js';

export interface TransformHandlerDeps extends Omit<TransformJobDeps, 'clock'> {
  readonly queues: WorkQueues;
  readonly desk: HandoffDesk;
  readonly rawBucketName: string;
}

function toManifestMessage(record: SQSRecord): ManifestMessage {
  return {
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
  };
}

/**
 * Time an invocation keeps for after its writes: recording a failed manifest in the ledger and
 * delaying its message, for every manifest of the batch at once.
 */
export const TRANSFORM_STOP_MARGIN_MS = 10_000;

export function createTransformHandler(deps: TransformHandlerDeps) {
  const processor = new BatchProcessor(EventType.SQS);
  // The running invocation's remaining time; one invocation at a time per container.
  let remainingMs: () => number = () => Number.POSITIVE_INFINITY;
  // One per container, like the SDK clients: each source's manifests learn from the ones before.
  const jobDeps: TransformJobDeps = {
    ...deps,
    clock: () => new Date(),
    recentWrites: deps.recentWrites ?? new RecentWrites(),
    outOfTime: () => remainingMs() < TRANSFORM_STOP_MARGIN_MS,
  };

  async function transformOne(record: SQSRecord, message: ManifestMessage, object: CreatedObject) {
    const manifestKey = object.key;
    addJobLogKeys({
      ...provisionalIdentity(message.messageId, manifestKey),
      manifestKey,
      attempt: message.receiveCount,
    });
    const outcome = await transformJob(message, object, jobDeps);
    const { identity } = outcome;
    const source = identity.source ?? UNKNOWN_SOURCE;
    const fields = { ...identity, manifestKey, trigger: object.trigger, durationMs: outcome.durationMs };
    // A replay re-runs a job that already ended: it is not a run of its own in the success rate.
    const run = { endsJobRun: object.trigger !== 'replay' };

    if (outcome.status === 'transformed') {
      addJobLogKeys({ ...identity, input: outcome.manifest.job.input });
      const { counts } = outcome;
      logger.info('manifest transformed', {
        ...fields,
        outcome: 'transformed',
        counts,
        freshness: outcome.freshness,
      });
      recordAttempt(source, 'succeeded', run);
      publishMetric(source, MetricName.RecordsWritten, counts.created + counts.updated);
      publishMetric(source, MetricName.RecordsUnchanged, counts.unchanged);
      publishMetric(source, MetricName.RecordsStale, counts.stale);
      if (outcome.endToEndMs !== undefined) {
        publishMetric(source, MetricName.EndToEndLatency, outcome.endToEndMs);
      }
      return;
    }

    const { error, next } = outcome;
    const failure = {
      ...fields,
      errorClass: failureClassOf(error),
      reason: error.reason,
      error: error.message,
    };
    if (next.kind === 'retry') {
      await deps.queues.delay(record.eventSourceARN, record.receiptHandle, next.delaySeconds);
      logger.warn('transform failed; will retry', {
        ...failure,
        outcome: 'retrying',
        retryNumber: next.retryNumber,
        retryInSeconds: next.delaySeconds,
      });
      recordAttempt(source, 'retried', run);
      throw error;
    }
    if (next.kind === 'hand-off') {
      const task = await deps.desk.open({
        stage: 'transform',
        jobKey: identity.jobKey,
        source,
        traceId: identity.traceId,
        reason: error.reason,
        message: error.message,
        evidenceKeys: outcome.evidenceKeys,
        createdAt: jobDeps.clock(),
      });
      if (error instanceof InvalidOutputError) publishMetric(source, MetricName.RecordsInvalid, 1);
      recordAttempt(source, 'handed-off', run);
      logger.warn('transform output handed off to a person', { ...failure, outcome: 'handed-off', task });
      return;
    }
    await deps.queues.deadLetter(record.eventSourceARN, record.body, {
      reason: next.reason,
      errorClass: failure.errorClass,
      message: next.message,
      jobKey: identity.jobKey,
      traceId: identity.traceId,
      source: identity.source,
      originalMessageId: record.messageId,
      attempts: message.receiveCount,
    });
    logger.error('transform dead-lettered', {
      ...failure,
      reason: next.reason,
      error: next.message,
      outcome: 'dead-lettered',
    });
    recordAttempt(source, 'dead-lettered', run);
  }

  async function handleRecord(record: SQSRecord): Promise<void> {
    const message = toManifestMessage(record);
    const contents = readManifestMessage(message, deps.rawBucketName);
    if (contents.status === 'unreadable') {
      const { identity, error, next } = contents;
      await deps.queues.deadLetter(record.eventSourceARN, record.body, {
        reason: next.reason,
        errorClass: failureClassOf(error),
        message: next.message,
        jobKey: identity.jobKey,
        traceId: identity.traceId,
        source: identity.source,
        originalMessageId: record.messageId,
        attempts: message.receiveCount,
      });
      logger.error('transform message dead-lettered', {
        messageId: record.messageId,
        reason: next.reason,
        error: next.message,
        outcome: 'dead-lettered',
      });
      return;
    }
    if (contents.status === 'ignored') {
      logger.info('notification ignored', {
        messageId: record.messageId,
        branch: contents.branch,
        outcome: 'ignored',
      });
      return;
    }
    for (const object of contents.manifests) await transformOne(record, message, object);
  }

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    logger.addContext(context);
    remainingMs = () => context.getRemainingTimeInMillis();
    const inJobContext = (record: SQSRecord) =>
      withJobLogKeys({ messageId: record.messageId }, () => handleRecord(record));
    return processPartialResponse(event, inJobContext, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  };
}
