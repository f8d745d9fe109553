/**
 * The SQS adapter shared by both collectors: parses each record into a JobMessage, runs the core,
 * and maps the outcome to what SQS should do next. Transient failures are reported as batch item
 * failures (SQS redelivers after the visibility timeout, redrive ends in the DLQ); permanent and
 * needs-human failures go to the DLQ at once with their reason.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { findSource } from '../../sources/registry.js';
import type { HandoffDesk } from '../adapters/handoff-desk.js';
import type { WorkQueues } from '../adapters/work-queues.js';
import { type CollectJobDeps, collectJob, type JobMessage } from '../core/collect-job.js';
import { failureClassOf } from '../core/errors.js';
import type { FollowUpPlan } from '../core/follow-ups.js';
import type { FollowUpQueue, JobClaims, JobLedger, RawStore } from '../core/ports.js';
import {
  addJobLogKeys,
  logger,
  MetricName,
  publishMetric,
  recordAttempt,
  UNKNOWN_SOURCE,
  withJobLogKeys,
} from '../observability.js';

export interface CollectorHandlerDeps {
  readonly collect: CollectJobDeps['collect'];
  readonly rawStore: RawStore;
  readonly catalog: CollectJobDeps['catalog'];
  readonly ledger: JobLedger;
  readonly claims: JobClaims;
  readonly queues: WorkQueues;
  /** Where follow-up jobs and a scheduled run's jobs go: their sources' jobs queues. */
  readonly followUpQueue: FollowUpQueue;
  readonly desk: HandoffDesk;
  /**
   * The source whose jobs queue a message came from (from the event's `eventSourceARN`), or
   * undefined for a queue that is not a source's: the queue, not the body, says whose job it is.
   */
  readonly sourceOfQueue: (queueArn: string) => string | undefined;
  /** Local runs scale retry delays down; 1 in AWS. */
  readonly timeScale: number;
}

/** What a log line says of the follow-ups an attempt enqueued or refused. */
export function followUpFields(plan: FollowUpPlan): { [key: string]: unknown } {
  return {
    ...(plan.accepted.length === 0 ? {} : { followUps: plan.accepted.map((f) => f.jobKey) }),
    ...(plan.refused.length === 0 ? {} : { followUpsRefused: plan.refused }),
  };
}

/** Fleet-wide counts of follow-ups enqueued and refused (no per-source series: see METRIC_SCOPES). */
export function publishFollowUps(source: string, plan: FollowUpPlan): void {
  if (plan.accepted.length > 0) publishMetric(source, MetricName.FollowUpsEnqueued, plan.accepted.length);
  if (plan.refused.length > 0) publishMetric(source, MetricName.FollowUpsRefused, plan.refused.length);
}

function toJobMessage(
  record: SQSRecord,
  lambdaContext: Context,
  queueSource: string | undefined,
): JobMessage {
  return {
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
    sentAt: new Date(Number(record.attributes.SentTimestamp) || Date.now()),
    deliveryId: lambdaContext.awsRequestId,
    ...(queueSource === undefined ? {} : { queueSource }),
  };
}

/**
 * A claim outlives its invocation by this much, so clock differences between containers (NTP
 * keeps them within milliseconds) can never make it lapse while its holder could still write.
 */
const CLAIM_LEASE_MARGIN_MS = 5_000;

export function createCollectorHandler(deps: CollectorHandlerDeps) {
  const processor = new BatchProcessor(EventType.SQS);
  // The one clock of the invocation's decisions and of the hand-off tasks it opens.
  const clock = () => new Date();

  async function handleRecord(record: SQSRecord, lambdaContext: Context): Promise<void> {
    const queueSource = deps.sourceOfQueue(record.eventSourceARN);
    const message = toJobMessage(record, lambdaContext, queueSource);
    // Which branches the fetch took, for the outcome line; the core keeps them in the manifest.
    let branches: readonly string[] | undefined;
    const outcome = await collectJob(message, {
      collect: async (source, request) => {
        // From here on every line of this job carries its identity and input.
        addJobLogKeys({
          traceId: request.traceId,
          jobKey: request.jobKey,
          source: source.name,
          input: request.input,
        });
        const collection = await deps.collect(source, request);
        branches = collection.branches;
        return collection;
      },
      rawStore: deps.rawStore,
      catalog: deps.catalog,
      ledger: deps.ledger,
      claims: deps.claims,
      followUpQueue: deps.followUpQueue,
      // Lambda stops this invocation at its deadline, so a claim lasting past it cannot outlive
      // a delivery still at work.
      leaseUntil: () =>
        new Date(Date.now() + lambdaContext.getRemainingTimeInMillis() + CLAIM_LEASE_MARGIN_MS),
      findSource,
      clock,
      timeScale: deps.timeScale,
    });
    const { identity } = outcome;
    // A message whose body names no source (poison) is still its queue's source's problem.
    const source = identity.source ?? queueSource ?? UNKNOWN_SOURCE;
    const context = {
      traceId: identity.traceId,
      jobKey: identity.jobKey,
      source,
      messageId: record.messageId,
      attempt: message.receiveCount,
      durationMs: outcome.durationMs,
      branches,
    };

    if (outcome.status === 'collected') {
      logger.info('job collected', {
        ...context,
        outcome: 'collected',
        manifestKey: outcome.manifestKey,
        ...(outcome.recovered === true ? { recovered: true } : {}),
        ...followUpFields(outcome.followUps),
      });
      recordAttempt(source, 'collected');
      publishMetric(source, MetricName.CollectionLatency, outcome.durationMs);
      publishFollowUps(source, outcome.followUps);
      return;
    }
    if (outcome.status === 'scheduled') {
      logger.info('scheduled run started its jobs', {
        ...context,
        outcome: 'scheduled',
        scheduledAt: outcome.scheduledAt.toISOString(),
        ...followUpFields(outcome.followUps),
      });
      publishFollowUps(source, outcome.followUps);
      return;
    }
    if (outcome.status === 'duplicate') {
      logger.info('duplicate delivery; the job was already collected', {
        ...context,
        outcome: 'duplicate',
        collectedAt: outcome.collectedAt.toISOString(),
      });
      return;
    }
    if (outcome.status === 'deferred') {
      await deps.queues.delay(record.eventSourceARN, record.receiptHandle, outcome.delaySeconds);
      logger.info('another delivery is collecting this job; looking again later', {
        ...context,
        outcome: 'deferred',
        retryInSeconds: outcome.delaySeconds,
      });
      throw new Error(`job ${identity.jobKey} is being collected by another delivery`);
    }

    const errorClass = failureClassOf(outcome.error);
    const errorFields = { errorClass, reason: outcome.error.reason, error: outcome.error.message };
    const { next } = outcome;
    if (next.kind === 'retry') {
      await deps.queues.delay(record.eventSourceARN, record.receiptHandle, next.delaySeconds);
      logger.warn('job failed; will retry', {
        ...context,
        ...errorFields,
        outcome: 'retrying',
        retryNumber: next.retryNumber,
        retryInSeconds: next.delaySeconds,
        ...(next.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: next.retryAfterSeconds }),
        ...(outcome.evidenceKeys.length === 0 ? {} : { snapshotKeys: outcome.evidenceKeys }),
      });
      recordAttempt(source, 'retried');
      throw outcome.error;
    }
    if (next.kind === 'hand-off') {
      const opened = await deps.desk.open({
        stage: 'collect',
        jobKey: identity.jobKey,
        source,
        traceId: identity.traceId,
        reason: outcome.error.reason,
        message: outcome.error.message,
        evidenceKeys: outcome.evidenceKeys,
        createdAt: clock(),
      });
      logger.warn('job handed off to a person', {
        ...context,
        ...errorFields,
        outcome: 'handed-off',
        task: opened,
      });
      recordAttempt(source, 'handed-off');
      return;
    }
    const { reason, message: text } = next;
    await deps.queues.deadLetter(record.eventSourceARN, record.body, {
      reason,
      errorClass,
      message: text,
      jobKey: identity.jobKey,
      traceId: identity.traceId,
      source: identity.source ?? queueSource,
      originalMessageId: record.messageId,
      attempts: message.receiveCount,
    });
    logger.error('job dead-lettered', {
      ...context,
      ...errorFields,
      reason,
      error: text,
      outcome: 'dead-lettered',
      ...(outcome.evidenceKeys.length === 0 ? {} : { snapshotKeys: outcome.evidenceKeys }),
    });
    recordAttempt(source, 'dead-lettered');
  }

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    logger.addContext(context);
    const inJobContext = (record: SQSRecord, lambdaContext: Context) =>
      withJobLogKeys({ messageId: record.messageId }, () => handleRecord(record, lambdaContext));
    return processPartialResponse(event, inJobContext, processor, {
      context,
      // A batch where every job failed transiently is not a function error: the failures are
      // reported per item and measured by Sluice's own metrics.
      throwOnFullBatchFailure: false,
    });
  };
}
