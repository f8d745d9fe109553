/**
 * Reads a synthesized cloud assembly (`cdk.out`): every CloudFormation stack of the app, with its
 * template, in the order CloudFormation must deploy them (a stack after every stack it depends
 * on, here the source stacks after the core stack whose exports they import). The local
 * environment provisions them in this order; the limits check reads them all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type CfnTemplate, loadTemplate } from './cloud-template.js';

const Manifest = z.object({
  artifacts: z.record(
    z.string(),
    z.object({
      type: z.string(),
      displayName: z.string().optional(),
      dependencies: z.array(z.string()).optional(),
      properties: z
        .object({ templateFile: z.string().optional(), stackName: z.string().optional() })
        .passthrough()
        .optional(),
    }),
  ),
});

export interface AssemblyStack {
  /** The artifact ID in the assembly. */
  readonly id: string;
  /** The CloudFormation stack name. */
  readonly stackName: string;
  readonly templateFile: string;
  /** IDs of the stacks it depends on. */
  readonly dependencies: readonly string[];
  readonly template: CfnTemplate;
}

/** Every stack of the assembly in `directory`, each after the stacks it depends on. */
export function readAssembly(directory: string): AssemblyStack[] {
  const path = join(directory, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the cloud assembly at ${path}: ${(cause as Error).message}`, { cause });
  }
  const { artifacts } = Manifest.parse(json);
  const stacks = new Map<string, Omit<AssemblyStack, 'template'>>();
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile;
    if (templateFile === undefined) throw new Error(`stack ${id} in ${path} names no template file`);
    stacks.set(id, {
      id,
      stackName: artifact.properties?.stackName ?? artifact.displayName ?? id,
      templateFile: join(directory, templateFile),
      dependencies: artifact.dependencies ?? [],
    });
  }
  const ordered: AssemblyStack[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (id: string) => {
    if (placed.has(id)) return;
    if (visiting.has(id)) throw new Error(`stacks in ${path} depend on each other in a cycle through ${id}`);
    const stack = stacks.get(id);
    if (stack === undefined) return; // an asset manifest, not a stack
    visiting.add(id);
    for (const dependency of stack.dependencies) place(dependency);
    visiting.delete(id);
    placed.add(id);
    ordered.push({
      ...stack,
      dependencies: stack.dependencies.filter((d) => stacks.has(d)),
      template: loadTemplate(stack.templateFile),
    });
  };
  for (const id of stacks.keys()) place(id);
  return ordered;
}
