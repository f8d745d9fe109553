/**
 * Where `sluice replay` meets the replay module (functions/core/replay.ts through
 * scripts/replay.ts): re-running transforms from raw storage without fetching again
 * (DESIGN.md decision 1), against whichever environment the CLI is connected to.
 */
import { replayCommand } from '../scripts/replay.js';
import type { SluiceTarget } from './target.js';

export interface ReplayRequest {
  readonly source: string;
  /** First and last day (UTC, yyyy-mm-dd) of raw partitions to replay; `to` defaults to `from`. */
  readonly from: string;
  readonly to: string | undefined;
  /** Report what would change, write nothing. */
  readonly dryRun: boolean;
  /** Replay messages per second, or `max`. @default the replay module's default */
  readonly rate: string | undefined;
  /** Ignore the checkpoint of an interrupted run of the same replay. */
  readonly fresh: boolean;
}

/** Runs the replay; returns the exit code (0 done, 1 failed, 2 wrong usage). */
export function runReplay(
  target: SluiceTarget,
  request: ReplayRequest,
  io: { readonly print: (text: string) => void; readonly printError: (text: string) => void },
): Promise<number> {
  const argv = [
    '--source',
    request.source,
    '--from',
    request.from,
    ...(request.to === undefined ? [] : ['--to', request.to]),
    ...(request.dryRun ? ['--dry-run'] : []),
    ...(request.rate === undefined ? [] : ['--rate', request.rate]),
    ...(request.fresh ? ['--fresh'] : []),
  ];
  return replayCommand(argv, {
    s3: target.clients.s3,
    sqs: target.clients.sqs,
    documents: target.clients.documents,
    env: {
      SLUICE_RAW_BUCKET_NAME: target.resources.rawBucket,
      SLUICE_TRANSFORM_QUEUE_URL: target.resources.transformQueues.jobsUrl,
      SLUICE_RECORDS_TABLE_NAME: target.resources.recordsTable,
    },
    print: io.print,
    printError: io.printError,
  });
}
