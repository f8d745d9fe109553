/** Lambda entry point: the transform (parse → normalize → validate → conditional upsert). */
import { z } from 'zod';
import { findParser } from '../../sources/parsers.js';
import { findSource } from '../../sources/registry.js';
import { dynamoDocumentClient, s3Client, snsClient, sqsClient } from '../adapters/aws-clients.js';
import { SqsFollowUpQueue } from '../adapters/follow-up-queue.js';
import { DynamoSnsHandoffDesk } from '../adapters/handoff-desk.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { DynamoRecordStore } from '../adapters/record-store.js';
import { DynamoSourceFreshness } from '../adapters/source-freshness.js';
import { SqsWorkQueues } from '../adapters/work-queues.js';
import { readEnvironment } from '../config.js';
import { APP_NAME_PATTERN } from '../core/resource-names.js';
import { createTransformHandler } from './manifest-batch-handler.js';

const env = readEnvironment({
  /** The deployment's name: jobs queues are named after it (functions/core/resource-names.ts). */
  SLUICE_APP_NAME: z.string().regex(APP_NAME_PATTERN),
  RAW_BUCKET_NAME: z.string().min(1),
  RECORDS_TABLE_NAME: z.string().min(1),
  LEDGER_TABLE_NAME: z.string().min(1),
  /** How long ledger items live (DynamoDB TTL), in days. */
  LEDGER_RETENTION_DAYS: z.coerce.number().int().positive(),
  TASKS_TABLE_NAME: z.string().min(1),
  HANDOFF_TOPIC_ARN: z.string().min(1),
  /** Set only by the local environment, which runs time faster. */
  SLUICE_TIME_SCALE: z.coerce.number().positive().optional(),
});

export const handler = createTransformHandler({
  rawStore: new S3RawStore(s3Client(), env.RAW_BUCKET_NAME),
  recordStore: new DynamoRecordStore(dynamoDocumentClient(), env.RECORDS_TABLE_NAME),
  ledger: new DynamoJobLedger(dynamoDocumentClient(), env.LEDGER_TABLE_NAME, {
    retentionDays: env.LEDGER_RETENTION_DAYS,
  }),
  // The transform queue and its DLQ are found from the event's queue ARN, like the collectors'.
  queues: new SqsWorkQueues(sqsClient()),
  desk: new DynamoSnsHandoffDesk(
    dynamoDocumentClient(),
    env.TASKS_TABLE_NAME,
    snsClient(),
    env.HANDOFF_TOPIC_ARN,
  ),
  freshness: new DynamoSourceFreshness(dynamoDocumentClient(), env.LEDGER_TABLE_NAME),
  findParser,
  findSource,
  // Follow-ups the parsers read go to their sources' jobs queues, found by name.
  followUpQueue: new SqsFollowUpQueue(sqsClient(), env.SLUICE_APP_NAME),
  rawBucketName: env.RAW_BUCKET_NAME,
  timeScale: env.SLUICE_TIME_SCALE ?? 1,
});
