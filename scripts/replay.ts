/**
 * `npm run replay`: re-runs transforms over raw storage for a source and a range of days, without
 * fetching anything (see functions/core/replay.ts). The ops CLI can call `replayCommand` as is.
 *
 *   npm run replay -- --source demo-inventory --from 2026-11-01 --to 2026-11-27 --dry-run
 *   npm run replay -- --source demo-inventory --from 2026-11-01 --to 2026-11-27 --rate 25
 *
 * AWS credentials, region and endpoint come from the standard SDK environment (AWS_PROFILE,
 * AWS_REGION, AWS_ENDPOINT_URL for the local emulator). The resources come from flags or from
 * SLUICE_RAW_BUCKET_NAME, SLUICE_TRANSFORM_QUEUE_URL and SLUICE_RECORDS_TABLE_NAME.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3RawCatalog } from '../functions/adapters/raw-catalog.js';
import { S3RawStore } from '../functions/adapters/raw-store.js';
import { DynamoRecordStore } from '../functions/adapters/record-store.js';
import { FileReplayCheckpoints } from '../functions/adapters/replay-checkpoints.js';
import { SqsTransformQueue } from '../functions/adapters/transform-queue.js';
import { daysInRange, formatReplayReport, planReplay, replayRange } from '../functions/core/replay.js';
import { findParser } from '../sources/parsers.js';
import { findSource, sources } from '../sources/registry.js';

export const DEFAULT_MESSAGES_PER_SECOND = 25;

const USAGE = `usage: npm run replay -- --source <name> --from <yyyy-mm-dd> [--to <yyyy-mm-dd>] [--dry-run]
                        [--rate <messages/s>|max] [--fresh] [--samples N]
                        [--raw-bucket B] [--transform-queue-url U] [--records-table T] [--checkpoint-dir D]
  --source            the source to replay (${sources.map((s) => s.name).join(', ')})
  --from, --to        the days of raw data (dt= partitions, UTC), inclusive; --to defaults to --from
  --dry-run           run the transform in-process and report what would change; writes nothing
  --rate              replay messages sent per second (default ${DEFAULT_MESSAGES_PER_SECOND}); max for no limit
  --fresh             ignore the checkpoint of an interrupted run of the same replay and start over
  --samples           sample diffs shown by --dry-run (default 5)
  resources           flags, or SLUICE_RAW_BUCKET_NAME, SLUICE_TRANSFORM_QUEUE_URL, SLUICE_RECORDS_TABLE_NAME
  --checkpoint-dir    where interrupted runs are remembered (default .sluice/replay)`;

export interface ReplayCommandIo {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly documents: DynamoDBDocumentClient;
  readonly env: NodeJS.ProcessEnv;
  readonly print: (text: string) => void;
  readonly printError: (text: string) => void;
  /** @default .sluice/replay under the working directory */
  readonly checkpointDir?: string;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function required(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`${what} is required`);
  return value;
}

/** Runs the command; returns the process exit code (0 done, 1 failed, 2 usage). */
export async function replayCommand(argv: readonly string[], io: ReplayCommandIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        source: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        rate: { type: 'string', default: String(DEFAULT_MESSAGES_PER_SECOND) },
        fresh: { type: 'boolean', default: false },
        samples: { type: 'string', default: '5' },
        'raw-bucket': { type: 'string' },
        'transform-queue-url': { type: 'string' },
        'records-table': { type: 'string' },
        'checkpoint-dir': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.help) {
      io.print(USAGE);
      return 0;
    }
    const source = required(values.source, '--source');
    if (findSource(source) === undefined || findParser(source) === undefined) {
      throw new UsageError(
        `--source must be a registered source (${sources.map((s) => s.name).join(', ')}), got ${source}`,
      );
    }
    const from = required(values.from, '--from');
    const to = values.to ?? from;
    daysInRange(from, to);
    const rawBucket = required(
      values['raw-bucket'] ?? io.env.SLUICE_RAW_BUCKET_NAME,
      '--raw-bucket (or SLUICE_RAW_BUCKET_NAME)',
    );
    const catalog = new S3RawCatalog(io.s3, rawBucket);

    if (values['dry-run']) {
      const samples = Number(values.samples);
      if (!Number.isInteger(samples) || samples < 0)
        throw new UsageError(`--samples must be a whole number, got ${values.samples}`);
      const recordsTable = required(
        values['records-table'] ?? io.env.SLUICE_RECORDS_TABLE_NAME,
        '--records-table (or SLUICE_RECORDS_TABLE_NAME)',
      );
      const report = await planReplay(
        { source, from, to },
        {
          catalog,
          rawStore: new S3RawStore(io.s3, rawBucket),
          records: new DynamoRecordStore(io.documents, recordsTable),
          findParser,
        },
        { samples },
      );
      io.print(formatReplayReport(report));
      return 0;
    }

    const rate = values.rate === 'max' ? Number.POSITIVE_INFINITY : Number(values.rate);
    if (!(rate > 0))
      throw new UsageError(
        `--rate must be a positive number of messages per second or max, got ${values.rate}`,
      );
    const queueUrl = required(
      values['transform-queue-url'] ?? io.env.SLUICE_TRANSFORM_QUEUE_URL,
      '--transform-queue-url (or SLUICE_TRANSFORM_QUEUE_URL)',
    );
    let lastShown = 0;
    const report = await replayRange(
      { source, from, to, messagesPerSecond: rate, fresh: values.fresh },
      {
        catalog,
        queue: new SqsTransformQueue(io.sqs, queueUrl, rawBucket),
        checkpoints: new FileReplayCheckpoints(
          values['checkpoint-dir'] ?? io.checkpointDir ?? join('.sluice', 'replay'),
        ),
        now: () => performance.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        onProgress: ({ day, total }) => {
          if (total - lastShown >= 100) {
            lastShown = total;
            io.printError(`  … ${total} sent (now at ${day})`);
          }
        },
      },
    );
    io.print(formatReplayReport(report));
    return 0;
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof RangeError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      io.printError(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.printError(`replay failed: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  // The SDK warns once per process that Node 20 support ends in 2027; for an operator that is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dynamodb = new DynamoDBClient({});
  process.exitCode = await replayCommand(process.argv.slice(2), {
    s3: new S3Client({}),
    sqs: new SQSClient({}),
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    env: process.env,
    print: (text) => console.log(text),
    printError: (text) => console.error(text),
  });
}
