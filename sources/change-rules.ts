/**
 * The change rules of the sources that declare them (`sources/<name>/changes.ts`), keyed by source
 * name. Only the change feed reads them: it bundles these small pure modules, not the parsers.
 * A source without rules publishes every change as meaningful, at normal priority.
 */
import type { ChangeRules } from './define.js';
import { demoCatalogChanges } from './demo-catalog/changes.js';
import { demoShipmentsChanges } from './demo-shipments/changes.js';

export const changeRules: readonly ChangeRules[] = [demoCatalogChanges, demoShipmentsChanges];

const byName = new Map(changeRules.map((r) => [r.source, r]));

export function findChangeRules(source: string): ChangeRules | undefined {
  return byName.get(source);
}
