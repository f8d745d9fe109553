/**
 * Message size limits of Sluice's queues. SQS counts a message's body and every attribute's name,
 * type and value against its queue's maximum. A handler dead-letters a message with its original
 * body plus the `sluice-*` attributes (functions/adapters/work-queues.ts: eight, each value at most
 * 1,000 characters, so under 33 KB), so a dead-letter queue must take more than its work queue:
 * with equal limits, a job near the limit could never be dead-lettered with its reason.
 */

/** The largest message a work queue (a source's jobs, the transform's) accepts: 256 KiB. */
export const WORK_QUEUE_MAX_MESSAGE_BYTES = 256 * 1024;

/** The largest message a dead-letter queue accepts: 1 MiB, the most SQS allows. */
export const DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES = 1024 * 1024;
