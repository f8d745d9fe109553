/**
 * A dead letter carries its reason in SQS message attributes, and SQS refuses a whole SendMessage
 * for one character it does not take. These are the cases the handler fuzzing found: an error
 * message that quotes half an emoji (V8's JSON errors cut the input by UTF-16 unit), Playwright's
 * terminal colour codes, and a job near the size limit whose reason would not fit beside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attributeText,
  DeadLetterAttribute,
  type DeadLetterNote,
} from '../../functions/adapters/work-queues.js';
import { type JobMessage, parseJobMessage } from '../../functions/core/collect-job.js';
import {
  DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
} from '../../infra/queue-limits.js';
import { findSource } from '../../sources/registry.js';
import { refusedCharacterIn, SqsContract, workQueuesOver } from './fuzz/sqs-contract.js';

/** A queue and its DLQ, named as the stacks name them: the DLQ is `<queue>-dlq`. */
const ROUTE = {
  queueArn: 'arn:aws:sqs:us-east-1:123456789012:jobs',
  queueUrl: 'https://sqs.local/jobs',
  deadLetterQueueUrl: 'https://sqs.local/jobs-dlq',
};

const contract = new SqsContract((url) =>
  url === ROUTE.deadLetterQueueUrl ? DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES : WORK_QUEUE_MAX_MESSAGE_BYTES,
);
let sqs: ReturnType<typeof workQueuesOver>;

beforeAll(() => {
  sqs = workQueuesOver(contract);
});

afterAll(() => sqs.restore());

function note(message: string, reason = 'message-not-json'): DeadLetterNote {
  return {
    reason,
    errorClass: 'permanent',
    message,
    jobKey: 'msg-1',
    traceId: 'trace-0001',
    source: undefined,
    originalMessageId: 'm-1',
    attempts: 1,
  };
}

function message(body: string): JobMessage {
  return {
    messageId: 'm-1',
    body,
    receiveCount: 1,
    sentAt: new Date('2026-11-27T08:00:00Z'),
    deliveryId: 'req-1',
  };
}

describe('a job message that is not JSON', () => {
  it('is refused with a message that holds no half of a surrogate pair, even when the body is emoji', () => {
    const parsed = parseJobMessage(message('😀😀😀😀😀😀'), findSource);

    expect(parsed.ok).toBe(false);
    const text = parsed.ok ? '' : parsed.error.message;
    expect(text).toContain('job message is not JSON');
    expect(refusedCharacterIn(text)).toBeUndefined();
  });
});

describe('dead-letter attributes', () => {
  it('are accepted by SQS whatever the error message holds', async () => {
    const hostile = `\u001b[2m  - fill("x")\u001b[22m \uD83D and \u0000\u0007 ${'😀'.repeat(2000)}`;

    await sqs.queues.deadLetter(ROUTE.queueArn, 'not json', note(hostile));

    const sent = contract.sent.at(-1);
    const text = sent?.attributes[DeadLetterAttribute.ErrorMessage] ?? '';
    expect(contract.refusals).toEqual([]);
    expect(text.startsWith('  - fill("x") \uFFFD and \uFFFD\uFFFD 😀')).toBe(true);
    expect([...text]).toHaveLength(1000);
  });

  it('never cut a character in half', () => {
    const text = attributeText(`a${'😀'.repeat(1500)}`);

    expect(refusedCharacterIn(text)).toBeUndefined();
    expect([...text]).toHaveLength(1000);
  });

  it('say "-" rather than nothing, which SQS refuses', () => {
    expect(attributeText('')).toBe('-');
    expect(attributeText('\u001b[0m')).toBe('-');
  });

  it('fit beside the largest body a work queue accepts', async () => {
    const body = 'x'.repeat(WORK_QUEUE_MAX_MESSAGE_BYTES);

    await sqs.queues.deadLetter(ROUTE.queueArn, body, note('😀'.repeat(5000), 'message-too-large'));

    expect(contract.refusals).toEqual([]);
    expect(contract.sent.at(-1)?.body).toBe(body);
  });
});
