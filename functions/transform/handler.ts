/** Lambda entry point: the transform (parse → normalize → validate → conditional upsert). */
import { z } from 'zod';
import { findParser } from '../../sources/parsers.js';
import { dynamoDocumentClient, s3Client, sqsClient } from '../adapters/aws-clients.js';
import { DeadLetterRoutes, SqsDeadLetters } from '../adapters/dead-letters.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { DynamoRecordStore } from '../adapters/record-store.js';
import { jsonVariable, readEnvironment } from '../config.js';
import { createTransformHandler } from './manifest-batch-handler.js';

const env = readEnvironment({
  RAW_BUCKET_NAME: z.string().min(1),
  RECORDS_TABLE_NAME: z.string().min(1),
  LEDGER_TABLE_NAME: z.string().min(1),
  DEAD_LETTER_ROUTES: jsonVariable(DeadLetterRoutes),
});

export const handler = createTransformHandler({
  rawStore: new S3RawStore(s3Client(), env.RAW_BUCKET_NAME),
  recordStore: new DynamoRecordStore(dynamoDocumentClient(), env.RECORDS_TABLE_NAME),
  ledger: new DynamoJobLedger(dynamoDocumentClient(), env.LEDGER_TABLE_NAME),
  deadLetters: new SqsDeadLetters(sqsClient(), env.DEAD_LETTER_ROUTES),
  findParser,
  rawBucketName: env.RAW_BUCKET_NAME,
});
