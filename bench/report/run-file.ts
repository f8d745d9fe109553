/**
 * The raw figures of one `npm run bench` run, as run.ts writes them to
 * .sluice/bench/results-<run>.json and the renderers read them back.
 */
import { z } from 'zod';
import type { ColdStartResult } from '../cold-start.js';
import type { CollectionResult, VariantResult } from '../collection.js';
import type { MachineDescription } from '../machine.js';
import type { MotoCalibration } from '../moto-calibration.js';
import type { TransactionMemory } from '../moto-workarounds.js';
import type { PipelineResult } from '../pipeline.js';
import type { ReplayBenchResult } from '../replay.js';
import type { Spread } from '../stats.js';
import type { TransformBenchResult } from '../transform.js';

/**
 * The run file's outline; sections are the benchmark's own output, checked for presence only —
 * and for the fields a section gained or lost, so a file from an older harness is refused with
 * the reason instead of rendered wrong.
 */
const RunFile = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  quick: z.boolean(),
  machine: z.object({ cpuModel: z.string(), cores: z.number() }).passthrough(),
  loadAverageAtEnd: z.array(z.number()).optional(),
  loadAverageSamples: z.array(z.number()).optional(),
  emulator: z.object({ name: z.string(), version: z.string() }),
  chromiumVersion: z.string().optional(),
  sizes: z.record(z.string(), z.unknown()),
  functionConfig: z
    .array(z.object({ entry: z.string(), memoryMB: z.number(), architecture: z.enum(['arm64', 'x86_64']) }))
    .optional(),
  browser: z.object({ source: z.string() }).passthrough().optional(),
  calibration: z.object({ calls: z.number() }).passthrough().optional(),
  motoTransactionMemory: z.object({ transactions: z.number() }).passthrough().optional(),
  browserVariants: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  http: z.object({ source: z.string() }).passthrough().optional(),
  httpVariants: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  transform: z
    .object({ floor: z.unknown(), variants: z.array(z.object({ name: z.string() }).passthrough()).min(1) })
    .passthrough()
    .optional(),
  replay: z.object({ objectsInPrefix: z.number() }).passthrough().optional(),
  coldStart: z
    .object({ functions: z.array(z.unknown()) })
    .passthrough()
    .optional(),
  transformSlimWhatIf: z.object({ bundleBytes: z.number() }).passthrough().optional(),
  pipeline: z
    .object({ jobs: z.number(), steady: z.array(z.object({ name: z.string() }).passthrough()) })
    .passthrough()
    .optional(),
});

export interface BenchRun {
  readonly runId: string;
  readonly startedAt: string;
  /** Absent when the run died before its end (its checkpoint is rendered). */
  readonly finishedAt?: string;
  readonly quick: boolean;
  readonly machine: MachineDescription;
  readonly loadAverageAtEnd?: readonly number[];
  /** The 1-minute load average every LOAD_SAMPLE_SECONDS while the run measured. */
  readonly loadAverageSamples?: readonly number[];
  readonly emulator: { readonly name: string; readonly version: string };
  readonly chromiumVersion?: string;
  readonly sizes: { readonly [part: string]: unknown };
  readonly functionConfig?: readonly { entry: string; memoryMB: number; architecture: 'arm64' | 'x86_64' }[];
  readonly calibration?: MotoCalibration;
  readonly motoTransactionMemory?: TransactionMemory;
  readonly browser?: CollectionResult;
  readonly browserVariants?: readonly VariantResult[];
  readonly http?: CollectionResult;
  readonly httpVariants?: readonly VariantResult[];
  readonly transform?: TransformBenchResult;
  readonly replay?: ReplayBenchResult;
  readonly coldStart?: ColdStartResult;
  readonly transformSlimWhatIf?: {
    readonly bundleBytes: number;
    readonly initMs: Spread;
    readonly parsersAgree: {
      readonly pages: number;
      readonly agree: number;
      readonly firstDifference?: string;
    };
  };
  readonly pipeline?: PipelineResult;
}

export function parseRun(json: unknown): BenchRun {
  RunFile.parse(json);
  // The sections are this harness's own output of the same version; their outline was checked above.
  return json as BenchRun;
}

/** How often run.ts samples the load average. */
export const LOAD_SAMPLE_SECONDS = 30;
