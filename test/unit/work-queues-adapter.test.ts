/**
 * The SQS adapter finds a queue's URL and its DLQ's from the queue ARN an event carries (SDK
 * mocked): asked once per queue and container, never for a queue it was not handed.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type DeadLetterNote, SqsWorkQueues } from '../../functions/adapters/work-queues.js';

const client = new SQSClient({ region: 'eu-west-1' });
const mock = mockClient(client);
const ARN = 'arn:aws:sqs:eu-west-1:111122223333:Sluice-demo-catalog-jobs';
const url = (name: string) => `https://sqs.eu-west-1.amazonaws.com/111122223333/${name}`;

const note: DeadLetterNote = {
  reason: 'http-404',
  errorClass: 'permanent',
  message: 'not found',
  jobKey: 'id-1',
  traceId: 'trace-1',
  source: 'demo-catalog',
  originalMessageId: 'm-1',
  attempts: 1,
};

beforeEach(() => {
  mock.reset();
  mock.on(GetQueueUrlCommand).callsFake((input) => ({ QueueUrl: url(input.QueueName) }));
  mock.on(SendMessageCommand).resolves({ MessageId: 'd-1' });
  mock.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('SqsWorkQueues', () => {
  it("dead-letters into the queue's own DLQ, <queue>-dlq, in the queue's account", async () => {
    const queues = new SqsWorkQueues(client);

    await queues.deadLetter(ARN, '{"source":"demo-catalog"}', note);

    expect(mock.commandCalls(GetQueueUrlCommand).map((c) => c.args[0].input)).toEqual([
      { QueueName: 'Sluice-demo-catalog-jobs-dlq', QueueOwnerAWSAccountId: '111122223333' },
    ]);
    expect(mock.commandCalls(SendMessageCommand)[0]?.args[0].input.QueueUrl).toBe(
      url('Sluice-demo-catalog-jobs-dlq'),
    );
  });

  it('delays a message on the queue it came from', async () => {
    const queues = new SqsWorkQueues(client);

    await queues.delay(ARN, 'receipt-1', 30);

    expect(mock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({
      QueueUrl: url('Sluice-demo-catalog-jobs'),
      ReceiptHandle: 'receipt-1',
      VisibilityTimeout: 30,
    });
  });

  it('asks for each URL once per container', async () => {
    const queues = new SqsWorkQueues(client);

    await Promise.all([
      queues.delay(ARN, 'r-1', 30),
      queues.delay(ARN, 'r-2', 30),
      queues.deadLetter(ARN, '{}', note),
    ]);
    await queues.deadLetter(ARN, '{}', note);

    expect(mock.commandCalls(GetQueueUrlCommand)).toHaveLength(2);
  });

  it('asks again after a lookup failed, rather than keeping the failure', async () => {
    mock
      .on(GetQueueUrlCommand)
      .rejectsOnce(new Error('throttled'))
      .callsFake((input) => ({ QueueUrl: url(input.QueueName) }));
    const queues = new SqsWorkQueues(client);

    await expect(queues.delay(ARN, 'r-1', 30)).rejects.toThrow('throttled');
    await queues.delay(ARN, 'r-2', 30);

    expect(mock.commandCalls(GetQueueUrlCommand)).toHaveLength(2);
    expect(mock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
  });

  it('refuses an event source that is not a queue', async () => {
    await expect(new SqsWorkQueues(client).delay('arn:aws:sns:eu-west-1:1:topic', 'r', 1)).rejects.toThrow(
      /not an SQS queue ARN/,
    );
  });
});
