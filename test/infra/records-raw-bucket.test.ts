/**
 * The raw bucket in the synthesized template: append-only in fact (versioning, a bucket policy
 * that denies deletes and overwrites to all but the break-glass role, Object Lock one setting
 * away), lifecycle rules to cheaper classes, and the transform queue's redrive derived from the
 * transform's retry budget.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { UNREPORTED_RECEIVES_ALLOWED } from '../../functions/core/retry-policy.js';
import {
  TRANSFORM_MAX_RECEIVE_COUNT,
  TRANSFORM_RETRY_BUDGET,
} from '../../functions/core/transform-budget.js';
import { RAW_DELETE_ACTIONS } from '../../infra/constructs/raw-bucket.js';
import { synthesizeSluice } from './sluice-template.js';

const BREAK_GLASS = 'arn:aws:iam::111122223333:role/SluiceRawBreakGlass';

/** The core stack's template, which holds the raw bucket and the transform queue. */
function synth(context: { [key: string]: unknown } = {}): Template {
  return synthesizeSluice({ context }).core.template;
}

function rawBucketId(template: Template): string {
  const buckets = template.findResources('AWS::S3::Bucket', {
    Properties: { Tags: Match.arrayWith([{ Key: 'sluice:role', Value: 'raw' }]) },
  });
  const ids = Object.keys(buckets);
  expect(ids).toHaveLength(1);
  return ids[0] ?? '';
}

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Condition?: { readonly [operator: string]: { readonly [key: string]: unknown } };
}

function rawBucketStatements(template: Template): Statement[] {
  const policies = Object.values(
    template.findResources('AWS::S3::BucketPolicy', {
      Properties: { Bucket: { Ref: rawBucketId(template) } },
    }),
  );
  expect(policies).toHaveLength(1);
  return (policies[0]?.Properties.PolicyDocument.Statement ?? []) as Statement[];
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the raw bucket', () => {
  const template = synth({ 'sluice:rawBreakGlassRole': BREAK_GLASS });

  it('is versioned and has Object Lock enabled, without a default retention unless configured', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'sluice:role', Value: 'raw' }]),
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: Match.absent(),
    });
  });

  it('gets governance-mode retention from one context setting', () => {
    const locked = synth({ 'sluice:rawObjectLockGovernanceDays': 365 });

    locked.hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'sluice:role', Value: 'raw' }]),
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      },
    });
  });

  it('denies deleting raw objects to every principal but the break-glass role', () => {
    const deny = rawBucketStatements(template).find((s) => s.Sid === 'DenyRawObjectDeletion');

    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
    expect(actionsOf(deny as Statement).sort()).toEqual([...RAW_DELETE_ACTIONS].sort());
    expect(RAW_DELETE_ACTIONS).toEqual(expect.arrayContaining(['s3:DeleteObject', 's3:DeleteObjectVersion']));
    expect(deny?.Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': BREAK_GLASS } });
  });

  it('denies object writes without If-None-Match, so no key is overwritten', () => {
    const deny = rawBucketStatements(template).find((s) => s.Sid === 'DenyRawObjectOverwrites');

    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject' });
    expect(deny?.Condition).toEqual({
      Null: { 's3:if-none-match': 'true' },
      Bool: { 's3:ObjectCreationOperation': 'true' },
      ArnNotEquals: { 'aws:PrincipalArn': BREAK_GLASS },
    });
  });

  it('builds the break-glass ARN in the stack account from a role name', () => {
    const named = synth({ 'sluice:rawBreakGlassRole': 'SluiceRawBreakGlass' });
    const deny = rawBucketStatements(named).find((s) => s.Sid === 'DenyRawObjectDeletion');

    expect(deny?.Condition?.ArnNotEquals?.['aws:PrincipalArn']).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/SluiceRawBreakGlass'],
      ],
    });
  });

  it('denies deletes to everybody when no break-glass role is configured', () => {
    // cdk.json names one; a deployment may leave it out.
    const deny = rawBucketStatements(synth({ 'sluice:rawBreakGlassRole': '' })).find(
      (s) => s.Sid === 'DenyRawObjectDeletion',
    );

    expect(deny?.Effect).toBe('Deny');
    expect(deny?.Condition).toBeUndefined();
  });

  it('refuses a break-glass setting that is neither a role name nor a role ARN', () => {
    expect(() => synth({ 'sluice:rawBreakGlassRole': 'arn:aws:iam::1:user/alice' })).toThrow(
      /sluice:rawBreakGlassRole must be an IAM role name or role ARN, got arn:aws:iam::1:user\/alice/,
    );
    expect(() => synth({ 'sluice:rawObjectLockGovernanceDays': 'forever' })).toThrow(
      /sluice:rawObjectLockGovernanceDays must be a positive whole number of days, got forever/,
    );
  });

  it('grants no pipeline role, in any stack, any delete on any bucket', () => {
    const policies = synthesizeSluice().stacks.flatMap(({ template: t }) => [
      ...Object.values(t.findResources('AWS::IAM::Policy')),
      ...Object.values(t.findResources('AWS::IAM::ManagedPolicy')),
    ]);
    const allowed = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => s.Effect === 'Allow')
        .flatMap(actionsOf),
    );

    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed.filter((action) => /^s3:(Delete|\*|BypassGovernance)/.test(action))).toEqual([]);
  });

  it('moves raw data to cheaper classes that replay can still read at once', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'sluice:role', Value: 'raw' }]),
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'RawToCheaperClasses',
            Prefix: 'raw/',
            Status: 'Enabled',
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
            ],
            NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
            ExpirationInDays: Match.absent(),
          },
        ],
      },
    });
  });
});

describe('the transform queue', () => {
  it('redrives only after the transform retry budget plus unreported receives, so the handler dead-letters with a reason first', () => {
    const template = synth();
    const queues = template.findResources('AWS::SQS::Queue', {
      Properties: {
        Tags: Match.arrayWith([
          { Key: 'sluice:role', Value: 'work' },
          { Key: 'sluice:stage', Value: 'transform' },
        ]),
      },
    });
    const redrive = Object.values(queues).map((q) => q.Properties.RedrivePolicy?.maxReceiveCount);

    expect(redrive).toEqual([TRANSFORM_MAX_RECEIVE_COUNT]);
    expect(TRANSFORM_MAX_RECEIVE_COUNT).toBe(
      TRANSFORM_RETRY_BUDGET.delaysSeconds.length + 1 + UNREPORTED_RECEIVES_ALLOWED,
    );
  });
});
