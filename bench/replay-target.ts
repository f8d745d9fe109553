/**
 * The replay the benchmark measures. Sluice's replay module (issue 4) is not on this branch yet;
 * until it is, this does in-process what replay does: list the manifests under a raw prefix and
 * run the transform's core (transformManifest) on each, reading the manifest and its primary raw
 * object from S3 and upserting records — no fetch. When the replay module lands, point
 * `replayRawObjects` at it and keep the returned figures.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { RawStore, RecordStore } from './sluice-ports.js';
import { transformOne } from './sluice-ports.js';
import { mapConcurrent, now } from './stats.js';

export interface ReplayDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
}

export interface ReplayProgress {
  readonly manifestsDone: number;
  readonly manifestsTotal: number;
  readonly objectsRead: number;
}

export interface ReplayOutcome {
  /** Every object under the prefix (artifacts and manifests). */
  readonly objectsListed: number;
  readonly manifests: number;
  /** Objects fetched from S3: each manifest and the raw object it names. */
  readonly objectsRead: number;
  readonly records: number;
  readonly failures: number;
  readonly listMs: number;
}

const noLedger = { recordAttempt: async () => undefined, history: async () => [] };

export async function replayRawObjects(
  options: ReplayDeps & {
    readonly prefix: string;
    readonly concurrency: number;
    readonly onProgress?: (progress: ReplayProgress) => void;
  },
): Promise<ReplayOutcome> {
  const listStarted = now();
  const manifestKeys: string[] = [];
  let objectsListed = 0;
  let token: string | undefined;
  do {
    const page = await options.s3.send(
      new ListObjectsV2Command({ Bucket: options.bucket, Prefix: options.prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      objectsListed += 1;
      if (object.Key?.endsWith('/manifest.json')) manifestKeys.push(object.Key);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  const listMs = now() - listStarted;

  let done = 0;
  let records = 0;
  let failures = 0;
  await mapConcurrent(manifestKeys, options.concurrency, async (key) => {
    try {
      const result = await transformOne(key, {
        rawStore: options.rawStore,
        recordStore: options.recordStore,
        ledger: noLedger,
      });
      records += result.counts.created + result.counts.updated + result.counts.unchanged;
    } catch {
      failures += 1;
    }
    done += 1;
    options.onProgress?.({ manifestsDone: done, manifestsTotal: manifestKeys.length, objectsRead: done * 2 });
  });
  return {
    objectsListed,
    manifests: manifestKeys.length,
    objectsRead: manifestKeys.length * 2,
    records,
    failures,
    listMs,
  };
}
