/**
 * Sends follow-up jobs to their sources' jobs queues. A queue is found by its name
 * (functions/core/resource-names.ts: `<app>-<source>-jobs`), asked once per container, so a
 * function's environment names no queue and a follow-up may go to a source in another stack;
 * what it may send to is decided by its role (the queues its sources name as follow-up targets).
 */
import { GetQueueUrlCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TransientError } from '../core/errors.js';
import type { PlannedFollowUp } from '../core/follow-ups.js';
import type { FollowUpQueue } from '../core/ports.js';
import { jobsQueueName } from '../core/resource-names.js';

/** SendMessageBatch's limit. */
const BATCH = 10;

export class SqsFollowUpQueue implements FollowUpQueue {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly client: SQSClient,
    private readonly appName: string,
  ) {}

  private urlOf(source: string): Promise<string> {
    let url = this.urls.get(source);
    if (url === undefined) {
      url = (async () => {
        const { QueueUrl } = await this.client.send(
          new GetQueueUrlCommand({ QueueName: jobsQueueName(this.appName, source) }),
        );
        if (QueueUrl === undefined)
          throw new Error(`GetQueueUrl gave no URL for the jobs queue of ${source}`);
        return QueueUrl;
      })();
      url.catch(() => this.urls.delete(source));
      this.urls.set(source, url);
    }
    return url;
  }

  async enqueue(followUps: readonly PlannedFollowUp[]): Promise<void> {
    const bySource = new Map<string, PlannedFollowUp[]>();
    for (const followUp of followUps) {
      bySource.set(followUp.job.source, [...(bySource.get(followUp.job.source) ?? []), followUp]);
    }
    for (const [source, jobs] of bySource) {
      const queueUrl = await this.urlOf(source);
      for (let start = 0; start < jobs.length; start += BATCH) {
        const chunk = jobs.slice(start, start + BATCH);
        const response = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((f, i) => ({ Id: String(i), MessageBody: JSON.stringify(f.job) })),
          }),
        );
        const failed = response.Failed ?? [];
        if (failed.length > 0) {
          // The whole chunk is sent again on the retry: the copies that did arrive are duplicate
          // deliveries of the same keys, which their claims turn away.
          throw new TransientError(
            `${failed.length} of ${chunk.length} follow-up job(s) for ${source} were not accepted: ${failed
              .map((f) => `${f.Code}: ${f.Message ?? ''}`)
              .join('; ')}`,
            { reason: 'follow-up-not-sent' },
          );
        }
      }
    }
  }
}
