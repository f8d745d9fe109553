/**
 * The SQS adapter shared by both collectors: parses each record into a JobMessage, runs the core,
 * and maps the outcome to what SQS should do next. Transient failures are reported as batch item
 * failures (SQS redelivers after the visibility timeout, redrive ends in the DLQ); permanent and
 * needs-human failures go to the DLQ at once with their reason.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { findSource } from '../../sources/registry.js';
import type { DeadLetters } from '../adapters/dead-letters.js';
import type { JobLedger } from '../adapters/job-ledger.js';
import type { RawStore } from '../adapters/raw-store.js';
import { type CollectJobDeps, collectJob, type JobMessage } from '../core/collect-job.js';
import { failureClassOf } from '../core/errors.js';
import { countForSource, logger, MetricName, metrics, timeForSource } from '../observability.js';

export interface CollectorHandlerDeps {
  readonly collect: CollectJobDeps['collect'];
  readonly rawStore: RawStore;
  readonly ledger: JobLedger;
  readonly deadLetters: DeadLetters;
}

function toJobMessage(record: SQSRecord): JobMessage {
  return {
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
    sentAt: new Date(Number(record.attributes.SentTimestamp) || Date.now()),
  };
}

export function createCollectorHandler(deps: CollectorHandlerDeps) {
  const processor = new BatchProcessor(EventType.SQS);

  async function handleRecord(record: SQSRecord): Promise<void> {
    const message = toJobMessage(record);
    const outcome = await collectJob(message, {
      collect: deps.collect,
      rawStore: deps.rawStore,
      ledger: deps.ledger,
      findSource,
      clock: () => new Date(),
    });
    const { identity } = outcome;
    const source = identity.source ?? 'unknown';
    const context = {
      traceId: identity.traceId,
      jobKey: identity.jobKey,
      source,
      messageId: record.messageId,
      attempt: message.receiveCount,
      durationMs: outcome.durationMs,
    };

    if (outcome.status === 'collected') {
      logger.info('job collected', { ...context, outcome: 'collected', manifestKey: outcome.manifestKey });
      countForSource(source, MetricName.JobSucceeded);
      timeForSource(source, MetricName.CollectionLatency, outcome.durationMs);
      return;
    }

    const errorClass = failureClassOf(outcome.error);
    const errorFields = { errorClass, reason: outcome.error.reason, error: outcome.error.message };
    if (errorClass === 'transient') {
      logger.warn('job failed; will retry', { ...context, ...errorFields, outcome: 'retrying' });
      countForSource(source, MetricName.JobRetried);
      throw outcome.error;
    }
    await deps.deadLetters.send(record.eventSourceARN, record.body, {
      reason: outcome.error.reason,
      errorClass,
      message: outcome.error.message,
      jobKey: identity.jobKey,
      traceId: identity.traceId,
      source: identity.source,
      originalMessageId: record.messageId,
    });
    logger.error('job dead-lettered', { ...context, ...errorFields, outcome: 'dead-lettered' });
    countForSource(source, MetricName.JobDeadLettered);
  }

  return async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    logger.addContext(context);
    try {
      return await processPartialResponse(event, handleRecord, processor, {
        context,
        // A batch where every job failed transiently is not a function error: the failures are
        // reported per item and measured by Sluice's own metrics.
        throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
