/**
 * cdk-nag's AwsSolutions and Serverless packs run on every synth (`cdk synth` fails on an
 * unacknowledged finding). Each acknowledgement below is scoped to the constructs it is about and
 * says why the finding does not apply, or what Sluice does instead.
 */
import { type App, Validations } from 'aws-cdk-lib';
import type { CfnGlobalTable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
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
  const functions = stack.pipelineFunctions;
  const rawBucketId = stack.getLogicalId(stack.rawBucket.node.defaultChild as CfnBucket);

  for (const fn of functions) {
    acknowledge(
      fn.function.role ?? fn,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; every other statement names its resource.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${rawBucketId}.Arn>/raw/*]`,
        reason:
          'Raw objects are addressed by job under raw/; the grant is s3:PutObject (collectors) or s3:GetObject (transform) on that prefix only, and the bucket policy denies deletes and overwrites.',
      },
    );
  }
  for (const table of [stack.ledgerTable, stack.tasksTable]) {
    const tableId = stack.getLogicalId(table.node.defaultChild as CfnGlobalTable);
    for (const fn of functions) {
      acknowledge(fn.function.role ?? fn, {
        id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
        reason:
          "TableV2.grant adds the table's indexes; the actions granted are item writes or a query, and the only index access used is the freshness checker's byStatus query.",
      });
    }
  }

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
      "Invoked by its schedule with no retries; undelivered invocations go to the schedule target's DLQ, and a checker that fails shows as missing DataAge, which the data-age alarm treats as breaching.",
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
    acknowledge(notifications, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "aws-cdk-lib's bucket-notifications handler needs s3:PutBucketNotification on the bucket, which the library grants on *; it runs only during deployment.",
    });
  }
}
