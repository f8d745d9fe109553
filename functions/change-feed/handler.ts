/** Lambda entry point: the change feed (records table stream → RecordChanged events on the bus). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { findChangeRules } from '../../sources/change-rules.js';
import { EventBridgeChangePublisher } from '../adapters/change-publisher.js';
import { readEnvironment } from '../config.js';
import { tracer } from '../observability.js';
import { createChangeFeedHandler } from './stream-batch-handler.js';

const env = readEnvironment({
  /** The change feed's event bus (`<app>-records`). */
  CHANGE_BUS_NAME: z.string().min(1),
});

export const handler = createChangeFeedHandler({
  publisher: new EventBridgeChangePublisher(
    tracer.captureAWSv3Client(new EventBridgeClient({})),
    env.CHANGE_BUS_NAME,
  ),
  findRules: findChangeRules,
});
