/**
 * The replay the benchmark measures: Sluice's own replay (`replayRange` in functions/core/replay.ts,
 * as `npm run replay` runs it) with the real S3 catalogue and file checkpoints, over one source's
 * day. Only the transform queue is replaced: instead of SQS and the transform Lambda's event
 * source mapping, each manifest sent goes to `concurrency` in-process workers that run the
 * transform's core (transformManifest) on it, reading the manifest and its primary raw object from
 * S3 and upserting records — no fetch. That keeps the local SQS poller and worker threads out of
 * the figure (the pipeline part measures those); `npm run bench:replay` measures replay through
 * them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3RawCatalog } from '../functions/adapters/raw-catalog.js';
import { FileReplayCheckpoints } from '../functions/adapters/replay-checkpoints.js';
import type { TransformQueueSender } from '../functions/core/ports.js';
import { dayPrefix, replayRange } from '../functions/core/replay.js';
import type { RawStore, RecordStore } from './sluice-ports.js';
import { transformOne } from './sluice-ports.js';
import { now } from './stats.js';

export interface ReplayDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
  /** Where the replay keeps its checkpoint file while it runs. */
  readonly checkpointDir: string;
}

export interface ReplayProgress {
  readonly manifestsDone: number;
  /** Manifests under the day's prefix when the replay started. */
  readonly manifestsStored: number;
  readonly objectsRead: number;
}

export interface ReplayOutcome {
  /** Every object under the day's prefix (artifacts and manifests), listed before the replay. */
  readonly objectsListed: number;
  /** Manifests the replay sent (each one transformed). */
  readonly manifests: number;
  /** Objects fetched from S3: each manifest and the raw object it names. */
  readonly objectsRead: number;
  readonly records: number;
  readonly failures: number;
  /** From the replay's start until its last manifest was sent (listing and sending). */
  readonly sendMs: number;
  readonly firstFailure?: string;
}

/** A transform queue whose consumer is `concurrency` in-process transforms; `drained` waits for them. */
class InProcessTransformQueue implements TransformQueueSender {
  private readonly waiting: string[] = [];
  private readonly workers = new Set<Promise<void>>();
  sent = 0;
  done = 0;
  records = 0;
  failures = 0;
  firstFailure: string | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly transform: (manifestKey: string) => Promise<number>,
    private readonly onDone: () => void,
  ) {}

  async send(manifestKeys: readonly string[]): Promise<void> {
    this.waiting.push(...manifestKeys);
    this.sent += manifestKeys.length;
    while (this.workers.size < this.concurrency && this.waiting.length > 0) {
      const worker = this.work().finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  private async work(): Promise<void> {
    for (let key = this.waiting.shift(); key !== undefined; key = this.waiting.shift()) {
      try {
        // Awaited first: `this.records += await …` would read the total before the await and
        // lose the other workers' additions.
        const records = await this.transform(key);
        this.records += records;
      } catch (error) {
        this.failures += 1;
        this.firstFailure ??= `${key}: ${(error as Error).message}`;
      }
      this.done += 1;
      this.onDone();
    }
  }

  async drained(): Promise<void> {
    while (this.workers.size > 0) await Promise.all([...this.workers]);
  }
}

export async function replayRawObjects(
  options: ReplayDeps & {
    readonly source: string;
    /** The day replayed, `yyyy-mm-dd` (UTC). */
    readonly day: string;
    readonly concurrency: number;
    readonly onProgress?: (progress: ReplayProgress) => void;
  },
): Promise<ReplayOutcome> {
  const catalog = new S3RawCatalog(options.s3, options.bucket);
  let objectsListed = 0;
  let manifestsStored = 0;
  for await (const page of catalog.listKeys(dayPrefix(options.source, options.day))) {
    objectsListed += page.length;
    manifestsStored += page.filter((key) => key.endsWith('/manifest.json')).length;
  }

  const queue: InProcessTransformQueue = new InProcessTransformQueue(
    options.concurrency,
    async (key) => {
      const result = await transformOne(key, {
        rawStore: options.rawStore,
        recordStore: options.recordStore,
      });
      return result.counts.created + result.counts.updated + result.counts.unchanged;
    },
    () =>
      options.onProgress?.({
        manifestsDone: queue.done,
        manifestsStored,
        objectsRead: queue.done * 2,
      }),
  );
  const started = now();
  const report = await replayRange(
    {
      source: options.source,
      from: options.day,
      to: options.day,
      messagesPerSecond: Number.POSITIVE_INFINITY,
      fresh: true,
    },
    {
      catalog,
      queue,
      checkpoints: new FileReplayCheckpoints(options.checkpointDir),
      now: () => performance.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  );
  const sendMs = now() - started;
  await queue.drained();
  if (queue.done !== report.sent) {
    throw new Error(`replay sent ${report.sent} manifests but ${queue.done} were transformed`);
  }
  return {
    objectsListed,
    manifests: report.sent,
    objectsRead: report.sent * 2,
    records: queue.records,
    failures: queue.failures,
    sendMs,
    ...(queue.firstFailure === undefined ? {} : { firstFailure: queue.firstFailure }),
  };
}
