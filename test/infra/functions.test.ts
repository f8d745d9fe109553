import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUNDLE_TARGET, RUNTIME } from '../../infra/constructs/pipeline-function.js';
import { sources } from '../../sources/registry.js';
import {
  logicalIdOf,
  PROJECT_ROOT,
  queueConsumers,
  refTarget,
  resourceById,
  resourcesOfType,
  type SynthesizedSluice,
  sluiceFunctions,
  synthesizeSluice,
} from './sluice-template.js';

/** Set only by the local profile (local/environment.ts); a deployed function must never see them. */
const LOCAL_ONLY_VARIABLES = ['SLUICE_ORIGIN_OVERRIDES', 'SLUICE_TIME_SCALE', 'AWS_ENDPOINT_URL'];

const FunctionProps = z.object({
  Runtime: z.string().optional(),
  Architectures: z.array(z.string()).default(['x86_64']),
  TracingConfig: z.object({ Mode: z.string() }).optional(),
  LoggingConfig: z.object({ LogGroup: z.unknown().optional() }).optional(),
  Environment: z.object({ Variables: z.record(z.string(), z.unknown()).default({}) }).optional(),
});

const PackageJson = z.object({
  version: z.string().optional(),
  engines: z.object({ node: z.string() }).partial().optional(),
  devDependencies: z.record(z.string(), z.string()).optional(),
});

let sluice: SynthesizedSluice;
let functions: { id: string; entry: unknown; props: z.infer<typeof FunctionProps> }[];

beforeAll(() => {
  sluice = synthesizeSluice();
  functions = sluiceFunctions(sluice.resources).map(([id, fn]) => ({
    id,
    entry: fn.Metadata?.['sluice:entry'],
    props: FunctionProps.parse(fn.Properties),
  }));
});

describe('Sluice functions', () => {
  it('are one collector per collector kind in the registry, the transform and the freshness checker', () => {
    const kinds = new Set(sources.map((source) => source.kind));

    expect(functions.map((f) => f.entry).sort()).toEqual(
      [
        ...[...kinds].map((kind) => `functions/collector/${kind}-handler.ts`),
        'functions/transform/handler.ts',
        'functions/freshness/handler.ts',
      ].sort(),
    );
  });

  it('name an entry file that exists in the repository', () => {
    const missing = functions.filter(
      ({ entry }) => typeof entry !== 'string' || !existsSync(join(PROJECT_ROOT, entry)),
    );

    expect(missing.map(({ id, entry }) => `${id}: ${String(entry)}`)).toEqual([]);
  });

  it('run on the Node major that engines, @types/node and the bundle target name', () => {
    const pkg = PackageJson.parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
    const installedTypes = PackageJson.parse(
      JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/@types/node/package.json'), 'utf8')),
    );
    const majors = {
      runtimes: [...new Set(functions.map(({ props }) => props.Runtime))].map((runtime) =>
        Number(/^nodejs(\d+)\.x$/.exec(runtime ?? '')?.[1]),
      ),
      bundleTarget: Number(/^node(\d+)$/.exec(BUNDLE_TARGET)?.[1]),
      engines: Number(/^>=(\d+)(\.\d+)*$/.exec(pkg.engines?.node ?? '')?.[1]),
      typesNodeDeclared: Number(/^[\^~]?(\d+)\./.exec(pkg.devDependencies?.['@types/node'] ?? '')?.[1]),
      typesNodeInstalled: Number(/^(\d+)\./.exec(installedTypes.version ?? '')?.[1]),
    };
    const major = Number(/^nodejs(\d+)\.x$/.exec(RUNTIME.name)?.[1]);

    expect(major).toBeGreaterThan(0);
    expect(majors).toEqual({
      runtimes: [major],
      bundleTarget: major,
      engines: major,
      typesNodeDeclared: major,
      typesNodeInstalled: major,
    });
  });

  it('trace actively with X-Ray', () => {
    expect(functions.map(({ id, props }) => [id, props.TracingConfig?.Mode])).toEqual(
      functions.map(({ id }) => [id, 'Active']),
    );
  });

  it('log to a log group of their own that has a retention period', () => {
    const withoutRetention = functions.flatMap(({ id, props }) => {
      const logGroupId = refTarget(props.LoggingConfig?.LogGroup);
      if (logGroupId === undefined) return [`${id}: no log group of this template`];
      const logGroup = resourceById(sluice.resources, logGroupId);
      return logGroup.Type === 'AWS::Logs::LogGroup' &&
        typeof logGroup.Properties.RetentionInDays === 'number'
        ? []
        : [`${id}: ${logGroupId} has no RetentionInDays`];
    });

    expect(functions.length).toBeGreaterThan(0);
    expect(withoutRetention).toEqual([]);
  });

  it('run the browser collector on x86_64, which @sparticuz/chromium needs, and the others on arm64', () => {
    const browserQueues = new Set(
      sources.flatMap((source) => {
        const pair = sluice.stack.sourceQueues.get(source.name);
        return source.kind === 'browser' && pair !== undefined ? [logicalIdOf(pair.queue)] : [];
      }),
    );
    const browserFunctions = new Set(
      queueConsumers(sluice.resources)
        .filter((consumer) => browserQueues.has(consumer.queueId))
        .map((consumer) => consumer.functionId),
    );

    expect(browserFunctions.size).toBe(sources.some((source) => source.kind === 'browser') ? 1 : 0);
    expect(functions.map(({ id, props }) => [id, props.Architectures])).toEqual(
      functions.map(({ id }) => [id, [browserFunctions.has(id) ? 'x86_64' : 'arm64']]),
    );
  });
});

describe('the deployed template', () => {
  it('gives no function the local-profile variables', () => {
    const allFunctions = resourcesOfType(sluice.resources, 'AWS::Lambda::Function');

    const leaks = allFunctions.flatMap(([id, fn]) => {
      const variables = FunctionProps.parse(fn.Properties).Environment?.Variables ?? {};
      return LOCAL_ONLY_VARIABLES.filter((name) => name in variables).map((name) => `${id}: ${name}`);
    });

    expect(allFunctions.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
