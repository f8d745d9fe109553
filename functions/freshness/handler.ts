/**
 * Lambda entry point: the freshness checker, run on a schedule (EventBridge). Publishes each
 * source's data age and hand-off backlog, so a source that stopped producing records alarms even
 * when nothing runs for it.
 */
import { z } from 'zod';
import { fixtureSources, sources } from '../../sources/registry.js';
import { dynamoDocumentClient } from '../adapters/aws-clients.js';
import { DynamoHandoffTaskList } from '../adapters/handoff-tasks.js';
import { DynamoSourceFreshness } from '../adapters/source-freshness.js';
import { readEnvironment } from '../config.js';
import { createFreshnessHandler } from './freshness-checker.js';

const env = readEnvironment({
  LEDGER_TABLE_NAME: z.string().min(1),
  TASKS_TABLE_NAME: z.string().min(1),
  /** Set by the stack when it holds the test-fixture sources (the local environment's only). */
  SLUICE_FIXTURE_SOURCES: z.enum(['true']).optional(),
  /** Set only by the local environment, which runs time faster. */
  SLUICE_TIME_SCALE: z.coerce.number().positive().optional(),
});

export const handler = createFreshnessHandler({
  sources: env.SLUICE_FIXTURE_SOURCES === 'true' ? [...sources, ...fixtureSources] : sources,
  freshness: new DynamoSourceFreshness(dynamoDocumentClient(), env.LEDGER_TABLE_NAME),
  tasks: new DynamoHandoffTaskList(dynamoDocumentClient(), env.TASKS_TABLE_NAME),
  clock: () => new Date(),
  timeScale: env.SLUICE_TIME_SCALE ?? 1,
});
