/**
 * A generated fleet for the limits check: N sources shaped like the registry's own (HTTP pages,
 * browser pages, browser portals behind a login), owned by K teams. Each is a demo source under
 * a new name, origin and owners, so everything the stacks build for a real source is built for it,
 * and every third collects on a schedule; each follows its own pages.
 */
import { defineSource, type SourceDefinition } from '../sources/define.js';
import { demoCatalog } from '../sources/demo-catalog/source.js';
import { demoPortal } from '../sources/demo-portal/source.js';
import { demoRates } from '../sources/demo-rates/source.js';

export interface SyntheticFleetOptions {
  readonly sources: number;
  readonly owners: number;
}

/** Of every 20 sources: 12 HTTP, 5 browser, 3 browser behind a login (roughly an ops team's mix). */
function templateFor(index: number): SourceDefinition {
  const slot = index % 20;
  if (slot < 12) return demoCatalog as SourceDefinition;
  if (slot < 17) return demoRates as SourceDefinition;
  return demoPortal as SourceDefinition;
}

/** A team name of a realistic length: `team-07-supply-chain`. */
export function syntheticTeam(index: number): string {
  return `team-${String(index + 1).padStart(2, '0')}-supply-chain`;
}

/**
 * `sources` generated sources owned by `owners` teams (each team collects some, transforms,
 * stores and decides for others). Names are 27 characters, longer than most real ones, so the
 * names in queues, alarms and policies weigh what a real fleet's would.
 */
export function syntheticSources(options: SyntheticFleetOptions): SourceDefinition[] {
  if (!Number.isInteger(options.sources) || options.sources < 0) {
    throw new Error(`the number of synthetic sources must be a whole number >= 0, got ${options.sources}`);
  }
  if (!Number.isInteger(options.owners) || options.owners < 1) {
    throw new Error(`the number of owning teams must be a whole number >= 1, got ${options.owners}`);
  }
  const team = (i: number) => syntheticTeam(i % options.owners);
  return Array.from({ length: options.sources }, (_, index) => {
    const template = templateFor(index);
    const kind = template === demoCatalog ? 'page' : template === demoRates ? 'board' : 'portal';
    const name = `fleet-${kind}-supplier-${String(index + 1).padStart(4, '0')}`.slice(0, 41);
    const host = `${name}.partners.example.com`;
    return defineSource({
      ...template,
      name,
      title: `Synthetic ${kind} ${index + 1}`,
      owners: {
        collection: team(index),
        transformation: team(index + 1),
        dataStore: team(index + 2),
        businessRules: team(index + 3),
      },
      origin: `https://${host}`,
      allowedHosts: [host],
      // Every third collects on a schedule (the rest on request), and every one follows its own
      // pages: a schedule resource per scheduled source, a queue grant per source in the policies.
      ...(index % 3 === 0 ? { schedule: { expression: 'rate(1 hour)', inputs: () => [] } } : {}),
      followUps: { targets: [name], maxFollowUps: 10, maxDepth: 5 },
    });
  });
}
