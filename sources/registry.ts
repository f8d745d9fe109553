/**
 * Every source Sluice collects. The CDK stack, the collectors, alarms and generated docs are
 * built from this list; adding a source is one folder plus a line here and in `parsers.ts`.
 */

import type { SourceDefinition } from './define.js';
import { demoCatalog } from './demo-catalog/source.js';
import { demoFaults } from './demo-faults/source.js';
import { demoFaultsBrowser } from './demo-faults-browser/source.js';
import { demoPortal } from './demo-portal/source.js';
import { demoRates } from './demo-rates/source.js';

export const sources: readonly SourceDefinition[] = [
  demoCatalog,
  demoRates,
  demoPortal,
  demoFaults,
  demoFaultsBrowser,
];

const byName = new Map(sources.map((s) => [s.name, s]));

export function findSource(name: string): SourceDefinition | undefined {
  return byName.get(name);
}
