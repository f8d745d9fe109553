/**
 * Every source Sluice collects. The CDK stack, the collectors, alarms and generated docs are
 * built from this list; adding a source is one folder plus a line here and in `parsers.ts`.
 */

import type { SourceDefinition } from './define.js';
import { demoCatalog } from './demo-catalog/source.js';
import { demoFaults } from './demo-faults/source.js';
import { demoFaultsBrowser } from './demo-faults-browser/source.js';
import { demoInventory } from './demo-inventory/source.js';
import { demoPortal } from './demo-portal/source.js';
import { demoRates } from './demo-rates/source.js';
import { demoShipments } from './demo-shipments/source.js';

export const sources: readonly SourceDefinition[] = [
  demoCatalog,
  demoRates,
  demoInventory,
  demoShipments,
  demoPortal,
];

/**
 * Test fixtures, not sources anyone wants collected: they page through the demo site's fault
 * routes so the integration tests can prove every failure path. The stack includes them only
 * when the context flag `sluice:fixtureSources` is true, which the local environment sets and a
 * deployment does not.
 */
export const fixtureSources: readonly SourceDefinition[] = [demoFaults, demoFaultsBrowser];

const byName = new Map([...sources, ...fixtureSources].map((s) => [s.name, s]));

export function findSource(name: string): SourceDefinition | undefined {
  return byName.get(name);
}
