/**
 * The transform's retry budget (DESIGN.md decision 5). A transform fails transiently when S3 or
 * DynamoDB throttle or blink; those clear in seconds to minutes, so the delays are short. The
 * transform queue's redrive (maxReceiveCount) is derived from this budget, so the handler always
 * dead-letters a message itself, with its reason, before SQS would move it silently.
 */
import type { RetryBudget } from '../../sources/define.js';

export const TRANSFORM_RETRY_BUDGET: RetryBudget = { delaysSeconds: [15, 60, 300] };

/** Receives of one transform message before SQS's redrive moves it: the first plus every retry. */
export const TRANSFORM_MAX_RECEIVE_COUNT = TRANSFORM_RETRY_BUDGET.delaysSeconds.length + 1;
