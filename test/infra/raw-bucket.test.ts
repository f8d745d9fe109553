import { isDeepStrictEqual } from 'node:util';
import { Capture } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CoreStack } from '../../infra/core-stack.js';
import { PolicyDocument } from './iam-statements.js';
import { logicalIdOf, resourceById, type SynthesizedStack, synthesizeSluice } from './sluice-template.js';

let sluice: SynthesizedStack<CoreStack>;
let rawBucketId: string;

beforeAll(() => {
  sluice = synthesizeSluice().core;
  rawBucketId = logicalIdOf(sluice.stack.rawBucket);
});

function isEveryone(principal: unknown): boolean {
  return principal === '*' || isDeepStrictEqual(principal, { AWS: '*' });
}

function rawBucketPolicyStatements() {
  const policies = sluice.template.findResources('AWS::S3::BucketPolicy', {
    Properties: { Bucket: { Ref: rawBucketId } },
  });
  return Object.values(policies).flatMap(
    (policy) => PolicyDocument.parse(policy.Properties.PolicyDocument).Statement,
  );
}

describe('the raw bucket', () => {
  it('keeps every version of every object', () => {
    expect(resourceById(sluice.resources, rawBucketId).Properties.VersioningConfiguration).toEqual({
      Status: 'Enabled',
    });
  });

  it('blocks all public access', () => {
    expect(resourceById(sluice.resources, rawBucketId).Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('encrypts objects at rest by default', () => {
    expect(resourceById(sluice.resources, rawBucketId).Properties.BucketEncryption).toMatchObject({
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: expect.stringMatching(/^(AES256|aws:kms(:dsse)?)$/),
          },
        },
      ],
    });
  });

  it('denies every request that does not use TLS', () => {
    const tlsDenials = rawBucketPolicyStatements().filter(
      (statement) =>
        statement.Effect === 'Deny' &&
        isEveryone(statement.Principal) &&
        statement.Action?.includes('s3:*') === true &&
        JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
    );

    expect(tlsDenials).toHaveLength(1);
  });

  it('notifies the transform queue when a manifest.json is created under raw/', () => {
    const queueArn = new Capture();
    const filterRules = new Capture();
    sluice.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: rawBucketId },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: filterRules } },
            QueueArn: queueArn,
          },
        ],
      },
    });

    expect(queueArn.asObject()).toEqual({
      'Fn::GetAtt': [logicalIdOf(sluice.stack.transformQueue.queue), 'Arn'],
    });
    expect(filterRules.asArray()).toEqual(
      expect.arrayContaining([
        { Name: 'prefix', Value: 'raw/' },
        { Name: 'suffix', Value: 'manifest.json' },
      ]),
    );
    expect(filterRules.asArray()).toHaveLength(2);
  });
});
