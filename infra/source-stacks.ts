/**
 * Which source stack each source is deployed in. A source stack holds the queues, DLQs, event
 * source mappings, collectors, alarms and dashboard rows of its sources; the core stack holds what
 * they all share. Pure: no CDK and no files here, so the app, the docs and the limits check read
 * the same plan.
 *
 * A source must never move between stacks on its own: moving it replaces its queue, whose URL is
 * what upstream systems send to, and strands the messages in the old one. So the assignment is
 * pinned in `infra/source-stacks.json`, which `npm run docs` keeps up to date (a unit test fails
 * when it is stale): a source keeps the stack it was given; a new source goes to the
 * lowest-numbered stack with room, or opens the next one. A source not pinned yet (a branch that
 * has not run `npm run docs`, the limits check's synthetic sources) is placed by the same rule, so
 * what a deploy uses is what the file will say.
 */
import type { SourceDefinition } from '../sources/define.js';

/**
 * Sources per stack before a new one opens. At 25, the fullest stack stays far inside every
 * CloudFormation, IAM and CloudWatch limit (`npm run limits` prints the headroom) while a small
 * fleet needs one stack. Changing it moves nobody: it applies to sources placed afterwards.
 */
export const DEFAULT_SOURCES_PER_STACK = 25;
/** Stack keys are two digits. */
export const MAX_SOURCE_STACKS = 99;

/** Source name → stack key (`01`, `02`, ...), as `infra/source-stacks.json` pins it. */
export type StackAssignment = { readonly [source: string]: string };

export interface SourceStackPlan {
  /** Two digits, e.g. `01`. */
  readonly key: string;
  readonly stackName: string;
  /** In registry order. */
  readonly sources: readonly SourceDefinition[];
}

const KEY = /^\d{2}$/;

export function assertSourcesPerStack(value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`sluice:sourcesPerStack must be a positive whole number, got ${value}`);
  }
  return value;
}

export function sourceStackName(app: string, key: string): string {
  return `${app}-Sources-${key}`;
}

/**
 * Every source's stack key: its pinned one if it has one, else the lowest-numbered stack with
 * fewer than `perStack` sources, else a new stack. Pins of sources no longer in the registry are
 * dropped (their place is free again).
 */
export function assignSourceStacks(
  sources: readonly Pick<SourceDefinition, 'name'>[],
  pinned: StackAssignment,
  perStack: number = DEFAULT_SOURCES_PER_STACK,
): Map<string, string> {
  assertSourcesPerStack(perStack);
  const assigned = new Map<string, string>();
  const load = new Map<string, number>();
  for (const { name } of sources) {
    const key = pinned[name];
    if (key === undefined) continue;
    if (!KEY.test(key) || key === '00') {
      throw new Error(
        `infra/source-stacks.json gives ${name} the stack ${JSON.stringify(key)}; expected 01..99`,
      );
    }
    assigned.set(name, key);
    load.set(key, (load.get(key) ?? 0) + 1);
  }
  for (const { name } of sources) {
    if (assigned.has(name)) continue;
    let key: string | undefined;
    for (let n = 1; n <= MAX_SOURCE_STACKS && key === undefined; n += 1) {
      const candidate = String(n).padStart(2, '0');
      if ((load.get(candidate) ?? 0) < perStack) key = candidate;
    }
    if (key === undefined) {
      throw new Error(`${sources.length} sources do not fit ${MAX_SOURCE_STACKS} stacks of ${perStack}`);
    }
    assigned.set(name, key);
    load.set(key, (load.get(key) ?? 0) + 1);
  }
  return assigned;
}

/** The source stacks, by key, with their sources in registry order. */
export function planSourceStacks(
  app: string,
  sources: readonly SourceDefinition[],
  assignment: ReadonlyMap<string, string>,
): SourceStackPlan[] {
  const byKey = new Map<string, SourceDefinition[]>();
  for (const source of sources) {
    const key = assignment.get(source.name);
    if (key === undefined) throw new Error(`source ${source.name} has no stack`);
    byKey.set(key, [...(byKey.get(key) ?? []), source]);
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, members]) => ({ key, stackName: sourceStackName(app, key), sources: members }));
}

/** The file's content for an assignment: sorted by source, so a new source is a one-line diff. */
export function assignmentFile(assignment: ReadonlyMap<string, string>): string {
  const sorted = Object.fromEntries([...assignment.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
