/** team-merchandising's rules for product changes (the business-rules owner of demo-catalog). */
import { defineChangeRules } from '../define.js';
import type { CatalogProduct } from './parser.js';

/** A price move larger than this share of the old price is meaningful. */
export const MEANINGFUL_PRICE_MOVE = 0.01;

export function priceMovedMeaningfully(before: number, after: number): boolean {
  return Math.abs(after - before) > MEANINGFUL_PRICE_MOVE * before;
}

export const demoCatalogChanges = defineChangeRules<CatalogProduct>({
  source: 'demo-catalog',
  meaningful: {
    description: 'a new product, its price moves more than 1 %, or it goes in or out of stock',
    test: (before, after) =>
      before === undefined ||
      priceMovedMeaningfully(before.priceCents, after.priceCents) ||
      before.inStock !== after.inStock,
  },
  highPriority: {
    description: 'products priced at €1,000 or more',
    test: (_entityId, data) => data.priceCents >= 100_000,
  },
});
