/**
 * Where `sluice replay` meets the replay module (functions/core/replay.ts through
 * scripts/replay.ts): re-running transforms from raw storage without fetching again
 * (DESIGN.md decision 1), against whichever environment the CLI is connected to.
 */
import { DynamoJobLedger } from '../functions/adapters/job-ledger.js';
import { S3RawStore } from '../functions/adapters/raw-store.js';
import { DynamoRecordStore } from '../functions/adapters/record-store.js';
import { SqsTransformQueue } from '../functions/adapters/transform-queue.js';
import { MANIFEST_NAME, parseRawKey } from '../functions/core/raw-layout.js';
import { formatReplayReport, planManifests } from '../functions/core/replay.js';
import { replayCommand } from '../scripts/replay.js';
import { findParser } from '../sources/parsers.js';
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

export interface JobReplayRequest {
  readonly source: string;
  readonly jobKey: string;
  /** Report what would change, write nothing. */
  readonly dryRun: boolean;
}

/**
 * Replays every collection of one job (its manifests, as the job ledger lists them): the fix for
 * one job whose parser was wrong, without knowing the day its raw data is filed under.
 * Returns the exit code (0 done, 1 failed or nothing to replay).
 */
export async function runReplayOfJob(
  target: SluiceTarget,
  request: JobReplayRequest,
  io: { readonly print: (text: string) => void; readonly printError: (text: string) => void },
): Promise<number> {
  const { resources, clients } = target;
  const history = await new DynamoJobLedger(clients.documents, resources.ledgerTable).history(request.jobKey);
  if (history.length === 0) {
    io.printError(
      `no job ${JSON.stringify(request.jobKey)} in the ledger (find it with: sluice job <traceId>)`,
    );
    return 1;
  }
  const manifestKeys = [
    ...new Set(
      history.flatMap((item) =>
        item.kind === 'attempt' &&
        typeof item.manifestKey === 'string' &&
        item.manifestKey.endsWith(`/${MANIFEST_NAME}`)
          ? [item.manifestKey]
          : [],
      ),
    ),
  ].sort();
  const others = manifestKeys.filter((key) => parseRawKey(key)?.source !== request.source);
  if (others.length > 0) {
    io.printError(`job ${request.jobKey} is not a ${request.source} job: its raw data is ${others[0]}`);
    return 1;
  }
  if (manifestKeys.length === 0) {
    io.printError(
      `job ${request.jobKey} has no collection in raw storage to replay (sluice job ${request.jobKey})`,
    );
    return 1;
  }
  const days = manifestKeys.map((key) => parseRawKey(key)?.day ?? '').sort();
  const range = { source: request.source, from: days[0] ?? '', to: days.at(-1) ?? '' };
  if (request.dryRun) {
    const report = await planManifests(
      range,
      (async function* () {
        yield manifestKeys;
      })(),
      {
        rawStore: new S3RawStore(clients.s3, resources.rawBucket),
        records: new DynamoRecordStore(clients.documents, resources.recordsTable),
        findParser,
      },
    );
    io.print(`job ${request.jobKey}: ${formatReplayReport(report)}`);
    return 0;
  }
  const queue = new SqsTransformQueue(clients.sqs, resources.transformQueues.jobsUrl, resources.rawBucket);
  for (let start = 0; start < manifestKeys.length; start += 10) {
    await queue.send(manifestKeys.slice(start, start + 10));
  }
  io.print(
    `replay of job ${request.jobKey} (${request.source}): sent ${manifestKeys.length} manifest(s) to the transform queue:\n${manifestKeys.map((key) => `  ${key}`).join('\n')}\nfollow it with: sluice job ${request.jobKey}`,
  );
  return 0;
}
