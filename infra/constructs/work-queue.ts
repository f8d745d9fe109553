import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, WORK_QUEUE_MAX_MESSAGE_BYTES } from '../queue-limits.js';
import { runbookDescription } from '../runbook-links.js';

export interface WorkQueueProps {
  /** What the queue holds, for descriptions: `demo-catalog jobs`, `transform`. */
  readonly purpose: string;
  /**
   * Tagged on both queues as `sluice:stage`, and `sluice:source` when set, so operators, the CLI
   * and the local environment find them by role rather than by generated name.
   */
  readonly stage: 'collect' | 'transform';
  /** @default - not tagged with a source (shared by all sources) */
  readonly source?: string;
  /** Timeout of the function that consumes the queue; the visibility timeout is six times it. */
  readonly consumerTimeout: Duration;
  /** Receives before SQS moves a message to the DLQ (first delivery + retries). */
  readonly maxReceiveCount: number;
  /** Owner named in the alarm; alarms notify this owner's topic. */
  readonly owner: string;
  readonly alarmTopic: ITopic;
  readonly runbookBaseUrl: string;
}

/**
 * A work queue with its redrive DLQ and a DLQ-depth alarm: the pair every source, and the
 * transform stage, consumes from.
 */
export class WorkQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
  /** How long a received message stays hidden: what an attempt that dies silently costs. */
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    if (props.maxReceiveCount < 1)
      throw new Error(`maxReceiveCount must be at least 1, got ${props.maxReceiveCount}`);

    // Lambda's guidance: at least six times the function timeout, so a slow batch and its
    // retries by the event source mapping never make a message visible twice at once.
    this.visibilityTimeout = Duration.seconds(props.consumerTimeout.toSeconds() * 6);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: a dead letter must outlive a long weekend and an investigation.
      retentionPeriod: Duration.days(14),
      // Room for any message of the work queue plus the reason the handler attaches.
      maxMessageSizeBytes: DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: WORK_QUEUE_MAX_MESSAGE_BYTES,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    Tags.of(this.queue).add('sluice:role', 'work');
    Tags.of(this.deadLetterQueue).add('sluice:role', 'dead-letter');
    for (const queue of [this.queue, this.deadLetterQueue]) {
      Tags.of(queue).add('sluice:stage', props.stage);
      if (props.source !== undefined) Tags.of(queue).add('sluice:source', props.source);
    }

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: runbookDescription({
        summary: `Messages are waiting in the ${props.purpose} dead-letter queue: work that Sluice gave up on.`,
        owner: props.owner,
        runbook: 'dlq-messages',
        baseUrl: props.runbookBaseUrl,
      }),
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }

  /**
   * Lets the queue's consumer dead-let a message itself, with its reason: `sqs:SendMessage` to the
   * DLQ and nothing else. grantSendMessages would add GetQueueAttributes and GetQueueUrl, which a
   * handler that is given the DLQ's URL never calls.
   */
  grantDeadLetter(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });
  }
}
