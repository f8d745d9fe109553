import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RAW_PREFIX, sourcePrefix } from '../../functions/core/raw-layout.js';

export interface RawBucketProps {
  readonly serverAccessLogsBucket: IBucket;
  /**
   * ARN of the one role that may delete or overwrite raw objects (break glass: a legal erasure
   * request, a leaked secret in a response). Every other principal — every pipeline role, and
   * administrators too — is denied by the bucket policy.
   * @default - no exception: deleting a raw object means changing this policy first
   */
  readonly breakGlassRoleArn?: string;
  /**
   * Default retention, in days, of an Object Lock in governance mode on every new raw object.
   * Object Lock itself is always enabled on the bucket (S3 can only enable it at creation), so
   * turning retention on later is this one setting, not a new bucket.
   * @default - no default retention
   */
  readonly objectLockGovernanceDays?: number;
  /** @default 30 (the minimum S3 allows for Standard-IA) */
  readonly infrequentAccessAfterDays?: number;
  /** @default 90 */
  readonly glacierInstantRetrievalAfterDays?: number;
}

/** Actions that remove or unprotect a stored raw object. */
export const RAW_DELETE_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:BypassGovernanceRetention',
];

/**
 * The raw bucket: the exact responses, append-only in fact (DESIGN.md decision 2).
 *   - versioned, so even a permitted overwrite keeps the previous bytes;
 *   - a bucket policy denies deleting objects (and bypassing governance retention) to every
 *     principal but the break-glass role, and denies writes without `If-None-Match` (S3's
 *     conditional-write enforcement), so no key is ever overwritten;
 *   - Object Lock enabled, with governance-mode retention one setting away;
 *   - lifecycle rules move raw data to cheaper classes that still read in milliseconds
 *     (replay needs that: nothing goes to a class that must be restored first).
 * Subclasses Bucket so the construct ID, and with it the bucket, stays what it was.
 */
export class RawBucket extends Bucket {
  constructor(scope: Construct, id: string, props: RawBucketProps) {
    const governanceDays = props.objectLockGovernanceDays;
    if (governanceDays !== undefined && (!Number.isInteger(governanceDays) || governanceDays < 1)) {
      throw new Error(
        `objectLockGovernanceDays must be a positive whole number of days, got ${governanceDays}`,
      );
    }
    const infrequentAccess = props.infrequentAccessAfterDays ?? 30;
    const glacierInstant = props.glacierInstantRetrievalAfterDays ?? 90;
    super(scope, id, {
      versioned: true,
      objectLockEnabled: true,
      ...(governanceDays === undefined
        ? {}
        : { objectLockDefaultRetention: ObjectLockRetention.governance(Duration.days(governanceDays)) }),
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: 'raw-bucket/',
      // Kept when the stack goes; deleted (it is empty) only when the deploy that created it fails.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      lifecycleRules: [
        {
          id: 'RawToCheaperClasses',
          prefix: RAW_PREFIX,
          // S3 leaves objects under 128 KB in Standard by default (transitions would cost more
          // than they save); manifests and small pages stay there, large bodies move.
          transitions: [
            {
              storageClass: StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(infrequentAccess),
            },
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(glacierInstant),
            },
          ],
          // Only a break-glass overwrite makes a noncurrent version; keep it, cheaply.
          noncurrentVersionTransitions: [
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(infrequentAccess),
            },
          ],
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    const exceptBreakGlass =
      props.breakGlassRoleArn === undefined
        ? {}
        : { ArnNotEquals: { 'aws:PrincipalArn': props.breakGlassRoleArn } };
    if (props.breakGlassRoleArn === undefined) {
      Annotations.of(this).addWarningV2(
        'sluice:raw-no-break-glass',
        'No break-glass role is configured (context sluice:rawBreakGlassRole): nobody can delete a raw object without changing the bucket policy first.',
      );
    }
    this.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyRawObjectDeletion',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: RAW_DELETE_ACTIONS,
        resources: [this.arnForObjects('*')],
        ...(props.breakGlassRoleArn === undefined ? {} : { conditions: exceptBreakGlass }),
      }),
    );
    this.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyRawObjectOverwrites',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.arnForObjects('*')],
        conditions: {
          // A write that creates an object (PutObject, CompleteMultipartUpload) must say
          // If-None-Match; the steps of a multipart upload cannot, and create nothing.
          Null: { 's3:if-none-match': 'true' },
          Bool: { 's3:ObjectCreationOperation': 'true' },
          ...exceptBreakGlass,
        },
      }),
    );
  }

  /**
   * Lets a collector add raw objects for the sources it collects, and nothing else: `s3:PutObject`
   * under each source's `raw/source=<name>/` (the bucket policy makes every such write conditional
   * on If-None-Match). Narrower than grantPut, which also gives Object Lock retention, legal hold
   * and multipart-abort rights, and on every key.
   */
  grantAppendRaw(grantee: IGrantable, sources: readonly string[]): Grant {
    if (sources.length === 0) throw new Error('grantAppendRaw needs at least one source');
    return Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:PutObject'],
      resourceArns: sources.map((source) => this.arnForObjects(`${sourcePrefix(source)}*`)),
      resource: this,
    });
  }

  /**
   * Lets a function read raw objects, and nothing else: the transform reads what it parses (every
   * source: `raw/*`); a collector reads back an object its own retried put met (raw-store.ts),
   * only under the sources it collects.
   */
  grantReadRaw(grantee: IGrantable, sources?: readonly string[]): Grant {
    if (sources?.length === 0) throw new Error('grantReadRaw needs at least one source when given sources');
    return Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns:
        sources === undefined
          ? [this.arnForObjects(`${RAW_PREFIX}*`)]
          : sources.map((source) => this.arnForObjects(`${sourcePrefix(source)}*`)),
      resource: this,
    });
  }

  /**
   * Lets a collector list keys under the prefixes of the sources it collects (and nowhere else in
   * the bucket): a delivery that takes over a job from one that died looks there for a collection
   * it stored but never recorded.
   */
  grantListRaw(grantee: IGrantable, sources: readonly string[]): Grant {
    if (sources.length === 0) throw new Error('grantListRaw needs at least one source');
    return Grant.addToPrincipalOrResource({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucketArn],
      conditions: { StringLike: { 's3:prefix': sources.map((source) => `${sourcePrefix(source)}*`) } },
      resource: this,
    });
  }
}
