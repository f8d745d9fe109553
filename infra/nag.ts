/**
 * cdk-nag's AwsSolutions and Serverless packs run on every synth (`cdk synth` fails on an
 * unacknowledged finding). Each acknowledgement below is scoped to the constructs it is about and
 * says why the finding does not apply, or what Sluice does instead.
 */
import { type App, Validations } from 'aws-cdk-lib';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { RAW_PREFIX, sourcePrefix } from '../functions/core/raw-layout.js';
import type { SluiceStack } from './sluice-stack.js';

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

/** Every acknowledged finding of the Sluice stack, next to the reason it is acceptable. */
export function acknowledgeNagFindings(stack: SluiceStack): void {
  const rawBucketId = stack.getLogicalId(stack.rawBucket.node.defaultChild as CfnBucket);
  const rawObjects = (prefix: string) => `AwsSolutions-IAM5[Resource::<${rawBucketId}.Arn>/${prefix}*]`;

  for (const fn of stack.pipelineFunctions) {
    acknowledge(fn.function.role ?? fn, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; every other statement names its resource.',
    });
  }
  // Raw object keys hold the job key and fetch ID, so a grant on raw objects names a prefix.
  for (const [kind, collector] of stack.collectors) {
    for (const source of stack.sources.filter((s) => s.kind === kind)) {
      acknowledge(collector.function.role ?? collector, {
        id: rawObjects(sourcePrefix(source.name)),
        reason: `The ${kind} collector may add raw objects of ${source.name}, one of the sources it collects, and read back what a retried put of its own met: s3:PutObject and s3:GetObject under that source's prefix only; the bucket policy denies deletes and overwrites.`,
      });
    }
  }
  acknowledge(stack.transform.function.role ?? stack.transform, {
    id: rawObjects(RAW_PREFIX),
    reason:
      'The transform reads the raw object a manifest names, of any source: s3:GetObject under raw/ only, no listing and no writes.',
  });

  // SQS consumers: failures are handled per message by the queue's redrive policy and the
  // handlers' own dead-lettering, not by Lambda's asynchronous-invocation DLQ or an ESM destination.
  for (const fn of stack.queueConsumers) {
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

  for (const queue of stack.deadLetterQueues) {
    acknowledge(queue, {
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is itself a dead-letter queue; a DLQ of a DLQ would only hide messages further.',
    });
  }

  for (const secret of stack.sourceCredentials.values()) {
    acknowledge(secret, {
      id: 'AwsSolutions-SMG4',
      reason:
        "A partner portal's login, issued and changed by the partner: there is no rotation Lambda that could set a new password. The owner updates the secret when the partner rotates it.",
    });
  }

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
