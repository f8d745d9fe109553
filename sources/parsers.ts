/** The transform side of every source: record schemas and parsers, keyed by source name. */

import type { SourceParser } from './define.js';
import { demoCatalogParser } from './demo-catalog/parser.js';
import { demoFaultsParser } from './demo-faults/parser.js';
import { demoFaultsBrowserParser } from './demo-faults-browser/parser.js';
import { demoInventoryParser } from './demo-inventory/parser.js';
import { demoPortalParser } from './demo-portal/parser.js';
import { demoRatesParser } from './demo-rates/parser.js';
import { demoShipmentsParser } from './demo-shipments/parser.js';

export const parsers: readonly SourceParser[] = [
  demoCatalogParser,
  demoRatesParser,
  demoInventoryParser,
  demoShipmentsParser,
  demoPortalParser,
  demoFaultsParser,
  demoFaultsBrowserParser,
];

const byName = new Map(parsers.map((p) => [p.source, p]));

export function findParser(source: string): SourceParser | undefined {
  return byName.get(source);
}
