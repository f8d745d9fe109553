import { describe, expect, it } from 'vitest';
import { rateIntervalSeconds } from '../../../local/provision.js';
import { localIntervalMs, scheduledEvent } from '../../../local/scheduled-rules.js';

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
