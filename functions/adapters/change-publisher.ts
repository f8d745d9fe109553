/**
 * The change feed's bus: RecordChanged events go to it with PutEvents, ten per call (the API's
 * limit), each entry's detail the event itself. Downstream teams subscribe with rules on the bus
 * (docs/scheduling-and-change-feed.md has an example).
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { ChangePublisher } from '../core/ports.js';
import { RECORD_CHANGED, type RecordChangedDetail } from '../core/record-changes.js';

export class EventBridgeChangePublisher implements ChangePublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(details: readonly RecordChangedDetail[]): Promise<number | undefined> {
    if (details.length === 0) return undefined;
    if (details.length > 10) throw new Error(`PutEvents takes at most 10 entries, got ${details.length}`);
    const response = await this.client.send(
      new PutEventsCommand({
        Entries: details.map((detail) => ({
          EventBusName: this.busName,
          Source: RECORD_CHANGED.source,
          DetailType: RECORD_CHANGED.detailType,
          Detail: JSON.stringify(detail),
        })),
      }),
    );
    if ((response.FailedEntryCount ?? 0) === 0) return undefined;
    // Entries answer in the order they were sent; a failed one carries an ErrorCode.
    const failed = (response.Entries ?? []).findIndex((entry) => entry.ErrorCode !== undefined);
    return failed === -1 ? 0 : failed;
  }
}
