/**
 * The AWS/SQS metrics SQS publishes every minute in AWS, measured locally: each queue's visible,
 * in-flight and delayed messages (from GetQueueAttributes), and the age of its oldest message as
 * the local event source mappings know it (what they received and have not deleted; a message no
 * poller has received yet is not counted, and a dead-letter queue has no poller, so it has no
 * age). Ages are in local time, like every duration the template states (see DEFAULT_TIME_SCALE):
 * a real second is 1/timeScale seconds. The local alarm evaluation reads them like CloudWatch.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { NamespacedDatum } from './cloudwatch-bridge.js';
import type { LocalQueue } from './provision.js';
import type { SqsEventSourcePoller } from './sqs-poller.js';

export interface QueueCounts {
  readonly visible: number;
  readonly notVisible: number;
  readonly delayed: number;
}

/**
 * One minute's AWS/SQS data points of a queue. The oldest message's age is published only while
 * the queue holds messages, as SQS does.
 */
export function queueMetricsFor(
  queueName: string,
  counts: QueueCounts,
  oldestSentAt: number | undefined,
  at: Date,
  timeScale: number,
): NamespacedDatum[] {
  const datum = (MetricName: string, Value: number, Unit: 'Count' | 'Seconds'): NamespacedDatum => ({
    namespace: 'AWS/SQS',
    datum: { MetricName, Dimensions: [{ Name: 'QueueName', Value: queueName }], Timestamp: at, Value, Unit },
  });
  const data = [
    datum('ApproximateNumberOfMessagesVisible', counts.visible, 'Count'),
    datum('ApproximateNumberOfMessagesNotVisible', counts.notVisible, 'Count'),
    datum('ApproximateNumberOfMessagesDelayed', counts.delayed, 'Count'),
  ];
  const held = counts.visible + counts.notVisible + counts.delayed;
  if (held > 0 && oldestSentAt !== undefined) {
    const ageSeconds = Math.max(0, Math.floor((at.getTime() - oldestSentAt) / 1000 / timeScale));
    data.push(datum('ApproximateAgeOfOldestMessage', ageSeconds, 'Seconds'));
  }
  return data;
}

export interface QueueMetricsOptions {
  readonly timeScale: number;
  /** How often to measure, ms; SQS publishes every minute. */
  readonly intervalMs: number;
}

/** What a queue holds now, as SQS approximates it: waiting, in flight and delayed messages. */
export async function queueCounts(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ readonly visible: number; readonly notVisible: number; readonly delayed: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Measures every queue of the app on a timer and hands the data points to `sink`. */
export class QueueMetricsPublisher {
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    private readonly queues: readonly LocalQueue[],
    private readonly pollers: readonly SqsEventSourcePoller[],
    private readonly sqs: SQSClient,
    private readonly sink: (data: readonly NamespacedDatum[]) => void,
    private readonly options: QueueMetricsOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.measuring = this.measuring.then(() => this.measure());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Measures every queue once, now. */
  async measure(at = new Date()): Promise<void> {
    for (const queue of this.queues) {
      try {
        const counts = await queueCounts(this.sqs, queue.url);
        const readers = this.pollers.filter((p) => p.queueName === queue.name);
        // An empty queue holds none of what its pollers still remember.
        if (counts.visible + counts.notVisible + counts.delayed === 0)
          for (const poller of readers) poller.forgetOutstanding();
        const oldest = readers
          .map((p) => p.oldestOutstandingSentAt())
          .filter((t): t is number => t !== undefined)
          .sort((a, b) => a - b)[0];
        this.sink(queueMetricsFor(queue.name, counts, oldest, at, this.options.timeScale));
      } catch (error) {
        if (!this.warned) {
          this.warned = true;
          process.emitWarning(`local queue metrics: ${queue.name}: ${(error as Error).message}`);
        }
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.measuring;
  }
}
