/**
 * Reads the change log: the log group every RecordChanged event on the change feed's bus is copied
 * into by a rule (infra/constructs/change-feed.ts). EventBridge keeps no event itself, so this is
 * where `sluice changes`, the local report and the chaos checker see what was published —
 * deployed and locally alike (moto's EventBridge delivers to log groups too).
 */
import { type CloudWatchLogsClient, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { z } from 'zod';
import { RECORD_CHANGED, RecordChangedDetail } from '../functions/core/record-changes.js';

/** An event as EventBridge writes it to a log group. */
const LoggedEvent = z.object({
  id: z.string(),
  source: z.literal(RECORD_CHANGED.source),
  'detail-type': z.literal(RECORD_CHANGED.detailType),
  time: z.string(),
  detail: RecordChangedDetail,
});

export interface PublishedChange {
  /** EventBridge's ID of this publication (a change published twice has two). */
  readonly publicationId: string;
  /** When EventBridge received it (seconds), and when the log received it (milliseconds). */
  readonly time: string;
  readonly loggedAt: number;
  readonly detail: RecordChangedDetail;
}

export interface ChangeLogFilter {
  readonly source?: string;
  /** @default - from the start of the log's retention */
  readonly since?: Date;
  /** @default - all */
  readonly limit?: number;
}

/** Every RecordChanged event in the log, oldest first; lines that are not one are skipped. */
export async function readChangeLog(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  filter: ChangeLogFilter = {},
): Promise<PublishedChange[]> {
  const found: PublishedChange[] = [];
  for await (const page of paginateFilterLogEvents(
    { client: logs },
    {
      logGroupName,
      ...(filter.since === undefined ? {} : { startTime: filter.since.getTime() }),
      // The lines are JSON: CloudWatch Logs filters on a field before it sends anything (moto
      // reads no JSON patterns and sends everything; the check below filters either way).
      ...(filter.source === undefined ? {} : { filterPattern: `{ $.detail.source = "${filter.source}" }` }),
    },
  )) {
    for (const event of page.events ?? []) {
      let json: unknown;
      try {
        json = JSON.parse(event.message ?? '');
      } catch {
        continue;
      }
      const parsed = LoggedEvent.safeParse(json);
      if (!parsed.success) continue;
      if (filter.source !== undefined && parsed.data.detail.source !== filter.source) continue;
      found.push({
        publicationId: parsed.data.id,
        time: parsed.data.time,
        loggedAt: event.timestamp ?? 0,
        detail: parsed.data.detail,
      });
    }
  }
  found.sort((a, b) => a.loggedAt - b.loggedAt);
  return filter.limit === undefined ? found : found.slice(-filter.limit);
}
