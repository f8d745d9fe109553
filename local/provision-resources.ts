/**
 * One function per resource type the local environment creates from a template: each parses the
 * properties it reads (resolved already), creates the resource in the emulator or describes it
 * for the local runtime, and records what `Ref` and `Fn::GetAtt` answer for it.
 * local/provision.ts decides the order and which stack each resource belongs to.
 */

import { PutCompositeAlarmCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { RATE_UNITS } from '../sources/schedule-expression.js';
import type { CfnResource, IntrinsicResolver, Pseudo, ResolvedResource } from './cloud-template.js';
import type {
  EmulatorClients,
  LocalAlarm,
  LocalEventSourceMapping,
  LocalFunctionSpec,
  LocalQueue,
  LocalSchedule,
  LocalScheduledRule,
  LocalStreamMapping,
} from './provision.js';

/** What provisioning one stack has created so far; the creators add to it. */
export interface StackInProgress {
  readonly clients: EmulatorClients;
  readonly pseudo: Pseudo;
  /** Lower-case, unique per environment; generated names end with it. */
  readonly nameSuffix: string;
  readonly timeScale: number;
  /** Prefixes every ID this stack adds to the results, so stacks with the same logical IDs coexist. */
  readonly idPrefix: string;
  readonly resolver: IntrinsicResolver;
  /** What each created resource answers to Ref and GetAtt, by its logical ID in the template. */
  readonly resolved: Map<string, ResolvedResource>;
  /** For each queue an event source mapping reads, the timeout of the function it feeds. */
  readonly minimumVisibility: ReadonlyMap<string, number>;
  readonly queues: Map<string, LocalQueue>;
  readonly buckets: Map<string, string>;
  readonly tables: Map<string, string>;
  readonly topics: Map<string, string>;
  readonly secrets: Map<string, string>;
  readonly functions: Map<string, LocalFunctionSpec>;
  readonly mappings: LocalEventSourceMapping[];
  readonly scheduledRules: LocalScheduledRule[];
  readonly schedules: LocalSchedule[];
  readonly streamMappings: LocalStreamMapping[];
  readonly eventBuses: Map<string, string>;
  readonly alarms: Map<string, LocalAlarm>;
  readonly notEmulated: Map<string, number>;
}

export type ResourceCreator = (
  stack: StackInProgress,
  logicalId: string,
  properties: { [key: string]: unknown },
  resource: CfnResource,
) => Promise<void>;

const Flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/**
 * A physical name: the one the template gives, or one made like CloudFormation makes them
 * (`<stack>-<logical ID>-<suffix>`), cut to the type's limit.
 */
function physicalName(
  stack: StackInProgress,
  logicalId: string,
  given: string | undefined,
  maxLength: number,
  lower = false,
): string {
  if (given !== undefined) return given;
  const base = `${stack.pseudo.stackName}-${logicalId}`;
  const name = `${base.slice(0, maxLength - stack.nameSuffix.length - 1)}-${stack.nameSuffix}`;
  return lower ? name.toLowerCase() : name;
}

function arnPrefix(stack: StackInProgress, service: string): string {
  return `arn:aws:${service}:${stack.pseudo.region}:${stack.pseudo.accountId}`;
}

function countNotEmulated(stack: StackInProgress, type: string): void {
  stack.notEmulated.set(type, (stack.notEmulated.get(type) ?? 0) + 1);
}

const QueueProperties = z.object({
  QueueName: z.string().optional(),
  VisibilityTimeout: z.coerce.number().optional(),
  MessageRetentionPeriod: z.coerce.number().optional(),
  MaximumMessageSize: z.coerce.number().optional(),
  DelaySeconds: z.coerce.number().optional(),
  ReceiveMessageWaitTimeSeconds: z.coerce.number().optional(),
  SqsManagedSseEnabled: Flag.optional(),
  RedrivePolicy: z.object({ deadLetterTargetArn: z.string(), maxReceiveCount: z.coerce.number() }).optional(),
  FifoQueue: Flag.optional(),
});

const createQueue: ResourceCreator = async (stack, logicalId, properties) => {
  const p = QueueProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.QueueName, 80);
  const templateVisibility = p.VisibilityTimeout ?? 30;
  const visibilityTimeout = Math.max(
    1,
    Math.ceil(templateVisibility * stack.timeScale),
    stack.minimumVisibility.get(logicalId) ?? 0,
  );
  const attributes: { [key: string]: string } = { VisibilityTimeout: String(visibilityTimeout) };
  if (p.MessageRetentionPeriod !== undefined)
    attributes.MessageRetentionPeriod = String(p.MessageRetentionPeriod);
  if (p.MaximumMessageSize !== undefined) attributes.MaximumMessageSize = String(p.MaximumMessageSize);
  if (p.DelaySeconds !== undefined) attributes.DelaySeconds = String(p.DelaySeconds);
  if (p.ReceiveMessageWaitTimeSeconds !== undefined) {
    attributes.ReceiveMessageWaitTimeSeconds = String(p.ReceiveMessageWaitTimeSeconds);
  }
  if (p.SqsManagedSseEnabled !== undefined) attributes.SqsManagedSseEnabled = String(p.SqsManagedSseEnabled);
  if (p.RedrivePolicy !== undefined) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
  const created = await stack.clients.sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  const url = created.QueueUrl ?? '';
  const described = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = described.Attributes?.QueueArn ?? `${arnPrefix(stack, 'sqs')}:${name}`;
  const id = `${stack.idPrefix}${logicalId}`;
  stack.queues.set(id, {
    logicalId: id,
    url,
    arn,
    name,
    templateVisibilityTimeout: templateVisibility,
    visibilityTimeout,
    deadLetterTargetArn: p.RedrivePolicy?.deadLetterTargetArn,
    maxReceiveCount: p.RedrivePolicy?.maxReceiveCount,
  });
  stack.resolved.set(logicalId, { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } });
};

const BucketProperties = z.object({
  BucketName: z.string().optional(),
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

const createBucket: ResourceCreator = async (stack, logicalId, properties) => {
  const p = BucketProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.BucketName, 63, true);
  const { s3 } = stack.clients;
  await s3.send(
    new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: p.ObjectLockEnabled === true }),
  );
  if (p.VersioningConfiguration !== undefined) {
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: name,
        VersioningConfiguration: { Status: p.VersioningConfiguration.Status },
      }),
    );
  }
  const algorithm =
    p.BucketEncryption?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault?.SSEAlgorithm;
  if (algorithm === 'AES256' || algorithm === 'aws:kms') {
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: name,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm } }],
        },
      }),
    );
  }
  if (p.PublicAccessBlockConfiguration !== undefined) {
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: name,
        PublicAccessBlockConfiguration: p.PublicAccessBlockConfiguration,
      }),
    );
  }
  stack.buckets.set(`${stack.idPrefix}${logicalId}`, name);
  stack.resolved.set(logicalId, {
    ref: name,
    attributes: {
      Arn: `arn:aws:s3:::${name}`,
      DomainName: `${name}.s3.amazonaws.com`,
      RegionalDomainName: `${name}.s3.${stack.pseudo.region}.amazonaws.com`,
    },
  });
};

const KeySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }));
const TableProperties = z.object({
  TableName: z.string().optional(),
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

const createTable: ResourceCreator = async (stack, logicalId, properties) => {
  const p = TableProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.TableName, 255);
  const { dynamodb } = stack.clients;
  const created = await dynamodb.send(
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
  const ttl = p.TimeToLiveSpecification;
  if (ttl?.Enabled === true && ttl.AttributeName !== undefined) {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { Enabled: true, AttributeName: ttl.AttributeName },
      }),
    );
  }
  stack.tables.set(`${stack.idPrefix}${logicalId}`, name);
  stack.resolved.set(logicalId, {
    ref: name,
    attributes: {
      Arn: created.TableDescription?.TableArn ?? `${arnPrefix(stack, 'dynamodb')}:table/${name}`,
      StreamArn: created.TableDescription?.LatestStreamArn ?? '',
    },
  });
};

const TopicProperties = z.object({ TopicName: z.string().optional() });

const createTopic: ResourceCreator = async (stack, logicalId, properties) => {
  const name = physicalName(stack, logicalId, TopicProperties.parse(properties).TopicName, 256);
  const created = await stack.clients.sns.send(new CreateTopicCommand({ Name: name }));
  const arn = created.TopicArn ?? `${arnPrefix(stack, 'sns')}:${name}`;
  stack.topics.set(`${stack.idPrefix}${logicalId}`, arn);
  stack.resolved.set(logicalId, { ref: arn, attributes: { TopicArn: arn, TopicName: name } });
};

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

function randomSecret(length: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

const createSecret: ResourceCreator = async (stack, logicalId, properties) => {
  const p = SecretProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.Name, 512);
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
  const created = await stack.clients.secrets.send(
    new CreateSecretCommand({ Name: name, Description: p.Description, SecretString: secretString }),
  );
  const arn = created.ARN ?? `${arnPrefix(stack, 'secretsmanager')}:secret:${name}`;
  stack.secrets.set(`${stack.idPrefix}${logicalId}`, arn);
  stack.resolved.set(logicalId, { ref: arn, attributes: { Id: arn } });
};

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

/** What aws-cdk-lib's notifications custom resource does at deploy time, done directly. */
const configureBucketNotifications: ResourceCreator = async (stack, logicalId, properties) => {
  const p = NotificationProperties.parse(properties);
  await stack.clients.s3.send(
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
  stack.resolved.set(logicalId, { ref: logicalId, attributes: {} });
};

const FunctionProperties = z.object({
  FunctionName: z.string().optional(),
  Handler: z.string(),
  Timeout: z.coerce.number().default(3),
  MemorySize: z.coerce.number().default(128),
  Environment: z.object({ Variables: z.record(z.string(), z.string()).optional() }).optional(),
});
const FunctionMetadata = z.object({ 'sluice:entry': z.string(), 'aws:asset:path': z.string() });

/** A function is not created in the emulator: it becomes a spec the local runtime runs. */
const describeFunction: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const p = FunctionProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.FunctionName, 64);
  stack.resolved.set(logicalId, {
    ref: name,
    attributes: { Arn: `${arnPrefix(stack, 'lambda')}:function:${name}` },
  });
  const metadata = FunctionMetadata.safeParse(resource.Metadata ?? {});
  // Functions without a Sluice entry (CDK's own custom-resource handlers) have no local
  // counterpart: their effect (e.g. bucket notifications) is applied directly.
  if (!metadata.success) {
    countNotEmulated(stack, resource.Type);
    return;
  }
  const id = `${stack.idPrefix}${logicalId}`;
  stack.functions.set(id, {
    logicalId: id,
    name,
    entry: metadata.data['sluice:entry'],
    assetPath: metadata.data['aws:asset:path'],
    handler: p.Handler,
    timeoutSeconds: p.Timeout,
    memorySize: p.MemorySize,
    environment: p.Environment?.Variables ?? {},
  });
};

const MappingProperties = z.object({
  EventSourceArn: z.string(),
  FunctionName: z.string(),
  BatchSize: z.coerce.number().default(10),
  MaximumBatchingWindowInSeconds: z.coerce.number().default(0),
  FunctionResponseTypes: z.array(z.string()).default([]),
  ScalingConfig: z.object({ MaximumConcurrency: z.coerce.number() }).optional(),
  Enabled: Flag.default(true),
  // Streams only.
  StartingPosition: z.enum(['TRIM_HORIZON', 'LATEST']).optional(),
  BisectBatchOnFunctionError: Flag.default(false),
  MaximumRetryAttempts: z.coerce.number().default(-1),
  MaximumRecordAgeInSeconds: z.coerce.number().default(-1),
  DestinationConfig: z.object({ OnFailure: z.object({ Destination: z.string() }) }).optional(),
});

/** A stream's record age and retries are bounded by its 24 hours when a mapping sets no bound (-1). */
const STREAM_RETENTION_SECONDS = 86_400;

/** An event source mapping becomes a spec for a local poller: an SQS poller, or a stream poller. */
const describeEventSourceMapping: ResourceCreator = async (stack, logicalId, properties) => {
  const p = MappingProperties.parse(properties);
  const functionLogicalId = [...stack.resolved.entries()].find(([, r]) => r.ref === p.FunctionName)?.[0];
  const table = [...stack.resolved.entries()].find(
    ([id, r]) => stack.tables.has(`${stack.idPrefix}${id}`) && r.attributes.StreamArn === p.EventSourceArn,
  );
  if (functionLogicalId !== undefined && table !== undefined && p.StartingPosition !== undefined) {
    const onFailure = p.DestinationConfig?.OnFailure.Destination;
    const onFailureQueue = [...stack.queues.values()].find((q) => q.arn === onFailure);
    if (onFailure !== undefined && onFailureQueue === undefined) {
      throw new Error(
        `event source mapping ${logicalId} sends failures to ${onFailure}, which is not a local queue`,
      );
    }
    if (p.Enabled) {
      stack.streamMappings.push({
        logicalId: `${stack.idPrefix}${logicalId}`,
        functionLogicalId: `${stack.idPrefix}${functionLogicalId}`,
        tableName: table[1].ref,
        streamArn: p.EventSourceArn,
        batchSize: p.BatchSize,
        startingPosition: p.StartingPosition,
        bisectOnError: p.BisectBatchOnFunctionError,
        maxRetryAttempts: p.MaximumRetryAttempts < 0 ? Number.POSITIVE_INFINITY : p.MaximumRetryAttempts,
        maxRecordAgeSeconds:
          p.MaximumRecordAgeInSeconds < 0 ? STREAM_RETENTION_SECONDS : p.MaximumRecordAgeInSeconds,
        reportBatchItemFailures: p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
        onFailureQueueUrl: onFailureQueue?.url,
      });
    }
    stack.resolved.set(logicalId, { ref: logicalId, attributes: {} });
    return;
  }
  const queue = [...stack.queues.values()].find((q) => q.arn === p.EventSourceArn);
  if (functionLogicalId === undefined || queue === undefined) {
    throw new Error(`event source mapping ${logicalId} names an unknown function, queue or table stream`);
  }
  if (p.Enabled) {
    stack.mappings.push({
      logicalId: `${stack.idPrefix}${logicalId}`,
      functionLogicalId: `${stack.idPrefix}${functionLogicalId}`,
      queueLogicalId: queue.logicalId,
      batchSize: p.BatchSize,
      maxConcurrency: p.ScalingConfig?.MaximumConcurrency ?? 1000,
      maxBatchingWindowSeconds: p.MaximumBatchingWindowInSeconds,
      reportBatchItemFailures: p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
    });
  }
  stack.resolved.set(logicalId, { ref: logicalId, attributes: {} });
};

const RuleProperties = z.object({
  Name: z.string().optional(),
  ScheduleExpression: z.string().optional(),
  EventPattern: z.record(z.string(), z.unknown()).optional(),
  EventBusName: z.string().optional(),
  State: z.string().default('ENABLED'),
  Targets: z.array(z.object({ Arn: z.string(), Id: z.string() })).default([]),
});

/** Seconds between runs of an EventBridge `rate(...)` expression; undefined for anything else (cron). */
export function rateIntervalSeconds(expression: string): number | undefined {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression.trim());
  if (match === null) return undefined;
  const [, value = '', unit = ''] = match;
  const seconds = RATE_UNITS[unit];
  return seconds === undefined ? undefined : Number(value) * seconds;
}

/**
 * A rule on an event bus of this app (the change feed's) is created in the emulator, which
 * delivers matching events to its targets itself (a log group, a queue), as EventBridge does.
 */
async function createEventPatternRule(
  stack: StackInProgress,
  logicalId: string,
  p: z.infer<typeof RuleProperties>,
): Promise<boolean> {
  const events = stack.clients.events;
  if (p.EventPattern === undefined || p.EventBusName === undefined || events === undefined) return false;
  const name = physicalName(stack, logicalId, p.Name, 64);
  const created = await events.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: p.EventBusName,
      EventPattern: JSON.stringify(p.EventPattern),
      State: p.State === 'ENABLED' ? 'ENABLED' : 'DISABLED',
    }),
  );
  await events.send(new PutTargetsCommand({ Rule: name, EventBusName: p.EventBusName, Targets: p.Targets }));
  stack.resolved.set(logicalId, {
    ref: `${p.EventBusName}|${name}`,
    attributes: { Arn: created.RuleArn ?? `${arnPrefix(stack, 'events')}:rule/${p.EventBusName}/${name}` },
  });
  return true;
}

/** A `rate(...)` rule that invokes functions becomes a spec for a local timer. */
const describeScheduledRule: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const p = RuleProperties.parse(properties);
  if (await createEventPatternRule(stack, logicalId, p)) return;
  const arn = `${arnPrefix(stack, 'events')}:rule/${physicalName(stack, logicalId, undefined, 64)}`;
  stack.resolved.set(logicalId, { ref: logicalId, attributes: { Arn: arn } });
  const intervalSeconds =
    p.ScheduleExpression === undefined ? undefined : rateIntervalSeconds(p.ScheduleExpression);
  // Event-pattern rules, cron schedules and disabled rules have no local counterpart.
  if (intervalSeconds === undefined || p.State !== 'ENABLED') {
    countNotEmulated(stack, resource.Type);
    return;
  }
  const functionLogicalIds = p.Targets.map((target) => {
    const id = [...stack.resolved.entries()].find(
      ([fid, r]) => stack.functions.has(`${stack.idPrefix}${fid}`) && r.attributes.Arn === target.Arn,
    )?.[0];
    if (id === undefined)
      throw new Error(`rule ${logicalId} targets ${target.Arn}, which is not a local function`);
    return `${stack.idPrefix}${id}`;
  });
  stack.scheduledRules.push({
    logicalId: `${stack.idPrefix}${logicalId}`,
    arn,
    functionLogicalIds,
    intervalSeconds,
  });
};

const EventBusProperties = z.object({ Name: z.string() });

const createEventBus: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const events = stack.clients.events;
  if (events === undefined) return notEmulated(stack, logicalId, properties, resource);
  const { Name } = EventBusProperties.parse(properties);
  const created = await events.send(new CreateEventBusCommand({ Name }));
  const arn = created.EventBusArn ?? `${arnPrefix(stack, 'events')}:event-bus/${Name}`;
  stack.eventBuses.set(`${stack.idPrefix}${logicalId}`, Name);
  stack.resolved.set(logicalId, { ref: Name, attributes: { Arn: arn, Name } });
};

const LogGroupProperties = z.object({
  LogGroupName: z.string().optional(),
  RetentionInDays: z.coerce.number().optional(),
});

const createLogGroup: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const logs = stack.clients.logs;
  if (logs === undefined) return notEmulated(stack, logicalId, properties, resource);
  const p = LogGroupProperties.parse(properties);
  const name = physicalName(stack, logicalId, p.LogGroupName, 512);
  await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
  if (p.RetentionInDays !== undefined) {
    await logs.send(
      new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: p.RetentionInDays }),
    );
  }
  // AWS answers `...:log-group:<name>:*`; moto's EventBridge reads everything after `log-group:`
  // as the name, so locally the ARN ends with the name.
  stack.resolved.set(logicalId, {
    ref: name,
    attributes: { Arn: `${arnPrefix(stack, 'logs')}:log-group:${name}` },
  });
};

const ScheduleProperties = z.object({
  Name: z.string(),
  ScheduleExpression: z.string(),
  ScheduleExpressionTimezone: z.string().default('UTC'),
  State: z.string().default('ENABLED'),
  Target: z.object({
    Arn: z.string(),
    Input: z.string().default(''),
    DeadLetterConfig: z.object({ Arn: z.string() }).optional(),
    RetryPolicy: z.object({ MaximumRetryAttempts: z.coerce.number().default(185) }).optional(),
  }),
});

/** An EventBridge Scheduler schedule with a queue target becomes a spec the local scheduler fires. */
const describeSchedule: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const p = ScheduleProperties.parse(properties);
  const queue = [...stack.queues.values()].find((q) => q.arn === p.Target.Arn);
  if (queue === undefined) {
    // Other targets (a function, a state machine) are not what Sluice schedules.
    return notEmulated(stack, logicalId, properties, resource);
  }
  const deadLetter = [...stack.queues.values()].find((q) => q.arn === p.Target.DeadLetterConfig?.Arn);
  stack.schedules.push({
    logicalId: `${stack.idPrefix}${logicalId}`,
    name: p.Name,
    expression: p.ScheduleExpression,
    timeZone: p.ScheduleExpressionTimezone,
    targetQueueUrl: queue.url,
    input: p.Target.Input,
    deadLetterQueueUrl: deadLetter?.url,
    maxRetryAttempts: p.Target.RetryPolicy?.MaximumRetryAttempts ?? 185,
    enabled: p.State === 'ENABLED',
  });
  stack.resolved.set(logicalId, {
    ref: p.Name,
    attributes: { Arn: `${arnPrefix(stack, 'scheduler')}:schedule/default/${p.Name}` },
  });
};

const AlarmNames = z.object({ AlarmName: z.string().min(1) });

/**
 * An alarm is put into the emulator's CloudWatch, as CloudFormation would create it, so that
 * DescribeAlarms answers locally as in AWS; moto never evaluates alarms, so the local environment
 * does (local/alarms/), from the definition kept here, and sets the states it finds.
 */
const createAlarm: ResourceCreator = async (stack, logicalId, properties, resource) => {
  const { AlarmName: name } = AlarmNames.parse(properties);
  const arn = `${arnPrefix(stack, 'cloudwatch')}:alarm:${name}`;
  const composite = resource.Type === 'AWS::CloudWatch::CompositeAlarm';
  const cloudwatch = stack.clients.cloudwatch;
  if (cloudwatch !== undefined) {
    // The template's properties are the API's parameters, Tags aside (not modelled locally).
    // CloudFormation passes them through the same way; the API validates them.
    const { Tags: _tags, ...parameters } = properties;
    if (composite) await cloudwatch.send(new PutCompositeAlarmCommand(parameters as never));
    else await cloudwatch.send(new PutMetricAlarmCommand(parameters as never));
  }
  stack.alarms.set(`${stack.idPrefix}${logicalId}`, {
    id: `${stack.idPrefix}${logicalId}`,
    stackName: stack.pseudo.stackName,
    type: resource.Type as LocalAlarm['type'],
    name,
    properties,
  });
  stack.resolved.set(logicalId, { ref: name, attributes: { Arn: arn } });
};

/** Resources with no local counterpart still answer Ref/GetAtt, so that references to them resolve. */
export const notEmulated: ResourceCreator = async (stack, logicalId, _properties, resource) => {
  countNotEmulated(stack, resource.Type);
  const arn = `arn:aws:local:${stack.pseudo.region}:${stack.pseudo.accountId}:${logicalId}`;
  stack.resolved.set(logicalId, { ref: logicalId, attributes: { Arn: arn } });
};

/*
 * Not emulated on purpose: bucket, queue and topic policies (moto serves plain HTTP, so the
 * TLS-only statements would refuse every local request, and every local function shares one
 * identity), IAM, dashboards, log groups and CDK's custom-resource handlers.
 */

/** The creator of each emulated resource type, in the order resources are created. */
export const CREATORS: readonly (readonly [string, ResourceCreator])[] = [
  ['AWS::S3::Bucket', createBucket],
  ['AWS::DynamoDB::GlobalTable', createTable],
  ['AWS::DynamoDB::Table', createTable],
  ['AWS::SNS::Topic', createTopic],
  ['AWS::SecretsManager::Secret', createSecret],
  ['AWS::SQS::Queue', createQueue],
  ['AWS::Logs::LogGroup', createLogGroup],
  ['AWS::Events::EventBus', createEventBus],
  ['Custom::S3BucketNotifications', configureBucketNotifications],
  ['AWS::Lambda::Function', describeFunction],
  ['AWS::Lambda::EventSourceMapping', describeEventSourceMapping],
  ['AWS::Events::Rule', describeScheduledRule],
  ['AWS::Scheduler::Schedule', describeSchedule],
  ['AWS::CloudWatch::Alarm', createAlarm],
  // After the alarms: a composite's rule names them.
  ['AWS::CloudWatch::CompositeAlarm', createAlarm],
];
