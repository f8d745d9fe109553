/** Lambda entry point: the browser collector (headless Chromium). */
import { z } from 'zod';
import {
  dynamoDocumentClient,
  s3Client,
  secretsClient,
  snsClient,
  sqsClient,
} from '../adapters/aws-clients.js';
import {
  BrowserCollector,
  BrowserSession,
  LoginSessions,
  launchChromium,
} from '../adapters/browser-collector.js';
import { DynamoSnsHandoffDesk } from '../adapters/handoff-desk.js';
import { DynamoJobLedger } from '../adapters/job-ledger.js';
import { S3RawCatalog } from '../adapters/raw-catalog.js';
import { S3RawStore } from '../adapters/raw-store.js';
import { SecretsManagerCredentials } from '../adapters/source-credentials.js';
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
  NAVIGATION_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** Every step but navigation: a selector, a form, an acknowledgement, a snapshot. */
  READY_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** A whole job; past it the browser is treated as hung and relaunched. */
  JOB_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** Source name → Secrets Manager ARN of its login, for sources that sign in. */
  SOURCE_CREDENTIALS: JsonStringMap.optional(),
  /** Optional: a Chromium binary to use instead of @sparticuz/chromium's (e.g. Debian's, locally). */
  SLUICE_CHROMIUM_EXECUTABLE: z.string().min(1).optional(),
  /** Set only by the local environment (the local profile); must point at loopback. */
  SLUICE_ORIGIN_OVERRIDES: JsonStringMap.optional(),
});

// Module scope: one browser and one set of login sessions per warm container, reused across
// invocations.
const browsers = new BrowserSession((proxyUrl) => launchChromium(env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl));
const collector = new BrowserCollector(browsers, {
  navigationTimeoutMs: env.NAVIGATION_TIMEOUT_MS,
  stepTimeoutMs: env.READY_TIMEOUT_MS,
  jobTimeoutMs: env.JOB_TIMEOUT_MS,
  originOverrides: assertLocalOverrides(env.SLUICE_ORIGIN_OVERRIDES ?? {}),
  userAgent: 'Sluice/0.1 (+collector; headless)',
  credentials: new SecretsManagerCredentials(secretsClient(), env.SOURCE_CREDENTIALS ?? {}),
  sessions: new LoginSessions(),
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
