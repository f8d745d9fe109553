/**
 * Where `sluice replay` meets the replay module (re-running transforms from raw storage without
 * fetching again, DESIGN.md decision 1). That module is built separately (issue 4); until it is
 * merged, `startReplay` says so instead of pretending to replay anything.
 */
import { CliError, type SluiceTarget } from './target.js';

export interface ReplayRequest {
  readonly source: string;
  /** First and last day (UTC, yyyy-mm-dd) of raw partitions to replay. */
  readonly from: string | undefined;
  readonly to: string | undefined;
  /** Replay one job's raw data only. */
  readonly jobKey: string | undefined;
  /** List what would be replayed, change nothing. */
  readonly dryRun: boolean;
}

export interface ReplaySummary {
  readonly manifests: number;
  readonly requeued: number;
}

export class ReplayNotAvailableError extends CliError {
  constructor() {
    super(
      'replay is not available in this build: the replay module (re-running transforms from raw storage) ' +
        'is not part of it yet. Until it is, see runbooks/replay-backfill.md for the manual procedure.',
      3,
    );
  }
}

/** Replays raw data through the transform. Wire the replay module in here when it lands. */
export async function startReplay(_target: SluiceTarget, _request: ReplayRequest): Promise<ReplaySummary> {
  throw new ReplayNotAvailableError();
}
