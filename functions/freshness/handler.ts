/**
 * Lambda entry point: the freshness checker, run on a schedule (EventBridge). Publishes each
 * source's data age and hand-off backlog, so a source that stopped producing records alarms even
 * when nothing runs for it.
 */
import { z } from 'zod';
import { sources } from '../../sources/registry.js';
import { dynamoDocumentClient } from '../adapters/aws-clients.js';
import { DynamoHandoffTaskList } from '../adapters/handoff-tasks.js';
import { DynamoSourceFreshness } from '../adapters/source-freshness.js';
import { readEnvironment } from '../config.js';
import { createFreshnessHandler } from './freshness-checker.js';

const env = readEnvironment({
  LEDGER_TABLE_NAME: z.string().min(1),
  TASKS_TABLE_NAME: z.string().min(1),
});

export const handler = createFreshnessHandler({
  sources,
  freshness: new DynamoSourceFreshness(dynamoDocumentClient(), env.LEDGER_TABLE_NAME),
  tasks: new DynamoHandoffTaskList(dynamoDocumentClient(), env.TASKS_TABLE_NAME),
  clock: () => new Date(),
});
