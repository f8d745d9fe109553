/**
 * The transform's retry budget (DESIGN.md decision 5). A transform fails transiently when S3 or
 * DynamoDB throttle or blink; those clear in seconds to minutes, so the delays are short. The
 * transform queue's redrive (maxReceiveCount) is derived from this budget with room for receives
 * that were never reported, so the handler dead-letters a message itself, with its reason, before
 * SQS would move it silently.
 */
import type { RetryBudget } from '../../sources/define.js';
import { maxReceiveCountFor } from './retry-policy.js';

export const TRANSFORM_RETRY_BUDGET: RetryBudget = { delaysSeconds: [15, 60, 300] };

/**
 * Receives of one transform message before SQS's redrive moves it: the first plus every retry,
 * plus the receives a crashed or timed-out invocation never reported (UNREPORTED_RECEIVES_ALLOWED).
 */
export const TRANSFORM_MAX_RECEIVE_COUNT = maxReceiveCountFor(TRANSFORM_RETRY_BUDGET);
