/**
 * The change feed's stream adapter: reads a batch of the records table's stream (old and new
 * image of each write), decides which writes are changes (core/record-changes.ts) and publishes
 * their RecordChanged events, in stream order. It stops at the first event the bus did not take
 * and reports that record as the batch's failure: Lambda's event source mapping then delivers the
 * stream again from there, so nothing after it goes out first, and nothing before it is lost.
 * Records already published may go out again (at least once); their event IDs say so.
 */
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { Context, DynamoDBBatchResponse } from 'aws-lambda';
import type { ChangeRules } from '../../sources/define.js';
import type { ChangePublisher } from '../core/ports.js';
import { type ChangeDecision, changeOf, publications } from '../core/record-changes.js';
import { logger, MetricName, publishMetric, UNKNOWN_SOURCE } from '../observability.js';

export interface ChangeFeedHandlerDeps {
  readonly publisher: ChangePublisher;
  readonly findRules: (source: string) => ChangeRules | undefined;
}

export function createChangeFeedHandler(deps: ChangeFeedHandlerDeps) {
  return async function handler(event: unknown, context?: Context): Promise<DynamoDBBatchResponse> {
    if (context !== undefined) logger.addContext(context);
    // A batch Lambda itself assembled; one that does not parse is a defect, and throwing lets the
    // mapping bisect it down to the record at fault and send that to its on-failure destination.
    const batch = DynamoDBStreamSchema.parse(event);
    const changes: {
      pk: string;
      sequenceNumber: string;
      detail: Extract<ChangeDecision, { kind: 'change' }>['detail'];
    }[] = [];
    for (const record of batch.Records) {
      // Powertools types the unmarshalled images as its Kinesis variant too, which has no sequence number.
      const sequenceNumber = 'SequenceNumber' in record.dynamodb ? record.dynamodb.SequenceNumber : '';
      const decision = changeOf(
        {
          eventName: record.eventName,
          sequenceNumber,
          oldImage: record.dynamodb.OldImage,
          newImage: record.dynamodb.NewImage,
        },
        deps.findRules,
        (failure) =>
          logger.error('a change rule failed; the change is published as meaningful, normal priority', {
            source: failure.source,
            rule: failure.rule,
            error: failure.error instanceof Error ? failure.error.message : String(failure.error),
          }),
      );
      if (decision.kind === 'invalid') {
        logger.error('a record write is not a Record; no change event for it', {
          pk: decision.pk,
          problem: decision.problem,
          sequenceNumber,
          outcome: 'record-invalid',
        });
      }
      if (decision.kind === 'change') {
        changes.push({ pk: decision.pk, sequenceNumber, detail: decision.detail });
      }
    }
    let published = 0;
    for (const call of publications(changes)) {
      let failedAt: number | undefined;
      try {
        failedAt = await deps.publisher.publish(call.map((c) => c.detail));
      } catch (error) {
        logger.warn('publishing change events failed; the stream delivers them again', {
          error: error instanceof Error ? error.message : String(error),
          outcome: 'retrying',
        });
        failedAt = 0;
      }
      const accepted = failedAt === undefined ? call : call.slice(0, failedAt);
      for (const change of accepted) {
        logger.info('change published', {
          eventId: change.detail.eventId,
          traceId: change.detail.traceId,
          source: change.detail.source,
          meaningful: change.detail.meaningful,
          priority: change.detail.priority,
          outcome: 'published',
        });
      }
      published += accepted.length;
      const failed = failedAt === undefined ? undefined : call[failedAt];
      if (failed !== undefined) {
        publishMetric(UNKNOWN_SOURCE, MetricName.ChangeEventsPublished, published);
        return { batchItemFailures: [{ itemIdentifier: failed.sequenceNumber }] };
      }
    }
    if (published > 0) publishMetric(UNKNOWN_SOURCE, MetricName.ChangeEventsPublished, published);
    return { batchItemFailures: [] };
  };
}
