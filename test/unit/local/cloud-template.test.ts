import { describe, expect, it } from 'vitest';
import {
  IntrinsicResolver,
  type ResolvedResource,
  UnresolvedReferenceError,
} from '../../../local/cloud-template.js';

const QUEUE_URL = 'http://localhost:5000/000000000000/jobs-queue';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:000000000000:jobs-queue';

const resources = new Map<string, ResolvedResource>([
  ['JobsQueue', { ref: QUEUE_URL, attributes: { Arn: QUEUE_ARN, QueueName: 'jobs-queue' } }],
  ['RawBucket', { ref: 'sluice-raw-abc123', attributes: { Arn: 'arn:aws:s3:::sluice-raw-abc123' } }],
]);
const resolver = new IntrinsicResolver(resources, {
  region: 'eu-west-1',
  accountId: '000000000000',
  stackName: 'Sluice',
});

function resolutionError(value: unknown): unknown {
  try {
    resolver.resolve(value);
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${JSON.stringify(value)} not to resolve`);
}

describe('IntrinsicResolver', () => {
  it('resolves Ref to the created resource', () => {
    expect(resolver.resolve({ Ref: 'JobsQueue' })).toBe(QUEUE_URL);
  });

  it('resolves Fn::GetAtt in its list form', () => {
    expect(resolver.resolve({ 'Fn::GetAtt': ['JobsQueue', 'Arn'] })).toBe(QUEUE_ARN);
  });

  it('resolves Fn::GetAtt in its dotted string form', () => {
    expect(resolver.resolve({ 'Fn::GetAtt': 'JobsQueue.QueueName' })).toBe('jobs-queue');
  });

  it('refuses an attribute the local resource does not have', () => {
    const error = resolutionError({ 'Fn::GetAtt': ['JobsQueue', 'KmsKeyArn'] });

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnresolvedReferenceError);
    expect(error).toMatchObject({ message: expect.stringContaining('KmsKeyArn') });
  });

  it.each([
    ['AWS::Region', 'eu-west-1'],
    ['AWS::AccountId', '000000000000'],
    ['AWS::Partition', 'aws'],
    ['AWS::URLSuffix', 'amazonaws.com'],
    ['AWS::StackName', 'Sluice'],
  ])('resolves the pseudo parameter %s', (name, expected) => {
    expect(resolver.resolve({ Ref: name })).toBe(expected);
  });

  it('drops a property set to AWS::NoValue', () => {
    expect(resolver.resolve({ QueueName: 'q', KmsMasterKeyId: { Ref: 'AWS::NoValue' } })).toEqual({
      QueueName: 'q',
    });
  });

  it('refuses a pseudo parameter it does not know', () => {
    expect(resolutionError({ Ref: 'AWS::NotificationARNs' })).toMatchObject({
      message: expect.stringContaining('AWS::NotificationARNs'),
    });
  });

  it('resolves Fn::Join over resolved parts', () => {
    const value = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'RawBucket' }, '/*']],
    };

    expect(resolver.resolve(value)).toBe('arn:aws:s3:::sluice-raw-abc123/*');
  });

  it('resolves Fn::Split into a list', () => {
    expect(resolver.resolve({ 'Fn::Split': [':', { 'Fn::GetAtt': ['JobsQueue', 'Arn'] }] })).toEqual([
      'arn',
      'aws',
      'sqs',
      'eu-west-1',
      '000000000000',
      'jobs-queue',
    ]);
  });

  it('resolves Fn::Select from a resolved list', () => {
    const value = { 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['JobsQueue', 'Arn'] }] }] };

    expect(resolver.resolve(value)).toBe('jobs-queue');
  });

  it('refuses Fn::Select over something that is not a list', () => {
    expect(resolutionError({ 'Fn::Select': [0, 'not-a-list'] })).toMatchObject({
      message: expect.stringContaining('list'),
    });
  });

  it('resolves Fn::Sub with pseudo parameters, Refs and attributes and no variable map', () => {
    const value = {
      'Fn::Sub':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
        'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${JobsQueue.QueueName} at ${JobsQueue}',
    };

    expect(resolver.resolve(value)).toBe(`${QUEUE_ARN} at ${QUEUE_URL}`);
  });

  it('resolves Fn::Sub with a variable map, whose values are resolved too', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
    const value = { 'Fn::Sub': ['${Bucket}/raw/${AWS::Region}', { Bucket: { Ref: 'RawBucket' } }] };

    expect(resolver.resolve(value)).toBe('sluice-raw-abc123/raw/eu-west-1');
  });

  it('prefers a Fn::Sub variable over a resource of the same name', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
    const value = { 'Fn::Sub': ['${JobsQueue}', { JobsQueue: 'from-variable' }] };

    expect(resolver.resolve(value)).toBe('from-variable');
  });

  it('resolves intrinsics nested anywhere in properties', () => {
    const properties = {
      QueueName: 'plain',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] }, maxReceiveCount: 5 },
      Tags: [{ Key: 'bucket', Value: { Ref: 'RawBucket' } }],
    };

    expect(resolver.resolve(properties)).toEqual({
      QueueName: 'plain',
      RedrivePolicy: { deadLetterTargetArn: QUEUE_ARN, maxReceiveCount: 5 },
      Tags: [{ Key: 'bucket', Value: 'sluice-raw-abc123' }],
    });
  });

  it.each([
    ['Ref', { Ref: 'LaterQueue' }],
    ['Fn::GetAtt', { 'Fn::GetAtt': ['LaterQueue', 'Arn'] }],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template
    ['Fn::Sub', { 'Fn::Sub': 'x-${LaterQueue.Arn}' }],
    ['Fn::Join', { 'Fn::Join': ['-', ['a', { Ref: 'LaterQueue' }]] }],
  ])('raises UnresolvedReferenceError naming a resource not created yet (%s)', (_, value) => {
    const error = resolutionError(value);

    expect(error).toBeInstanceOf(UnresolvedReferenceError);
    expect(error).toMatchObject({ logicalId: 'LaterQueue' });
  });

  it('refuses an intrinsic function it does not support', () => {
    expect(resolutionError({ 'Fn::If': ['IsProd', 'a', 'b'] })).toMatchObject({
      message: expect.stringContaining('Fn::If'),
    });
  });

  it('turns a resolved number into a string where a string is needed', () => {
    expect(resolver.resolveString(42)).toBe('42');
  });
});
