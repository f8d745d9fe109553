/**
 * What both collector entry points share: the environment every collector reads, and the wiring
 * of the batch handler to its AWS adapters. Each entry point adds only its own fetch mechanism.
 */
import { z } from 'zod';
import type { CollectorKind, SourceDefinition } from '../../sources/define.js';
import { dynamoDocumentClient, s3Client, snsClient, sqsClient } from '../adapters/aws-clients.js';
import { SqsFollowUpQueue } from '../adapters/follow-up-queue.js';
import { DynamoSnsHandoffDesk } from '../adapters/handoff-desk.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawCatalog } from '../adapters/raw-catalog.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { SqsWorkQueues } from '../adapters/work-queues.js';
import { JsonStringMap } from '../config.js';
import type { Collection, CollectRequest } from '../core/collection.js';
import { PermanentError } from '../core/errors.js';
import { APP_NAME_PATTERN, queueNameOfArn, sourceOfQueueName } from '../core/resource-names.js';
import { createCollectorHandler } from './job-batch-handler.js';

/**
 * The environment every collector reads (infra/constructs/collector-function.ts sets it). Nothing
 * in it is per source: a message's source and DLQ follow from the queue it came from.
 */
export const COLLECTOR_ENVIRONMENT = {
  /** The deployment's name: queue and secret names start with it (functions/core/resource-names.ts). */
  SLUICE_APP_NAME: z.string().regex(APP_NAME_PATTERN),
  RAW_BUCKET_NAME: z.string().min(1),
  LEDGER_TABLE_NAME: z.string().min(1),
  /** How long ledger items live (DynamoDB TTL), in days. */
  LEDGER_RETENTION_DAYS: z.coerce.number().int().positive(),
  TASKS_TABLE_NAME: z.string().min(1),
  HANDOFF_TOPIC_ARN: z.string().min(1),
  /** Set only by the local environment, which runs time faster. */
  SLUICE_TIME_SCALE: z.coerce.number().positive().optional(),
  /** Set only by the local environment (the local profile); must point at loopback. */
  SLUICE_ORIGIN_OVERRIDES: JsonStringMap.optional(),
};

type CollectorEnvironment = z.infer<z.ZodObject<typeof COLLECTOR_ENVIRONMENT>>;

/** The Lambda handler of the `kind` collector, fetching with `collect`. */
export function collectorHandler<Kind extends CollectorKind>(
  kind: Kind,
  env: CollectorEnvironment,
  collect: (
    source: Extract<SourceDefinition, { kind: Kind }>,
    request: CollectRequest,
  ) => Promise<Collection>,
) {
  const isOwnKind = (source: SourceDefinition): source is Extract<SourceDefinition, { kind: Kind }> =>
    source.kind === kind;
  const ledger = new DynamoJobLedger(dynamoDocumentClient(), env.LEDGER_TABLE_NAME, {
    retentionDays: env.LEDGER_RETENTION_DAYS,
  });
  return createCollectorHandler({
    collect: (source, request) => {
      if (!isOwnKind(source)) {
        throw new PermanentError(`${source.name} is a ${source.kind} source, sent to the ${kind} collector`, {
          reason: 'wrong-collector',
        });
      }
      return collect(source, request);
    },
    rawStore: new S3RawStore(s3Client(), env.RAW_BUCKET_NAME),
    catalog: new S3RawCatalog(s3Client(), env.RAW_BUCKET_NAME),
    ledger,
    claims: ledger,
    queues: new SqsWorkQueues(sqsClient()),
    followUpQueue: new SqsFollowUpQueue(sqsClient(), env.SLUICE_APP_NAME),
    sourceOfQueue: (queueArn) => sourceOfQueueName(env.SLUICE_APP_NAME, queueNameOfArn(queueArn)),
    desk: new DynamoSnsHandoffDesk(
      dynamoDocumentClient(),
      env.TASKS_TABLE_NAME,
      snsClient(),
      env.HANDOFF_TOPIC_ARN,
    ),
    timeScale: env.SLUICE_TIME_SCALE ?? 1,
  });
}
