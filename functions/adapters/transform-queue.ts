/**
 * Sends manifests to the transform queue the way S3 announces new ones, so the transform treats a
 * replayed manifest exactly like a new one (see core/s3-notification.ts).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { TransformQueueSender } from '../core/ports.js';
import { replayNotification } from '../core/s3-notification.js';

/** Entries SQS refused in a batch are sent again this many times before the replay stops. */
const RESENDS = 3;

export class SqsTransformQueue implements TransformQueueSender {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly bucket: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly sleep: (milliseconds: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async send(manifestKeys: readonly string[]): Promise<void> {
    if (manifestKeys.length > 10)
      throw new RangeError(`send takes at most 10 keys, got ${manifestKeys.length}`);
    let pending = manifestKeys.map((key, index) => ({ Id: String(index), key }));
    for (let round = 0; pending.length > 0; round += 1) {
      const response = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: pending.map((entry) => ({
            Id: entry.Id,
            MessageBody: replayNotification(this.bucket, entry.key, this.clock()),
          })),
        }),
      );
      const failed = response.Failed ?? [];
      if (failed.length === 0) return;
      if (round >= RESENDS) {
        const detail = failed.map((f) => `${f.Id}: ${f.Code} ${f.Message ?? ''}`.trim()).join('; ');
        throw new Error(
          `transform queue refused ${failed.length} replay message(s) after ${RESENDS} resends: ${detail}`,
        );
      }
      const failedIds = new Set(failed.map((f) => f.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      await this.sleep(200 * 2 ** round);
    }
  }
}
