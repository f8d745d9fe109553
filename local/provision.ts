/**
 * Creates, inside the emulator, the resources the synthesized template declares: queues with
 * their redrive and visibility settings, buckets with versioning and notifications, tables with
 * their indexes, topics and secrets. Lambda functions and event source mappings are not created
 * in the emulator; they are returned as specs for the local runtime and pollers.
 */
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import {
  type CfnResource,
  type CfnTemplate,
  IntrinsicResolver,
  type Pseudo,
  type ResolvedResource,
  UnresolvedReferenceError,
} from './cloud-template.js';

export interface EmulatorClients {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly secrets: SecretsManagerClient;
}

export interface LocalQueue {
  readonly logicalId: string;
  readonly url: string;
  readonly arn: string;
  readonly name: string;
  /** The template's visibility timeout (seconds), before local time scaling. */
  readonly templateVisibilityTimeout: number;
  readonly visibilityTimeout: number;
  readonly deadLetterTargetArn: string | undefined;
  readonly maxReceiveCount: number | undefined;
}

export interface LocalFunctionSpec {
  readonly logicalId: string;
  /** The source entry named in the template metadata, e.g. `functions/transform/handler.ts`. */
  readonly entry: string;
  /** The bundled asset directory inside cdk.out (what Lambda would run). */
  readonly assetPath: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: { readonly [name: string]: string };
}

export interface LocalEventSourceMapping {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly queueLogicalId: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
}

/** An EventBridge schedule (`rate(...)`) that invokes functions; the local environment runs it on a timer. */
export interface LocalScheduledRule {
  readonly logicalId: string;
  readonly arn: string;
  readonly functionLogicalIds: readonly string[];
  /** The rule's interval as the template says it, before local time scaling. */
  readonly intervalSeconds: number;
}

export interface Provisioned {
  readonly queues: ReadonlyMap<string, LocalQueue>;
  readonly buckets: ReadonlyMap<string, string>;
  readonly tables: ReadonlyMap<string, string>;
  readonly topics: ReadonlyMap<string, string>;
  readonly secrets: ReadonlyMap<string, string>;
  readonly functions: ReadonlyMap<string, LocalFunctionSpec>;
  readonly eventSourceMappings: readonly LocalEventSourceMapping[];
  readonly scheduledRules: readonly LocalScheduledRule[];
  readonly resolved: ReadonlyMap<string, ResolvedResource>;
  /** Each resource's tags (`sluice:role`, `sluice:source`, ...), by logical ID. */
  readonly tags: ReadonlyMap<string, { readonly [key: string]: string }>;
  /** Resource types in the template that have no local counterpart (IAM, alarms, ...). */
  readonly notEmulated: ReadonlyMap<string, number>;
}

export interface ProvisionOptions {
  readonly pseudo: Pseudo;
  /** Lower-case, unique per environment; keeps bucket names globally unique like in AWS. */
  readonly nameSuffix: string;
  /**
   * Local time runs faster: visibility timeouts (and retry delays, which the functions scale
   * themselves) are multiplied by this factor. 1 means real time. A scaled visibility timeout is
   * never shorter than the consuming function's timeout, so a message is never delivered twice
   * while an invocation is still working on it.
   */
  readonly timeScale: number;
}

const Reference = z.union([
  z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }).transform((r) => r['Fn::GetAtt'][0]),
  z.object({ Ref: z.string() }).transform((r) => r.Ref),
]);

/** For each queue an event source mapping reads, the timeout of the function it feeds. */
export function consumerTimeouts(template: CfnTemplate): Map<string, number> {
  const timeouts = new Map<string, number>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const queueId = Reference.safeParse(resource.Properties?.EventSourceArn);
    const functionId = Reference.safeParse(resource.Properties?.FunctionName);
    if (!queueId.success || !functionId.success) continue;
    const fn = template.Resources[functionId.data];
    const timeout = Number(fn?.Properties?.Timeout ?? 3);
    timeouts.set(queueId.data, Math.max(timeouts.get(queueId.data) ?? 0, timeout));
  }
  return timeouts;
}

const TagList = z.array(z.object({ Key: z.string(), Value: z.string() }));
const Tagged = z.object({
  Tags: TagList.optional(),
  // DynamoDB global tables keep tags per replica.
  Replicas: z.array(z.object({ Tags: TagList.optional() })).optional(),
});

/** The tags the template gives a resource, wherever that resource type keeps them. */
export function tagsOf(resource: CfnResource): { [key: string]: string } {
  const parsed = Tagged.safeParse(resource.Properties ?? {});
  if (!parsed.success) return {};
  const list = [...(parsed.data.Tags ?? []), ...(parsed.data.Replicas?.[0]?.Tags ?? [])];
  return Object.fromEntries(list.map((t) => [t.Key, t.Value]));
}

const Flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const QueueProperties = z.object({
  VisibilityTimeout: z.coerce.number().optional(),
  MessageRetentionPeriod: z.coerce.number().optional(),
  MaximumMessageSize: z.coerce.number().optional(),
  DelaySeconds: z.coerce.number().optional(),
  ReceiveMessageWaitTimeSeconds: z.coerce.number().optional(),
  SqsManagedSseEnabled: Flag.optional(),
  RedrivePolicy: z.object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.coerce.number() }).optional(),
  FifoQueue: Flag.optional(),
});

const KeySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }));
const TableProperties = z.object({
  KeySchema,
  AttributeDefinitions: z.array(
    z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  GlobalSecondaryIndexes: z
    .array(
      z.object({
        IndexName: z.string(),
        KeySchema,
        Projection: z.object({
          ProjectionType: z.string().optional(),
          NonKeyAttributes: z.array(z.string()).optional(),
        }),
      }),
    )
    .optional(),
  TimeToLiveSpecification: z.object({ Enabled: Flag, AttributeName: z.string().optional() }).optional(),
  StreamSpecification: z.object({ StreamViewType: z.string() }).optional(),
});

const BucketProperties = z.object({
  VersioningConfiguration: z.object({ Status: z.enum(['Enabled', 'Suspended']) }).optional(),
  ObjectLockEnabled: Flag.optional(),
  BucketEncryption: z
    .object({
      ServerSideEncryptionConfiguration: z.array(
        z.object({ ServerSideEncryptionByDefault: z.object({ SSEAlgorithm: z.string() }).optional() }),
      ),
    })
    .optional(),
  PublicAccessBlockConfiguration: z
    .object({
      BlockPublicAcls: Flag.optional(),
      BlockPublicPolicy: Flag.optional(),
      IgnorePublicAcls: Flag.optional(),
      RestrictPublicBuckets: Flag.optional(),
    })
    .optional(),
});

const NotificationProperties = z.object({
  BucketName: z.string(),
  NotificationConfiguration: z.object({
    QueueConfigurations: z
      .array(
        z.object({
          Events: z.array(z.string()),
          QueueArn: z.string(),
          Filter: z
            .object({
              Key: z.object({ FilterRules: z.array(z.object({ Name: z.string(), Value: z.string() })) }),
            })
            .optional(),
        }),
      )
      .optional(),
  }),
});

const FunctionProperties = z.object({
  Handler: z.string(),
  Timeout: z.coerce.number().default(3),
  MemorySize: z.coerce.number().default(128),
  Environment: z.object({ Variables: z.record(z.string(), z.string()).optional() }).optional(),
});
const FunctionMetadata = z.object({ 'sluice:entry': z.string(), 'aws:asset:path': z.string() });

const MappingProperties = z.object({
  EventSourceArn: z.string(),
  FunctionName: z.string(),
  BatchSize: z.coerce.number().default(10),
  MaximumBatchingWindowInSeconds: z.coerce.number().default(0),
  FunctionResponseTypes: z.array(z.string()).default([]),
  ScalingConfig: z.object({ MaximumConcurrency: z.coerce.number() }).optional(),
  Enabled: Flag.default(true),
});

const RuleProperties = z.object({
  ScheduleExpression: z.string().optional(),
  State: z.string().default('ENABLED'),
  Targets: z.array(z.object({ Arn: z.string(), Id: z.string() })).default([]),
});

const RATE_UNIT_SECONDS: { readonly [unit: string]: number } = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86_400,
  days: 86_400,
};

/** Seconds between runs of an EventBridge `rate(...)` expression; undefined for anything else (cron). */
export function rateIntervalSeconds(expression: string): number | undefined {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression.trim());
  if (match === null) return undefined;
  const [, value = '', unit = ''] = match;
  const seconds = RATE_UNIT_SECONDS[unit];
  return seconds === undefined ? undefined : Number(value) * seconds;
}

const SecretProperties = z.object({
  Name: z.string().optional(),
  Description: z.string().optional(),
  SecretString: z.string().optional(),
  GenerateSecretString: z
    .object({
      SecretStringTemplate: z.string().optional(),
      GenerateStringKey: z.string().optional(),
      PasswordLength: z.number().optional(),
    })
    .optional(),
});

/*
 * Not emulated on purpose: bucket and queue policies (moto serves plain HTTP, so the TLS-only
 * statements would refuse every local request, and every local function shares one identity),
 * IAM, alarms, log groups and CDK's custom-resource handlers.
 */

/** The order resources are created in; references resolve across passes regardless. */
const CREATION_ORDER = [
  'AWS::S3::Bucket',
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::SNS::Topic',
  'AWS::SecretsManager::Secret',
  'AWS::SQS::Queue',
  'Custom::S3BucketNotifications',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Events::Rule',
];

function localName(logicalId: string, suffix: string, maxLength: number, lower = false): string {
  const base = lower ? logicalId.toLowerCase() : logicalId;
  return `${base.slice(0, maxLength - suffix.length - 1)}-${suffix}`;
}

function randomSecret(length: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export async function provisionFromTemplate(
  template: CfnTemplate,
  clients: EmulatorClients,
  options: ProvisionOptions,
): Promise<Provisioned> {
  const { pseudo, nameSuffix } = options;
  const resolved = new Map<string, ResolvedResource>();
  const resolver = new IntrinsicResolver(resolved, pseudo);
  const queues = new Map<string, LocalQueue>();
  const buckets = new Map<string, string>();
  const tables = new Map<string, string>();
  const topics = new Map<string, string>();
  const secrets = new Map<string, string>();
  const functions = new Map<string, LocalFunctionSpec>();
  const mappings: LocalEventSourceMapping[] = [];
  const scheduledRules: LocalScheduledRule[] = [];
  const notEmulated = new Map<string, number>();
  const minimumVisibility = consumerTimeouts(template);
  const arnPrefix = (service: string) => `arn:aws:${service}:${pseudo.region}:${pseudo.accountId}`;

  async function create(logicalId: string, resource: CfnResource): Promise<void> {
    const properties = resolver.resolve(resource.Properties ?? {});
    switch (resource.Type) {
      case 'AWS::SQS::Queue': {
        const p = QueueProperties.parse(properties);
        const name = localName(logicalId, nameSuffix, 80);
        const templateVisibility = p.VisibilityTimeout ?? 30;
        const visibilityTimeout = Math.max(
          1,
          Math.ceil(templateVisibility * options.timeScale),
          minimumVisibility.get(logicalId) ?? 0,
        );
        const attributes: { [key: string]: string } = { VisibilityTimeout: String(visibilityTimeout) };
        if (p.MessageRetentionPeriod !== undefined)
          attributes.MessageRetentionPeriod = String(p.MessageRetentionPeriod);
        if (p.MaximumMessageSize !== undefined) attributes.MaximumMessageSize = String(p.MaximumMessageSize);
        if (p.DelaySeconds !== undefined) attributes.DelaySeconds = String(p.DelaySeconds);
        if (p.ReceiveMessageWaitTimeSeconds !== undefined) {
          attributes.ReceiveMessageWaitTimeSeconds = String(p.ReceiveMessageWaitTimeSeconds);
        }
        if (p.SqsManagedSseEnabled !== undefined)
          attributes.SqsManagedSseEnabled = String(p.SqsManagedSseEnabled);
        if (p.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
        const created = await clients.sqs.send(
          new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
        );
        const url = created.QueueUrl ?? '';
        const described = await clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
        );
        const arn = described.Attributes?.QueueArn ?? `${arnPrefix('sqs')}:${name}`;
        queues.set(logicalId, {
          logicalId,
          url,
          arn,
          name,
          templateVisibilityTimeout: templateVisibility,
          visibilityTimeout,
          deadLetterTargetArn: p.RedrivePolicy?.deadLetterTargetArn,
          maxReceiveCount: p.RedrivePolicy?.maxReceiveCount,
        });
        resolved.set(logicalId, { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } });
        return;
      }
      case 'AWS::S3::Bucket': {
        const p = BucketProperties.parse(properties);
        const name = localName(logicalId, nameSuffix, 63, true);
        await clients.s3.send(
          new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: p.ObjectLockEnabled === true }),
        );
        if (p.VersioningConfiguration !== undefined) {
          await clients.s3.send(
            new PutBucketVersioningCommand({
              Bucket: name,
              VersioningConfiguration: { Status: p.VersioningConfiguration.Status },
            }),
          );
        }
        const algorithm =
          p.BucketEncryption?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault
            ?.SSEAlgorithm;
        if (algorithm === 'AES256' || algorithm === 'aws:kms') {
          await clients.s3.send(
            new PutBucketEncryptionCommand({
              Bucket: name,
              ServerSideEncryptionConfiguration: {
                Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm } }],
              },
            }),
          );
        }
        if (p.PublicAccessBlockConfiguration !== undefined) {
          await clients.s3.send(
            new PutPublicAccessBlockCommand({
              Bucket: name,
              PublicAccessBlockConfiguration: p.PublicAccessBlockConfiguration,
            }),
          );
        }
        buckets.set(logicalId, name);
        resolved.set(logicalId, {
          ref: name,
          attributes: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${pseudo.region}.amazonaws.com`,
          },
        });
        return;
      }
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table': {
        const p = TableProperties.parse(properties);
        const name = localName(logicalId, nameSuffix, 255);
        const created = await clients.dynamodb.send(
          new CreateTableCommand({
            TableName: name,
            KeySchema: p.KeySchema,
            AttributeDefinitions: p.AttributeDefinitions,
            BillingMode: 'PAY_PER_REQUEST',
            GlobalSecondaryIndexes: p.GlobalSecondaryIndexes?.map((index) => ({
              IndexName: index.IndexName,
              KeySchema: index.KeySchema,
              Projection: {
                ProjectionType: (index.Projection.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
                NonKeyAttributes: index.Projection.NonKeyAttributes,
              },
            })),
            StreamSpecification:
              p.StreamSpecification === undefined
                ? undefined
                : {
                    StreamEnabled: true,
                    StreamViewType: p.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES',
                  },
          }),
        );
        if (
          p.TimeToLiveSpecification?.Enabled === true &&
          p.TimeToLiveSpecification.AttributeName !== undefined
        ) {
          await clients.dynamodb.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: {
                Enabled: true,
                AttributeName: p.TimeToLiveSpecification.AttributeName,
              },
            }),
          );
        }
        tables.set(logicalId, name);
        resolved.set(logicalId, {
          ref: name,
          attributes: {
            Arn: created.TableDescription?.TableArn ?? `${arnPrefix('dynamodb')}:table/${name}`,
            StreamArn: created.TableDescription?.LatestStreamArn ?? '',
          },
        });
        return;
      }
      case 'AWS::SNS::Topic': {
        const name = localName(logicalId, nameSuffix, 256);
        const created = await clients.sns.send(new CreateTopicCommand({ Name: name }));
        const arn = created.TopicArn ?? `${arnPrefix('sns')}:${name}`;
        topics.set(logicalId, arn);
        resolved.set(logicalId, { ref: arn, attributes: { TopicArn: arn, TopicName: name } });
        return;
      }
      case 'AWS::SecretsManager::Secret': {
        const p = SecretProperties.parse(properties);
        const name = localName(p.Name ?? logicalId, nameSuffix, 512);
        let secretString = p.SecretString;
        if (secretString === undefined) {
          const generated = randomSecret(p.GenerateSecretString?.PasswordLength ?? 32);
          const key = p.GenerateSecretString?.GenerateStringKey;
          const base = p.GenerateSecretString?.SecretStringTemplate;
          secretString =
            key === undefined
              ? generated
              : JSON.stringify({
                  ...(base === undefined ? {} : z.record(z.string(), z.unknown()).parse(JSON.parse(base))),
                  [key]: generated,
                });
        }
        const created = await clients.secrets.send(
          new CreateSecretCommand({ Name: name, Description: p.Description, SecretString: secretString }),
        );
        const arn = created.ARN ?? `${arnPrefix('secretsmanager')}:secret:${name}`;
        secrets.set(logicalId, arn);
        resolved.set(logicalId, { ref: arn, attributes: { Id: arn } });
        return;
      }
      case 'Custom::S3BucketNotifications': {
        const p = NotificationProperties.parse(properties);
        await clients.s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: p.BucketName,
            NotificationConfiguration: {
              QueueConfigurations: (p.NotificationConfiguration.QueueConfigurations ?? []).map((q) => ({
                QueueArn: q.QueueArn,
                Events: q.Events as 's3:ObjectCreated:*'[],
                Filter:
                  q.Filter === undefined
                    ? undefined
                    : {
                        Key: {
                          FilterRules: q.Filter.Key.FilterRules.map((r) => ({
                            Name: r.Name.toLowerCase() as 'prefix' | 'suffix',
                            Value: r.Value,
                          })),
                        },
                      },
              })),
            },
          }),
        );
        resolved.set(logicalId, { ref: logicalId, attributes: {} });
        return;
      }
      case 'AWS::Lambda::Function': {
        const name = localName(logicalId, nameSuffix, 64);
        const arn = `${arnPrefix('lambda')}:function:${name}`;
        resolved.set(logicalId, { ref: name, attributes: { Arn: arn } });
        const metadata = FunctionMetadata.safeParse(resource.Metadata ?? {});
        // Functions without a Sluice entry (CDK's own custom-resource handlers) have no local
        // counterpart: their effect (e.g. bucket notifications) is applied directly above.
        if (!metadata.success) {
          notEmulated.set(resource.Type, (notEmulated.get(resource.Type) ?? 0) + 1);
          return;
        }
        const p = FunctionProperties.parse(properties);
        functions.set(logicalId, {
          logicalId,
          entry: metadata.data['sluice:entry'],
          assetPath: metadata.data['aws:asset:path'],
          handler: p.Handler,
          timeoutSeconds: p.Timeout,
          memorySize: p.MemorySize,
          environment: p.Environment?.Variables ?? {},
        });
        return;
      }
      case 'AWS::Lambda::EventSourceMapping': {
        const p = MappingProperties.parse(properties);
        const functionLogicalId = [...resolved.entries()].find(([, r]) => r.ref === p.FunctionName)?.[0];
        const queueLogicalId = [...queues.values()].find((q) => q.arn === p.EventSourceArn)?.logicalId;
        if (functionLogicalId === undefined || queueLogicalId === undefined) {
          throw new Error(`event source mapping ${logicalId} names an unknown function or queue`);
        }
        if (p.Enabled) {
          mappings.push({
            logicalId,
            functionLogicalId,
            queueLogicalId,
            batchSize: p.BatchSize,
            maxConcurrency: p.ScalingConfig?.MaximumConcurrency ?? 1000,
            maxBatchingWindowSeconds: p.MaximumBatchingWindowInSeconds,
            reportBatchItemFailures: p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
          });
        }
        resolved.set(logicalId, { ref: logicalId, attributes: {} });
        return;
      }
      case 'AWS::Events::Rule': {
        const p = RuleProperties.parse(properties);
        const arn = `${arnPrefix('events')}:rule/${localName(logicalId, nameSuffix, 64)}`;
        resolved.set(logicalId, { ref: logicalId, attributes: { Arn: arn } });
        const intervalSeconds =
          p.ScheduleExpression === undefined ? undefined : rateIntervalSeconds(p.ScheduleExpression);
        // Event-pattern rules, cron schedules and disabled rules have no local counterpart.
        if (intervalSeconds === undefined || p.State !== 'ENABLED') {
          notEmulated.set(resource.Type, (notEmulated.get(resource.Type) ?? 0) + 1);
          return;
        }
        const functionLogicalIds = p.Targets.map((target) => {
          const id = [...functions.keys()].find((fid) => resolved.get(fid)?.attributes.Arn === target.Arn);
          if (id === undefined)
            throw new Error(`rule ${logicalId} targets ${target.Arn}, which is not a local function`);
          return id;
        });
        scheduledRules.push({ logicalId, arn, functionLogicalIds, intervalSeconds });
        return;
      }
      default: {
        notEmulated.set(resource.Type, (notEmulated.get(resource.Type) ?? 0) + 1);
        // Resources with no local counterpart still answer Ref/GetAtt so that references resolve.
        const arn = `arn:aws:local:${pseudo.region}:${pseudo.accountId}:${logicalId}`;
        resolved.set(logicalId, { ref: logicalId, attributes: { Arn: arn } });
      }
    }
  }

  const rank = (type: string) => {
    const index = CREATION_ORDER.indexOf(type);
    return index === -1 ? CREATION_ORDER.length : index;
  };
  let pending = Object.entries(template.Resources).sort(([, a], [, b]) => rank(a.Type) - rank(b.Type));
  while (pending.length > 0) {
    const deferred: typeof pending = [];
    for (const [logicalId, resource] of pending) {
      try {
        await create(logicalId, resource);
      } catch (error) {
        if (!(error instanceof UnresolvedReferenceError)) {
          throw new Error(
            `creating ${resource.Type} ${logicalId} locally failed: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        deferred.push([logicalId, resource]);
      }
    }
    if (deferred.length === pending.length) {
      throw new Error(`circular or dangling references among: ${deferred.map(([id]) => id).join(', ')}`);
    }
    pending = deferred;
  }

  return {
    queues,
    buckets,
    tables,
    topics,
    secrets,
    functions,
    eventSourceMappings: mappings,
    scheduledRules,
    resolved,
    tags: new Map(Object.entries(template.Resources).map(([id, resource]) => [id, tagsOf(resource)])),
    notEmulated,
  };
}
