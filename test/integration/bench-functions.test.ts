/**
 * The benchmarks find the functions they measure in the synthesized app, whichever stack holds
 * them: when the collectors moved into source stacks, a bench reading only the core template
 * stopped at its first collector (and npm test did not notice).
 */
import { describe, expect, it } from 'vitest';
import { appFunctions } from '../../bench/cold-start.js';
import { readAssembly } from '../../local/cloud-assembly.js';
import { CDK_OUT_DIR } from '../../local/paths.js';
import { appResourceId } from '../../local/provision.js';

/** Every entry bench/ looks a function up by (sluice-ports.ts, pipeline.ts, run.ts). */
const MEASURED_ENTRIES = [
  'functions/collector/browser-handler.ts',
  'functions/collector/http-handler.ts',
  'functions/transform/handler.ts',
];

describe('the functions the benchmarks measure', () => {
  const stacks = readAssembly(CDK_OUT_DIR);
  const functions = appFunctions(stacks);

  it('includes every function of every stack, each bundle once', () => {
    const entries = functions.map((f) => f.entry);
    expect(new Set(entries).size).toBe(entries.length);
    for (const entry of MEASURED_ENTRIES) expect(entries).toContain(entry);
    const built = new Set(
      stacks.flatMap((stack) =>
        Object.values(stack.template.Resources).flatMap((resource) => {
          const entry = (resource.Metadata as { 'sluice:entry'?: string } | undefined)?.['sluice:entry'];
          return resource.Type === 'AWS::Lambda::Function' && entry !== undefined ? [entry] : [];
        }),
      ),
    );
    expect(new Set(entries)).toEqual(built);
  });

  it('names each function as the local environment provisions it (<stack>.<logical ID>)', () => {
    for (const fn of functions) {
      const stack = stacks.find((s) => fn.logicalId.startsWith(appResourceId(s.stackName, '')));
      expect(stack, fn.logicalId).toBeDefined();
      const logicalId = fn.logicalId.slice(appResourceId(stack?.stackName ?? '', '').length);
      expect(stack?.template.Resources[logicalId]?.Type).toBe('AWS::Lambda::Function');
    }
  });
});
