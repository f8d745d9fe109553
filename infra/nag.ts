/**
 * cdk-nag's AwsSolutions and Serverless packs run on every synth (`cdk synth` fails on an
 * unacknowledged finding). Each acknowledgement below is scoped to the constructs it is about and
 * says why the finding does not apply, or what Sluice does instead.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { RAW_PREFIX, sourcePrefix } from '../functions/core/raw-layout.js';
import type { PipelineFunction } from './constructs/pipeline-function.js';
import type { CoreStack } from './core-stack.js';
import type { SourceStack } from './source-stack.js';

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}

interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledges findings by rule ID (e.g. `AwsSolutions-IAM5[Resource::*]`), recorded under the
 * pack's prefix (`AwsSolutions::…`) as the validation framework expects; an unprefixed ID would be
 * filed as a construct annotation instead.
 */
function acknowledge(scope: IConstruct, ...acknowledgements: Acknowledgement[]): void {
  for (const { id, reason } of acknowledgements) {
    const pack = id.split('-')[0];
    Validations.of(scope).acknowledge({ id: `${pack}::${id}`, reason });
  }
}

/** The acknowledgement every Sluice function's role needs: X-Ray has no resource-level permissions. */
function acknowledgeTracing(fn: PipelineFunction, inVpc = false): void {
  acknowledge(fn.function.role ?? fn, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: inVpc
      ? 'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and the network-interface lookups Lambda makes for a function in a VPC (ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets) support no resource-level permissions; every other statement names its resource.'
      : 'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; every other statement names its resource.',
  });
}

/** SQS consumers: failures are handled per message by the queue's redrive and the handlers' own dead-lettering. */
function acknowledgeQueueConsumer(fn: PipelineFunction): void {
  acknowledge(fn.function, {
    id: 'Serverless-LambdaDLQ',
    reason:
      "Invoked synchronously by an SQS event source mapping; a function DLQ applies only to asynchronous invocations. Failed messages go to the source queue's redrive DLQ.",
  });
  acknowledge(fn.function, {
    id: 'Serverless-LambdaEventSourceMappingDestination',
    reason:
      "SQS event source mappings do not support on-failure destinations; the queue's redrive policy moves a message to its DLQ after the retry budget.",
  });
}

function acknowledgeDeadLetterQueue(queue: IConstruct): void {
  acknowledge(queue, {
    id: 'Serverless-SQSRedrivePolicy',
    reason: 'This queue is itself a dead-letter queue; a DLQ of a DLQ would only hide messages further.',
  });
}

/**
 * A grant on raw objects names a prefix (keys hold the job key and fetch ID). Source stacks import
 * the bucket's ARN from the core stack, and cdk-nag names an imported value by its export.
 */
function rawObjectsFinding(stack: Stack, rawBucket: CfnBucket, prefix: string): string {
  const owner = Stack.of(rawBucket);
  const reference =
    owner === stack ? `<${owner.getLogicalId(rawBucket)}.Arn>` : exportNameOf(owner, rawBucket, 'Arn');
  return `AwsSolutions-IAM5[Resource::${reference}/${prefix}*]`;
}

/** The export name CDK gives an attribute of a resource of `owner` that another stack imports. */
function exportNameOf(owner: Stack, resource: CfnBucket, attribute: string): string {
  const imported = owner.resolve(owner.exportValue(resource.getAtt(attribute)));
  const name = (imported as { 'Fn::ImportValue'?: unknown })['Fn::ImportValue'];
  if (typeof name !== 'string')
    throw new Error(`cannot tell the export of ${resource.node.path}.${attribute}`);
  return name;
}

/** Every acknowledged finding of the core stack, next to the reason it is acceptable. */
export function acknowledgeCoreFindings(stack: CoreStack): void {
  const rawBucket = stack.rawBucket.node.defaultChild as CfnBucket;
  for (const fn of stack.pipelineFunctions) acknowledgeTracing(fn);
  acknowledge(stack.transform.function.role ?? stack.transform, {
    id: rawObjectsFinding(stack, rawBucket, RAW_PREFIX),
    reason:
      'The transform reads the raw object a manifest names, of any source: s3:GetObject under raw/ only, no listing and no writes.',
  });
  acknowledgeQueueConsumer(stack.transform);

  const checker = stack.operations.freshnessChecker.function;
  acknowledge(checker.function, {
    id: 'Serverless-LambdaDLQ',
    reason:
      "Invoked by its EventBridge schedule every few minutes: an invocation EventBridge cannot deliver goes to the schedule target's DLQ, and a run that fails leaves DataAge missing, which the data-age alarm treats as breaching. A failed run needs no replay; the next one is minutes away.",
  });
  acknowledge(stack.operations.freshnessChecker.scheduleDeadLetterQueue, {
    id: 'AwsSolutions-SQS3',
    reason:
      "It is a dead-letter queue: the freshness schedule's EventBridge target DLQ, which cdk-nag recognizes only for SQS redrive.",
  });
  for (const queue of stack.deadLetterQueues) acknowledgeDeadLetterQueue(queue);

  const changeFeed = stack.changeFeed;
  acknowledge(changeFeed.function.function, {
    id: 'Serverless-LambdaDLQ',
    reason:
      "Invoked synchronously by the records table's stream event source mapping; a function DLQ applies only to asynchronous invocations. The mapping's on-failure destination (the change feed DLQ) keeps what it could not publish.",
  });
  acknowledge(changeFeed.deadLetterQueue, {
    id: 'AwsSolutions-SQS3',
    reason:
      "It is a dead-letter queue: the on-failure destination of the change feed's stream mapping, which cdk-nag recognizes only for SQS redrive.",
  });
  acknowledge(changeFeed.node.findChild('LogRule'), {
    id: 'Serverless-EventBusDLQ',
    reason:
      'The rule only copies events into the change log that `sluice changes` reads; a lost copy loses no event (subscribers have rules of their own) and EventBridge retries delivery to a log group for 24 hours.',
  });
  // The stream read grant aws-cdk-lib makes: ListStreams has no resource-level permissions.
  acknowledge(changeFeed.function.function.role ?? changeFeed, {
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'dynamodb:ListStreams, which Lambda needs to read the records stream, supports no resource-level permissions (and X-Ray tracing likewise); the stream actions name the records stream.',
  });

  // Constructs aws-cdk-lib creates for S3 bucket notifications.
  const notifications = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (notifications !== undefined) {
    acknowledge(notifications, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "aws-cdk-lib's own custom-resource handler that configures the raw bucket's notifications at deploy time; its role is created by the library.",
    });
  }
}

/** Every acknowledged finding of a source stack, next to the reason it is acceptable. */
export function acknowledgeSourceStackFindings(stack: SourceStack, core: CoreStack): void {
  const rawBucket = core.rawBucket.node.defaultChild as CfnBucket;
  for (const [kind, collector] of stack.collectors) {
    acknowledgeTracing(collector.pipelineFunction, collector.vpc !== undefined);
    if (collector.vpc !== undefined) {
      acknowledge(collector.function.role ?? collector, {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:*/*]',
        reason:
          'Lambda creates, assigns and deletes the network interfaces of a function in a VPC with its role; their IDs are not known before Lambda makes them. Held to the deployment account and region.',
      });
    }
    acknowledgeQueueConsumer(collector.pipelineFunction);
    for (const source of collector.sources) {
      acknowledge(collector.function.role ?? collector, {
        id: rawObjectsFinding(stack, rawBucket, sourcePrefix(source.name)),
        reason: `The ${kind} collector may add raw objects of ${source.name}, one of the sources it collects, and read back what a retried put of its own met: s3:PutObject and s3:GetObject under that source's prefix only; the bucket policy denies deletes and overwrites.`,
      });
    }
  }
  if (stack.scheduleDeadLetterQueue !== undefined) {
    acknowledgeDeadLetterQueue(stack.scheduleDeadLetterQueue);
    acknowledge(stack.scheduleDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason:
        "It is a dead-letter queue: the EventBridge Scheduler target DLQ of this stack's schedules, which cdk-nag recognizes only for SQS redrive.",
    });
  }
  for (const pipeline of stack.pipelines.values()) {
    acknowledgeDeadLetterQueue(pipeline.jobs.deadLetterQueue);
    if (pipeline.login !== undefined) {
      acknowledge(pipeline.login, {
        id: 'AwsSolutions-SMG4',
        reason:
          "A partner's login or API token, issued and changed by the partner: there is no rotation Lambda that could set a new one. The owner updates the secret when the partner rotates it (npx sluice credentials set).",
      });
    }
  }
}
