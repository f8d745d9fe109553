/**
 * Requirement 5: what a cold start costs — each function bundle's size as `cdk synth` writes it,
 * its module initialisation time in a fresh process, and Chromium's first and warm launch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AssemblyStack } from '../local/cloud-assembly.js';
import { appResourceId, type LocalFunctionSpec } from '../local/provision.js';
import { directorySize } from './collection.js';
import { median, type Spread, spread } from './stats.js';

export interface FunctionBundle {
  readonly logicalId: string;
  readonly entry: string;
  readonly assetDir: string;
  readonly bundleBytes: number;
  readonly assetDirBytes: number;
  readonly memoryMB: number;
  readonly architecture: 'arm64' | 'x86_64';
  readonly timeoutSeconds: number;
  /** Module initialisation, one sample per fresh process (first, page-cache-warming run excluded). */
  readonly initMs: Spread;
}

export interface BrowserLaunch {
  readonly unpackMs: Spread;
  readonly firstLaunchMs: Spread;
  readonly warmLaunchMs: Spread;
}

export interface ColdStartResult {
  readonly functions: readonly FunctionBundle[];
  readonly browser: BrowserLaunch;
}

const LambdaFunction = z.object({
  Type: z.literal('AWS::Lambda::Function'),
  Metadata: z.object({ 'aws:asset:path': z.string(), 'sluice:entry': z.string() }),
  Properties: z.object({
    MemorySize: z.number(),
    Timeout: z.number(),
    Handler: z.string(),
    Architectures: z.array(z.enum(['arm64', 'x86_64'])).optional(),
  }),
});

/** The Sluice functions in the synthesized template, with their configured sizing. */
/**
 * The functions Sluice builds, from every stack of the app: each entry once (every source stack
 * has its own collectors, built from the same bundle). IDs are as provisionApp gives them.
 */
export function appFunctions(stacks: readonly AssemblyStack[]) {
  const seen = new Set<string>();
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources).flatMap(([logicalId, resource]) => {
      const parsed = LambdaFunction.safeParse(resource);
      if (!parsed.success) return [];
      const { Metadata, Properties } = parsed.data;
      const entry = Metadata['sluice:entry'];
      if (seen.has(entry)) return [];
      seen.add(entry);
      return [
        {
          logicalId: appResourceId(stack.stackName, logicalId),
          entry,
          assetDir: Metadata['aws:asset:path'],
          handler: Properties.Handler,
          memoryMB: Properties.MemorySize,
          timeoutSeconds: Properties.Timeout,
          architecture: Properties.Architectures?.[0] ?? 'x86_64',
        },
      ];
    }),
  );
}

/** The environment a function's bundle needs to initialise (it fails fast without it). */
export function functionEnvironment(
  spec: LocalFunctionSpec,
  extra: { readonly [name: string]: string },
): NodeJS.ProcessEnv {
  return { ...process.env, ...spec.environment, ...extra };
}

/**
 * Imports `bundle` in `samples` + 1 fresh processes; the first only warms the page cache (a new
 * Lambda container reads its bundle from its own) and is logged, not returned.
 */
export function measureInit(
  bundle: string,
  exportName: string,
  env: NodeJS.ProcessEnv,
  samples: number,
  label: string,
  log: (line: string) => void,
): number[] {
  const taken: number[] = [];
  for (let i = 0; i <= samples; i += 1) {
    const out = execFileSync(
      process.execPath,
      [join(import.meta.dirname, 'import-probe.mjs'), bundle, exportName],
      {
        env,
        encoding: 'utf8',
      },
    );
    const { initMs } = z
      .object({ initMs: z.number() })
      .parse(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
    if (i === 0) log(`  ${label}: first import ${initMs.toFixed(0)} ms (not counted)`);
    else taken.push(initMs);
  }
  log(`  ${label}: init median ${median(taken).toFixed(0)} ms`);
  return taken;
}

export function benchColdStart(options: {
  readonly stacks: readonly AssemblyStack[];
  readonly cdkOutDir: string;
  readonly specs: ReadonlyMap<string, LocalFunctionSpec>;
  readonly extraEnvironment: { readonly [name: string]: string };
  readonly samples: number;
  readonly browserSamples: number;
  readonly scratchDir: string;
  readonly log: (line: string) => void;
}): ColdStartResult {
  const functions = appFunctions(options.stacks).map((fn): FunctionBundle => {
    const dir = join(options.cdkOutDir, fn.assetDir);
    const [file, exportName] = fn.handler.split('.');
    const bundle = join(dir, `${file}.mjs`);
    const spec = options.specs.get(fn.logicalId);
    if (spec === undefined) throw new Error(`no local spec for ${fn.logicalId}`);
    const env = { ...process.env, ...spec.environment, ...options.extraEnvironment };
    const samples = measureInit(bundle, exportName ?? 'handler', env, options.samples, fn.entry, options.log);
    return {
      logicalId: fn.logicalId,
      entry: fn.entry,
      assetDir: fn.assetDir,
      bundleBytes: statSync(bundle).size,
      assetDirBytes: directorySize(dir),
      memoryMB: fn.memoryMB,
      architecture: fn.architecture,
      timeoutSeconds: fn.timeoutSeconds,
      initMs: spread(samples),
    };
  });

  // Always @sparticuz/chromium's own binary here: its unpacking is what is measured.
  const { SLUICE_CHROMIUM_EXECUTABLE: _override, ...environment } = process.env;
  const unpack: number[] = [];
  const first: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < options.browserSamples; i += 1) {
    const tmp = mkdtempSync(join(options.scratchDir, 'empty-tmp-'));
    try {
      const out = execFileSync('npx', ['tsx', join(import.meta.dirname, 'browser-launch-probe.ts'), '3'], {
        env: { ...environment, TMPDIR: tmp },
        encoding: 'utf8',
      });
      const probe = z
        .object({ unpackMs: z.number(), firstLaunchMs: z.number(), warmLaunchMs: z.array(z.number()) })
        .parse(JSON.parse(out.trim().split('\n').at(-1) ?? ''));
      unpack.push(probe.unpackMs);
      first.push(probe.firstLaunchMs);
      warm.push(...probe.warmLaunchMs);
      options.log(
        `  browser: unpack ${probe.unpackMs.toFixed(0)} ms, first launch ${probe.firstLaunchMs.toFixed(0)} ms`,
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return {
    functions,
    browser: { unpackMs: spread(unpack), firstLaunchMs: spread(first), warmLaunchMs: spread(warm) },
  };
}
