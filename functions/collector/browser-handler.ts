/** Lambda entry point: the browser collector (headless Chromium). */
import { z } from 'zod';
import { dynamoDocumentClient, s3Client, snsClient, sqsClient } from '../adapters/aws-clients.js';
import { BrowserCollector, BrowserSession, launchChromium } from '../adapters/browser-collector.js';
import { DynamoSnsHandoffDesk } from '../adapters/handoff-desk.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { QueueRoutes, SqsWorkQueues } from '../adapters/work-queues.js';
import { JsonStringMap, jsonVariable, readEnvironment } from '../config.js';
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
  NAVIGATION_TIMEOUT_MS: z.coerce.number().int().positive(),
  READY_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** Optional: a Chromium binary to use instead of @sparticuz/chromium's (e.g. Debian's, locally). */
  SLUICE_CHROMIUM_EXECUTABLE: z.string().min(1).optional(),
  SLUICE_ORIGIN_OVERRIDES: JsonStringMap.optional(),
});

// Module scope: one browser per warm container, reused across invocations.
const session = new BrowserSession(() => launchChromium(env.SLUICE_CHROMIUM_EXECUTABLE));
const collector = new BrowserCollector(session, {
  navigationTimeoutMs: env.NAVIGATION_TIMEOUT_MS,
  readyTimeoutMs: env.READY_TIMEOUT_MS,
  originOverrides: env.SLUICE_ORIGIN_OVERRIDES ?? {},
  userAgent: 'Sluice/0.1 (+collector; headless)',
  blockedResourceTypes: new Set(['image', 'font', 'media']),
});
const ledger = new DynamoJobLedger(dynamoDocumentClient(), env.LEDGER_TABLE_NAME);

export const handler = createCollectorHandler({
  collect: (source, request) => {
    if (source.kind !== 'browser') {
      throw new PermanentError(`${source.name} is a ${source.kind} source, sent to the browser collector`, {
        reason: 'wrong-collector',
      });
    }
    return collector.collect(source, request);
  },
  rawStore: new S3RawStore(s3Client(), env.RAW_BUCKET_NAME),
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
