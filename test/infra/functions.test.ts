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
/** Every Sluice function of every stack; `id` is `<stack>/<logical ID>`. */
let functions: { id: string; stack: string; entry: unknown; props: z.infer<typeof FunctionProps> }[];

beforeAll(() => {
  sluice = synthesizeSluice();
  functions = sluice.stacks.flatMap(({ name, resources }) =>
    sluiceFunctions(resources).map(([id, fn]) => ({
      id: `${name}/${id}`,
      stack: name,
      entry: fn.Metadata?.['sluice:entry'],
      props: FunctionProps.parse(fn.Properties),
    })),
  );
});

describe('Sluice functions', () => {
  it('are the transform, the freshness checker and the change feed in the core stack, and in each source stack one collector per kind it holds', () => {
    const expected = [
      `${sluice.core.name} functions/transform/handler.ts`,
      `${sluice.core.name} functions/freshness/handler.ts`,
      `${sluice.core.name} functions/change-feed/handler.ts`,
      ...sluice.sourceStacks.flatMap(({ name, stack }) =>
        [...new Set(stack.sources.map((s) => s.kind))].map(
          (kind) => `${name} functions/collector/${kind}-handler.ts`,
        ),
      ),
    ];

    expect(functions.map((f) => `${f.stack} ${String(f.entry)}`).sort()).toEqual(expected.sort());
    expect(new Set(sluice.sourceStacks.flatMap(({ stack }) => stack.sources.map((s) => s.name)))).toEqual(
      new Set(sources.map((s) => s.name)),
    );
  });

  it('read nothing per source from their environment, which is the same for every collector of a kind', () => {
    const PER_SOURCE = /QUEUE_ROUTES|SOURCE_CREDENTIALS/;
    for (const fn of functions) {
      expect(
        Object.keys(fn.props.Environment?.Variables ?? {}).filter((name) => PER_SOURCE.test(name)),
        fn.id,
      ).toEqual([]);
      for (const source of sources) {
        expect(JSON.stringify(fn.props.Environment?.Variables ?? {}), fn.id).not.toContain(source.name);
      }
    }
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
    const withoutRetention = functions.flatMap(({ id, stack, props }) => {
      const logGroupId = refTarget(props.LoggingConfig?.LogGroup);
      if (logGroupId === undefined) return [`${id}: no log group of this template`];
      const logGroup = resourceById(
        sluice.stacks.find((s) => s.name === stack)?.resources ?? new Map(),
        logGroupId,
      );
      return logGroup.Type === 'AWS::Logs::LogGroup' &&
        typeof logGroup.Properties.RetentionInDays === 'number'
        ? []
        : [`${id}: ${logGroupId} has no RetentionInDays`];
    });

    expect(functions.length).toBeGreaterThan(0);
    expect(withoutRetention).toEqual([]);
  });

  it('run the browser collector on x86_64, which @sparticuz/chromium needs, and the others on arm64', () => {
    const browserFunctions = new Set(
      sluice.sourceStacks.flatMap(({ name, stack, resources }) => {
        const browserQueues = new Set(
          [...stack.pipelines.values()]
            .filter((p) => p.source.kind === 'browser')
            .map((p) => logicalIdOf(p.jobs.queue)),
        );
        return queueConsumers(resources)
          .filter((consumer) => browserQueues.has(consumer.queueId))
          .map((consumer) => `${name}/${consumer.functionId}`);
      }),
    );

    expect(browserFunctions.size).toBe(
      sluice.sourceStacks.filter(({ stack }) => stack.sources.some((s) => s.kind === 'browser')).length,
    );
    expect(functions.map(({ id, props }) => [id, props.Architectures])).toEqual(
      functions.map(({ id }) => [id, [browserFunctions.has(id) ? 'x86_64' : 'arm64']]),
    );
  });
});

describe('the deployed template', () => {
  it('gives no function the local-profile variables', () => {
    const allFunctions = sluice.stacks.flatMap(({ resources }) =>
      resourcesOfType(resources, 'AWS::Lambda::Function'),
    );

    const leaks = allFunctions.flatMap(([id, fn]) => {
      const variables = FunctionProps.parse(fn.Properties).Environment?.Variables ?? {};
      return LOCAL_ONLY_VARIABLES.filter((name) => name in variables).map((name) => `${id}: ${name}`);
    });

    expect(allFunctions.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
