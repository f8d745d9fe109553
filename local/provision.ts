/**
 * Creates, inside the emulator, the resources the synthesized templates declare: queues with
 * their redrive and visibility settings, buckets with versioning and notifications, tables with
 * their indexes, topics and secrets. Lambda functions and event source mappings are not created
 * in the emulator; they are returned as specs for the local runtime and pollers.
 *
 * An app is several stacks (the core stack, then source stacks that import its exports): they are
 * provisioned in deployment order, each resolving `Fn::ImportValue` against what the stacks
 * before it export, as CloudFormation would. The resources of each type are made by the creators
 * in local/provision-resources.ts.
 */

import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { AssemblyStack } from './cloud-assembly.js';
import {
  type CfnResource,
  type CfnTemplate,
  exportsOf,
  IntrinsicResolver,
  type Pseudo,
  type ResolvedResource,
  UnresolvedReferenceError,
} from './cloud-template.js';
import { CREATORS, notEmulated, type StackInProgress } from './provision-resources.js';

export { rateIntervalSeconds } from './provision-resources.js';

export interface EmulatorClients {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly secrets: SecretsManagerClient;
  /** Event buses and their rules (the change feed). @default - not created, counted not emulated */
  readonly events?: EventBridgeClient;
  /** Log groups (an event rule's target). @default - not created, counted not emulated */
  readonly logs?: CloudWatchLogsClient;
  /** Where alarms are put; without it they are only described. @default - none */
  readonly cloudwatch?: CloudWatchClient;
}

/** A CloudWatch alarm of the template, its properties resolved (local/alarms/ evaluates it). */
export interface LocalAlarm {
  /** Its ID in the results (see LocalQueue.logicalId). */
  readonly id: string;
  readonly stackName: string;
  readonly type: 'AWS::CloudWatch::Alarm' | 'AWS::CloudWatch::CompositeAlarm';
  readonly name: string;
  readonly properties: { readonly [key: string]: unknown };
}

export interface LocalQueue {
  /** Its ID in the results: `<stack>.<logical ID>` for an app, the logical ID for one template. */
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
  /** Its ID in the results (see LocalQueue.logicalId). */
  readonly logicalId: string;
  /** Its physical name, as Lambda would report it. */
  readonly name: string;
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

/**
 * An EventBridge Scheduler schedule with an SQS target. moto stores schedules but never fires
 * them, so the local environment fires each itself (local/scheduled-rules.ts), sending the
 * target's input with Scheduler's context attributes filled in.
 */
export interface LocalSchedule {
  readonly logicalId: string;
  readonly name: string;
  readonly expression: string;
  readonly timeZone: string;
  /** The queue Scheduler sends to, and the input it sends, before context attributes are filled in. */
  readonly targetQueueUrl: string;
  readonly input: string;
  readonly deadLetterQueueUrl: string | undefined;
  readonly maxRetryAttempts: number;
  readonly enabled: boolean;
}

/** A DynamoDB stream feeding a function; a local stream poller plays Lambda's event source mapping. */
export interface LocalStreamMapping {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly tableName: string;
  readonly streamArn: string;
  readonly batchSize: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly bisectOnError: boolean;
  readonly maxRetryAttempts: number;
  readonly maxRecordAgeSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /** The queue the mapping sends a batch it gives up on to (its on-failure destination). */
  readonly onFailureQueueUrl: string | undefined;
}

/** What one resource became, as CloudFormation would list it among its stack's resources. */
export interface ProvisionedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  /** What CloudFormation reports as the physical ID: a queue URL, a table or function name, a topic ARN. */
  readonly physicalId: string;
  readonly tags: { readonly [key: string]: string };
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
  readonly schedules: readonly LocalSchedule[];
  readonly streamMappings: readonly LocalStreamMapping[];
  /** Event buses created in the emulator, by ID: their names. */
  readonly eventBuses: ReadonlyMap<string, string>;
  /** Every alarm, by its ID in the results. */
  readonly alarms: ReadonlyMap<string, LocalAlarm>;
  /** What each resource answers to Ref and GetAtt, by its ID in the results. */
  readonly resolved: ReadonlyMap<string, ResolvedResource>;
  /** Each resource's tags (`sluice:role`, `sluice:source`, ...), by its ID in the results. */
  readonly tags: ReadonlyMap<string, { readonly [key: string]: string }>;
  /** Every resource created or described, stack by stack. */
  readonly resources: readonly ProvisionedResource[];
  /** Resource types in the templates that have no local counterpart (IAM, dashboards, ...). */
  readonly notEmulated: ReadonlyMap<string, number>;
}

export interface ProvisionOptions {
  readonly pseudo: Pseudo;
  /** Lower-case, unique per environment; keeps generated bucket names unique like in AWS. */
  readonly nameSuffix: string;
  /**
   * Local time runs faster: visibility timeouts (and retry delays, which the functions scale
   * themselves) are multiplied by this factor. 1 means real time. A scaled visibility timeout is
   * never shorter than the consuming function's timeout, so a message is never delivered twice
   * while an invocation is still working on it.
   */
  readonly timeScale: number;
  /** What the stacks provisioned before this one export (`Fn::ImportValue`). @default - nothing */
  readonly imports?: ReadonlyMap<string, string>;
  /** Prefixes every ID in the results. @default '' */
  readonly idPrefix?: string;
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

const CREATION_ORDER = CREATORS.map(([type]) => type);
const CREATOR_OF = new Map(CREATORS);

/**
 * Creates every resource of `pending`, each once the resources it refers to exist: a pass creates
 * what it can and defers the rest to the next, until nothing is left or nothing moves.
 */
async function createInDependencyOrder(stack: StackInProgress, template: CfnTemplate): Promise<void> {
  const rank = (type: string) => {
    const index = CREATION_ORDER.indexOf(type);
    return index === -1 ? CREATION_ORDER.length : index;
  };
  let pending = Object.entries(template.Resources).sort(([, a], [, b]) => rank(a.Type) - rank(b.Type));
  while (pending.length > 0) {
    const deferred: typeof pending = [];
    for (const [logicalId, resource] of pending) {
      try {
        const properties = stack.resolver.resolve(resource.Properties ?? {}) as { [key: string]: unknown };
        await (CREATOR_OF.get(resource.Type) ?? notEmulated)(stack, logicalId, properties, resource);
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
}

/** Creates the resources of one template; `options.imports` answer its `Fn::ImportValue`s. */
export async function provisionFromTemplate(
  template: CfnTemplate,
  clients: EmulatorClients,
  options: ProvisionOptions,
): Promise<Provisioned> {
  return (await provisionStack(template, clients, options)).provisioned;
}

/** One stack's resources, and the resolver that answers for them (its outputs resolve through it). */
async function provisionStack(
  template: CfnTemplate,
  clients: EmulatorClients,
  options: ProvisionOptions,
): Promise<{ provisioned: Provisioned; resolver: IntrinsicResolver }> {
  const resolved = new Map<string, ResolvedResource>();
  const resolver = new IntrinsicResolver(resolved, options.pseudo, options.imports);
  const idPrefix = options.idPrefix ?? '';
  const stack: StackInProgress = {
    clients,
    pseudo: options.pseudo,
    nameSuffix: options.nameSuffix,
    timeScale: options.timeScale,
    idPrefix,
    resolver,
    resolved,
    minimumVisibility: consumerTimeouts(template),
    queues: new Map(),
    buckets: new Map(),
    tables: new Map(),
    topics: new Map(),
    secrets: new Map(),
    functions: new Map(),
    mappings: [],
    scheduledRules: [],
    schedules: [],
    streamMappings: [],
    eventBuses: new Map(),
    alarms: new Map(),
    notEmulated: new Map(),
  };
  await createInDependencyOrder(stack, template);

  const entries = Object.entries(template.Resources);
  const provisioned: Provisioned = {
    queues: stack.queues,
    buckets: stack.buckets,
    tables: stack.tables,
    topics: stack.topics,
    secrets: stack.secrets,
    functions: stack.functions,
    eventSourceMappings: stack.mappings,
    scheduledRules: stack.scheduledRules,
    schedules: stack.schedules,
    streamMappings: stack.streamMappings,
    eventBuses: stack.eventBuses,
    alarms: stack.alarms,
    resolved: new Map([...resolved].map(([id, r]) => [`${idPrefix}${id}`, r])),
    tags: new Map(entries.map(([id, resource]) => [`${idPrefix}${id}`, tagsOf(resource)])),
    resources: entries.flatMap(([logicalId, resource]): ProvisionedResource[] => {
      const local = resolved.get(logicalId);
      return local === undefined
        ? []
        : [
            {
              stackName: options.pseudo.stackName,
              logicalId,
              type: resource.Type,
              physicalId: local.ref,
              tags: tagsOf(resource),
            },
          ];
    }),
    notEmulated: stack.notEmulated,
  };
  return { provisioned, resolver };
}

/** The ID a resource of `stackName` has in the results of provisionApp. */
export function appResourceId(stackName: string, logicalId: string): string {
  return `${stackName}.${logicalId}`;
}

/**
 * Creates the resources of every stack of an app, in deployment order, each stack resolving its
 * imports against the exports of those before it. IDs in the results are `<stack>.<logical ID>`:
 * source stacks share logical IDs (each has its `HttpCollector`).
 */
export async function provisionApp(
  stacks: readonly AssemblyStack[],
  clients: EmulatorClients,
  options: Omit<ProvisionOptions, 'pseudo' | 'imports' | 'idPrefix'> & {
    readonly pseudo: Omit<Pseudo, 'stackName'>;
  },
): Promise<Provisioned> {
  const imports = new Map<string, string>();
  const parts: Provisioned[] = [];
  for (const stack of stacks) {
    const { provisioned, resolver } = await provisionStack(stack.template, clients, {
      ...options,
      pseudo: { ...options.pseudo, stackName: stack.stackName },
      imports,
      idPrefix: appResourceId(stack.stackName, ''),
    });
    for (const [name, value] of exportsOf(stack.template, resolver)) imports.set(name, value);
    parts.push(provisioned);
  }
  const merged = <K, V>(pick: (p: Provisioned) => ReadonlyMap<K, V>) =>
    new Map(parts.flatMap((p) => [...pick(p)]));
  const notEmulatedCounts = new Map<string, number>();
  for (const part of parts) {
    for (const [type, count] of part.notEmulated)
      notEmulatedCounts.set(type, (notEmulatedCounts.get(type) ?? 0) + count);
  }
  return {
    queues: merged((p) => p.queues),
    buckets: merged((p) => p.buckets),
    tables: merged((p) => p.tables),
    topics: merged((p) => p.topics),
    secrets: merged((p) => p.secrets),
    functions: merged((p) => p.functions),
    eventSourceMappings: parts.flatMap((p) => p.eventSourceMappings),
    scheduledRules: parts.flatMap((p) => p.scheduledRules),
    schedules: parts.flatMap((p) => p.schedules),
    streamMappings: parts.flatMap((p) => p.streamMappings),
    eventBuses: merged((p) => p.eventBuses),
    alarms: merged((p) => p.alarms),
    resolved: merged((p) => p.resolved),
    tags: merged((p) => p.tags),
    resources: parts.flatMap((p) => p.resources),
    notEmulated: notEmulatedCounts,
  };
}
