import { describe, expect, it } from 'vitest';
import {
  alarmTopicName,
  assertAppName,
  deadLetterQueueName,
  jobsQueueName,
  loginSecretName,
  queueAccountOfArn,
  queueNameOfArn,
  sourceOfQueueName,
  transformQueueName,
} from '../../../../functions/core/resource-names.js';

describe('resource names', () => {
  it('name a source by its queue, and the queue by the app and the source', () => {
    const queue = jobsQueueName('Sluice', 'demo-catalog');

    expect(queue).toBe('Sluice-demo-catalog-jobs');
    expect(deadLetterQueueName(queue)).toBe('Sluice-demo-catalog-jobs-dlq');
    expect(sourceOfQueueName('Sluice', queue)).toBe('demo-catalog');
  });

  it('find no source for the transform queue, a DLQ, or a queue of another app', () => {
    for (const name of [
      transformQueueName('Sluice'),
      deadLetterQueueName(jobsQueueName('Sluice', 'demo-catalog')),
      jobsQueueName('SluiceStaging', 'demo-catalog'),
      'Sluice--jobs',
    ]) {
      expect(sourceOfQueueName('Sluice', name), name).toBeUndefined();
    }
  });

  it('read a source whose own name ends in -jobs', () => {
    expect(sourceOfQueueName('Sluice', jobsQueueName('Sluice', 'print-jobs'))).toBe('print-jobs');
  });

  it('take the queue name and account from an SQS ARN, and refuse anything else', () => {
    const arn = 'arn:aws:sqs:eu-west-1:111122223333:Sluice-demo-catalog-jobs';

    expect(queueNameOfArn(arn)).toBe('Sluice-demo-catalog-jobs');
    expect(queueAccountOfArn(arn)).toBe('111122223333');
    expect(() => queueNameOfArn('arn:aws:sns:eu-west-1:111122223333:topic')).toThrow(/not an SQS queue ARN/);
    expect(() => queueNameOfArn('Sluice-demo-catalog-jobs')).toThrow(/not an SQS queue ARN/);
  });

  it('name logins and alarm topics after the app', () => {
    expect(loginSecretName('Sluice', 'demo-portal')).toBe('Sluice/demo-portal/login');
    expect(alarmTopicName('Sluice', 'team-data')).toBe('Sluice-alarms-team-data');
  });

  it('keep the longest queue name within SQS’s 80 characters', () => {
    const longest = deadLetterQueueName(jobsQueueName('A'.repeat(20), `a${'b'.repeat(40)}`));

    expect(longest.length).toBeLessThanOrEqual(80);
  });

  it('refuse an app name that is not letters and digits, or could start another app’s names', () => {
    expect(assertAppName('Sluice2')).toBe('Sluice2');
    for (const name of ['sluice-prod', '2Sluice', '', 'A'.repeat(21)]) {
      expect(() => assertAppName(name), name).toThrow(/the app name must be a letter followed by/);
    }
  });
});
