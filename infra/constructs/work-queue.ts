import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueueName } from '../../functions/core/resource-names.js';
import { DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES, WORK_QUEUE_MAX_MESSAGE_BYTES } from '../queue-limits.js';
import { runbookDescription } from '../runbook-links.js';

export interface WorkQueueProps {
  /**
   * The queue's physical name (functions/core/resource-names.ts): upstream systems send to its
   * URL, and consumers find its DLQ, `<queueName>-dlq`, from it. A named queue is never replaced
   * silently: a change that would need a new queue fails the deploy instead.
   */
  readonly queueName: string;
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
  /** The DLQ alarm's name (`<app>-<subject>-dead-letters`): unique per app and region. */
  readonly deadLetterAlarmName: string;
  readonly runbookBaseUrl: string;
}

/**
 * A work queue with its redrive DLQ and a DLQ-depth alarm: the pair every source, and the
 * transform stage, consumes from.
 */
export class WorkQueue extends Construct {
  /** The work queue's physical name; its DLQ's is `<queueName>-dlq`. */
  readonly queueName: string;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;
  /** How long a received message stays hidden: what an attempt that dies silently costs. */
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.queueName = props.queueName;
    if (props.maxReceiveCount < 1)
      throw new Error(`maxReceiveCount must be at least 1, got ${props.maxReceiveCount}`);

    // Lambda's guidance: at least six times the function timeout, so a slow batch and its
    // retries by the event source mapping never make a message visible twice at once.
    this.visibilityTimeout = Duration.seconds(props.consumerTimeout.toSeconds() * 6);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(props.queueName),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: a dead letter must outlive a long weekend and an investigation.
      retentionPeriod: Duration.days(14),
      // Room for any message of the work queue plus the reason the handler attaches.
      maxMessageSizeBytes: DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
      // Kept when removed from the app (its messages are someone's work), deleted only when the
      // deploy that created it fails, so a named queue never blocks the next try.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: WORK_QUEUE_MAX_MESSAGE_BYTES,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    Tags.of(this.queue).add('sluice:role', 'work');
    Tags.of(this.deadLetterQueue).add('sluice:role', 'dead-letter');
    for (const queue of [this.queue, this.deadLetterQueue]) {
      Tags.of(queue).add('sluice:stage', props.stage);
      if (props.source !== undefined) Tags.of(queue).add('sluice:source', props.source);
    }

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmName: props.deadLetterAlarmName,
      alarmDescription: runbookDescription({
        summary: `Messages are waiting in the ${props.purpose} dead-letter queue: work that Sluice gave up on.`,
        owner: props.owner,
        runbook: 'dlq-messages',
        baseUrl: props.runbookBaseUrl,
      }),
      metric: this.metricDeadLetters({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new SnsAction(props.alarmTopic));
  }

  /*
   * The queues' AWS/SQS metrics name them by their physical names, which are known here, rather
   * than by a reference to the queue: the same metric, and a fraction of the template bytes a
   * source's alarms and dashboard row weigh (a source stack holds dozens of sources).
   */
  private sqsMetric(queueName: string, metricName: string, options: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/SQS',
      metricName,
      dimensionsMap: { QueueName: queueName },
      statistic: 'Maximum',
      ...options,
    });
  }

  /** Messages waiting in the work queue. */
  metricWaiting(options: MetricOptions = {}): Metric {
    return this.sqsMetric(this.queueName, 'ApproximateNumberOfMessagesVisible', options);
  }

  /** Seconds the oldest message of the work queue has waited. */
  metricOldestMessageAge(options: MetricOptions = {}): Metric {
    return this.sqsMetric(this.queueName, 'ApproximateAgeOfOldestMessage', options);
  }

  /** Messages in the dead-letter queue. */
  metricDeadLetters(options: MetricOptions = {}): Metric {
    return this.sqsMetric(deadLetterQueueName(this.queueName), 'ApproximateNumberOfMessagesVisible', options);
  }

  /**
   * Lets the queue's consumer dead-letter a message itself, with its reason: find the DLQ's URL
   * from its name (`sqs:GetQueueUrl`, functions/adapters/work-queues.ts) and `sqs:SendMessage` to
   * it, nothing else. grantSendMessages would add GetQueueAttributes, which it never calls.
   */
  grantDeadLetter(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['sqs:GetQueueUrl', 'sqs:SendMessage'],
      resourceArns: [this.deadLetterQueue.queueArn],
    });
  }
}
