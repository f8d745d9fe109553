import { describe, expect, it } from 'vitest';
import { CliError, explainAwsError, resourcesFrom } from '../../../cli/target.js';
import type { StackResource } from '../../../local/local-env-file.js';

function resource(logicalId: string, type: string, physicalId: string, tags: { [key: string]: string } = {}) {
  // The core stack's resources, and the source stacks' queues and collectors.
  const stack =
    /Queue$|Dlq$/.test(logicalId) && !logicalId.startsWith('Transform') ? 'Sluice-Sources-01' : 'Sluice';
  return { stack, logicalId, type, physicalId, tags } satisfies StackResource;
}

const queueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;

const stack: StackResource[] = [
  resource('RecordsTable', 'AWS::DynamoDB::GlobalTable', 'Sluice-RecordsTable-1', {
    'sluice:role': 'records',
  }),
  resource('JobLedgerTable', 'AWS::DynamoDB::GlobalTable', 'Sluice-JobLedger-1', {
    'sluice:role': 'ledger',
    'sluice:retention-days': '400',
  }),
  resource('HandoffTasksTable', 'AWS::DynamoDB::GlobalTable', 'Sluice-Tasks-1', { 'sluice:role': 'tasks' }),
  resource('RawBucket', 'AWS::S3::Bucket', 'sluice-rawbucket-1', { 'sluice:role': 'raw' }),
  resource('AccessLogsBucket', 'AWS::S3::Bucket', 'sluice-logs-1', { 'sluice:role': 'access-logs' }),
  ...['demo-catalog', 'demo-rates'].flatMap((source) => [
    resource(`${source}Queue`, 'AWS::SQS::Queue', queueUrl(`${source}-jobs`), {
      'sluice:role': 'work',
      'sluice:stage': 'collect',
      'sluice:source': source,
    }),
    resource(`${source}Dlq`, 'AWS::SQS::Queue', queueUrl(`${source}-dlq`), {
      'sluice:role': 'dead-letter',
      'sluice:stage': 'collect',
      'sluice:source': source,
    }),
  ]),
  resource('TransformQueue', 'AWS::SQS::Queue', queueUrl('transform'), {
    'sluice:role': 'work',
    'sluice:stage': 'transform',
  }),
  resource('TransformDlq', 'AWS::SQS::Queue', queueUrl('transform-dlq'), {
    'sluice:role': 'dead-letter',
    'sluice:stage': 'transform',
  }),
  resource('TransformFunction', 'AWS::Lambda::Function', 'Sluice-Transform-1', {
    'sluice:role': 'transform',
  }),
  resource('BucketNotificationsHandler', 'AWS::Lambda::Function', 'Sluice-BucketNotif-1'),
];

describe('resourcesFrom', () => {
  it("finds Sluice's tables, bucket, queue pairs and functions by their tags", () => {
    const found = resourcesFrom('Sluice', stack);

    expect(found).toMatchObject({
      appName: 'Sluice',
      ledgerTable: 'Sluice-JobLedger-1',
      ledgerRetentionDays: 400,
      tasksTable: 'Sluice-Tasks-1',
      recordsTable: 'Sluice-RecordsTable-1',
      rawBucket: 'sluice-rawbucket-1',
      transformQueues: {
        name: 'transform',
        jobsUrl: queueUrl('transform'),
        deadLetterUrl: queueUrl('transform-dlq'),
      },
      functions: [{ role: 'transform', stack: 'Sluice', name: 'Sluice-Transform-1' }],
    });
    expect([...found.sourceQueues.values()]).toEqual([
      {
        name: 'demo-catalog',
        jobsUrl: queueUrl('demo-catalog-jobs'),
        deadLetterUrl: queueUrl('demo-catalog-dlq'),
      },
      { name: 'demo-rates', jobsUrl: queueUrl('demo-rates-jobs'), deadLetterUrl: queueUrl('demo-rates-dlq') },
    ]);
  });

  it("finds each signing-in source's login secret by its tags, and no other secret", () => {
    const secretArn = (id: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}`;
    const withSecrets = [
      ...stack,
      resource('demoPortalLogin', 'AWS::SecretsManager::Secret', secretArn('Sluice/demo-portal/login-a1'), {
        'sluice:role': 'credentials',
        'sluice:source': 'demo-portal',
      }),
      resource('OtherSecret', 'AWS::SecretsManager::Secret', secretArn('unrelated-b2'), {
        'sluice:role': 'something-else',
      }),
    ];

    expect([...resourcesFrom('Sluice', withSecrets).loginSecrets]).toEqual([
      ['demo-portal', secretArn('Sluice/demo-portal/login-a1')],
    ]);
  });

  it('says which resource is missing when the stacks are not a Sluice app', () => {
    const withoutLedger = stack.filter((r) => r.logicalId !== 'JobLedgerTable');

    expect(() => resourcesFrom('Sluice', withoutLedger)).toThrow(
      new CliError('the app should have exactly one table tagged sluice:role=ledger, found 0'),
    );
  });
});

describe('explainAwsError', () => {
  it('tells an operator without credentials what to do', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });

    const explained = explainAwsError(error, 'Sluice', 'eu-west-1');

    expect(explained).toBeInstanceOf(CliError);
    expect(explained.message).toMatch(
      /^no AWS credentials found .*or run against the local environment with --local$/,
    );
  });

  it('names the app and region when a stack does not exist', () => {
    const error = Object.assign(new Error('Stack with id Sluice-Sources-01 does not exist'), {
      name: 'ValidationError',
    });

    expect(explainAwsError(error, 'Sluice', 'eu-west-1').message).toMatch(
      /^a stack of app Sluice does not exist in eu-west-1/,
    );
  });
});
