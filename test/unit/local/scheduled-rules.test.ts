import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LocalSchedule, rateIntervalSeconds } from '../../../local/provision.js';
import { LocalScheduler, localIntervalMs, scheduledEvent } from '../../../local/scheduled-rules.js';

const rule = {
  logicalId: 'FreshnessSchedule',
  arn: 'arn:aws:events:us-east-1:123456789012:rule/FreshnessSchedule-abc',
  functionLogicalIds: ['FreshnessFunction'],
  intervalSeconds: 300,
};

describe('rateIntervalSeconds', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(2 hours)', 7200],
    ['rate(1 day)', 86_400],
  ])('reads %s as %d seconds', (expression, seconds) => {
    expect(rateIntervalSeconds(expression)).toBe(seconds);
  });

  it('does not read cron expressions, which run at times rather than intervals', () => {
    expect(rateIntervalSeconds('cron(0 12 * * ? *)')).toBeUndefined();
  });
});

describe('local schedules', () => {
  it('scale the interval by the time scale', () => {
    expect(localIntervalMs(rule, 1 / 60)).toBe(5000);
  });

  it('never fire more often than once a second', () => {
    expect(localIntervalMs(rule, 1 / 10_000)).toBe(1000);
  });

  it('send the event EventBridge sends for a schedule', () => {
    const event = scheduledEvent(rule, new Date('2026-11-27T10:00:00.123Z'), {
      region: 'us-east-1',
      accountId: '123456789012',
    });

    expect(event).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-11-27T10:00:00Z',
      resources: [rule.arn],
      detail: {},
    });
  });
});

describe('the local scheduler', () => {
  const schedule: LocalSchedule = {
    logicalId: 'ShipmentsSchedule',
    name: 'sluice-demo-shipments',
    expression: 'rate(1 hour)',
    timeZone: 'UTC',
    targetQueueUrl: 'http://sqs/jobs',
    input: '{"scheduledAt":"<aws.scheduler.scheduled-time>","attempt":<aws.scheduler.attempt-number>}',
    deadLetterQueueUrl: 'http://sqs/schedule-dlq',
    maxRetryAttempts: 2,
    enabled: true,
  };
  /** An SQS client that records what it is sent, failing the first `failures` sends. */
  function recordingSqs(failures = 0) {
    const sent: { queueUrl: string; body: unknown }[] = [];
    let calls = 0;
    const client = {
      send: async (command: SendMessageCommand) => {
        calls += 1;
        if (calls <= failures) throw new Error('SQS is down');
        sent.push({
          queueUrl: command.input.QueueUrl ?? '',
          body: JSON.parse(command.input.MessageBody ?? ''),
        });
        return {};
      },
    };
    return { sent, sqs: client as unknown as SQSClient };
  }
  const options = { timeScale: 1 / 60, region: 'eu-west-1', accountId: '123456789012' };

  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a rate(1 hour) schedule once a minute at 1/60, each run for its own scheduled hour', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-02T10:00:00Z') });
    const { sent, sqs } = recordingSqs();
    const scheduler = new LocalScheduler([schedule], sqs, options);
    scheduler.start();

    await vi.advanceTimersByTimeAsync(59_000);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await scheduler.stop();

    expect(sent).toEqual([
      { queueUrl: 'http://sqs/jobs', body: { scheduledAt: '2026-12-02T11:00:00Z', attempt: 1 } },
      { queueUrl: 'http://sqs/jobs', body: { scheduledAt: '2026-12-02T12:00:00Z', attempt: 1 } },
    ]);
    expect(scheduler.fired.get(schedule.name)).toBe(2);
  });

  it('retries a failing send with the attempt number, then gives the run to the schedule’s DLQ', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-02T10:00:00Z') });
    /** One firing for 11:00 through `sqs`, its retry sleeps run on the fake clock. */
    const fireOnce = async (sqs: SQSClient) => {
      const firing = new LocalScheduler([schedule], sqs, options).fire(
        schedule,
        new Date('2026-12-02T11:00:00Z'),
      );
      await vi.runAllTimersAsync();
      await firing;
    };
    const retried = recordingSqs(1);
    await fireOnce(retried.sqs);
    expect(retried.sent).toEqual([
      { queueUrl: 'http://sqs/jobs', body: { scheduledAt: '2026-12-02T11:00:00Z', attempt: 2 } },
    ]);

    const down = recordingSqs(3);
    await fireOnce(down.sqs);
    expect(down.sent).toEqual([
      {
        queueUrl: 'http://sqs/schedule-dlq',
        body: expect.objectContaining({ scheduledTime: '2026-12-02T11:00:00.000Z', error: 'SQS is down' }),
      },
    ]);
  });
});
