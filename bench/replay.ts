/**
 * Requirement 4: replay — re-running transforms from raw storage without re-fetching — over at
 * least 10,000 stored raw objects. What is measured is `replayRawObjects` in replay-target.ts:
 * Sluice's replayRange, with the transform queue's consumer in-process.
 */
import type { ReplayDeps, ReplayProgress } from './replay-target.js';
import { replayRawObjects } from './replay-target.js';
import { now, type Spread, spread } from './stats.js';

export interface ReplayBenchResult {
  readonly objectsInPrefix: number;
  readonly manifests: number;
  readonly records: number;
  readonly failures: number;
  readonly wallMs: number;
  /** Listing the day and sending every manifest (replayRange itself), within wallMs. */
  readonly sendMs: number;
  readonly objectsPerSecond: number;
  readonly recordsPerSecond: number;
  /** Objects per second in each tenth of the run: the spread within the one long run. */
  readonly objectsPerSecondByTenth: Spread;
  readonly concurrency: number;
  readonly firstFailure?: string;
}

export async function benchReplay(options: {
  readonly deps: ReplayDeps;
  readonly source: string;
  readonly day: string;
  readonly concurrency: number;
  readonly log: (line: string) => void;
}): Promise<ReplayBenchResult> {
  const marks: { at: number; objects: number }[] = [];
  const started = now();
  let nextTenth = 0.1;
  const result = await replayRawObjects({
    ...options.deps,
    source: options.source,
    day: options.day,
    concurrency: options.concurrency,
    onProgress(progress: ReplayProgress) {
      if (progress.manifestsDone / progress.manifestsStored >= nextTenth - 1e-9) {
        marks.push({ at: now(), objects: progress.objectsRead });
        options.log(`  replayed ${progress.manifestsDone}/${progress.manifestsStored} manifests`);
        nextTenth += 0.1;
      }
    },
  });
  const wallMs = now() - started;
  const perTenth: number[] = [];
  let previous = { at: started, objects: 0 };
  for (const mark of marks) {
    if (mark.at > previous.at)
      perTenth.push(((mark.objects - previous.objects) / (mark.at - previous.at)) * 1000);
    previous = mark;
  }
  return {
    objectsInPrefix: result.objectsListed,
    manifests: result.manifests,
    records: result.records,
    failures: result.failures,
    wallMs,
    sendMs: result.sendMs,
    objectsPerSecond: (result.objectsRead / wallMs) * 1000,
    recordsPerSecond: (result.records / wallMs) * 1000,
    objectsPerSecondByTenth: spread(perTenth.length > 0 ? perTenth : [0]),
    concurrency: options.concurrency,
    ...(result.firstFailure === undefined ? {} : { firstFailure: result.firstFailure }),
  };
}
