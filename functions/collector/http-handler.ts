/** Lambda entry point: the HTTP collector. */
import { z } from 'zod';
import { dynamoDocumentClient, s3Client, snsClient, sqsClient } from '../adapters/aws-clients.js';
import { DynamoSnsHandoffDesk } from '../adapters/handoff-desk.js';
import { HttpCollector } from '../adapters/http-collector.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawCatalog } from '../adapters/raw-catalog.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { QueueRoutes, SqsWorkQueues } from '../adapters/work-queues.js';
import { JsonStringMap, jsonVariable, readEnvironment } from '../config.js';
import { assertLocalOverrides } from '../core/egress.js';
import { PermanentError } from '../core/errors.js';
import { createCollectorHandler } from './job-batch-handler.js';

const env = readEnvironment({
  RAW_BUCKET_NAME: z.string().min(1),
  LEDGER_TABLE_NAME: z.string().min(1),
  QUEUE_ROUTES: jsonVariable(QueueRoutes),
  TASKS_TABLE_NAME: z.string().min(1),
  HANDOFF_TOPIC_ARN: z.string().min(1),
  /** Set only by the local environment, which runs time faster. */
  SLUICE_TIME_SCALE: z.coerce.number().positive().optional(),
  HTTP_TIMEOUT_MS: z.coerce.number().int().positive(),
  MAX_BODY_BYTES: z.coerce.number().int().positive(),
  /** Set only by the local environment (the local profile); must point at loopback. */
  SLUICE_ORIGIN_OVERRIDES: JsonStringMap.optional(),
});

const collector = new HttpCollector({
  timeoutMs: env.HTTP_TIMEOUT_MS,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxRedirects: 5,
  userAgent: 'Sluice/0.1 (+collector)',
  originOverrides: assertLocalOverrides(env.SLUICE_ORIGIN_OVERRIDES ?? {}),
});
const ledger = new DynamoJobLedger(dynamoDocumentClient(), env.LEDGER_TABLE_NAME);

export const handler = createCollectorHandler({
  collect: (source, request) => {
    if (source.kind !== 'http') {
      throw new PermanentError(`${source.name} is a ${source.kind} source, sent to the HTTP collector`, {
        reason: 'wrong-collector',
      });
    }
    return collector.collect(source, request);
  },
  rawStore: new S3RawStore(s3Client(), env.RAW_BUCKET_NAME),
  catalog: new S3RawCatalog(s3Client(), env.RAW_BUCKET_NAME),
  ledger,
  claims: ledger,
  queues: new SqsWorkQueues(sqsClient(), env.QUEUE_ROUTES),
  desk: new DynamoSnsHandoffDesk(
    dynamoDocumentClient(),
    env.TASKS_TABLE_NAME,
    snsClient(),
    env.HANDOFF_TOPIC_ARN,
  ),
  timeScale: env.SLUICE_TIME_SCALE ?? 1,
});
