/** Normalization rules for the inventory export, kept pure so they can be tested on their own. */

/** `1,204` / `1204` / ` 7 ` → a whole, non-negative count; anything else is `undefined`. */
export function parseQuantity(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(?:\d{1,3}(?:,\d{3})+|\d+)$/.test(trimmed)) return undefined;
  return Number(trimmed.replaceAll(',', ''));
}

/** `12.50` / `0.05` / `3` (euros) → whole cents; anything else is `undefined`. */
export function parseEuroCents(text: string): number | undefined {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, whole = '0', fraction = ''] = match;
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

export type StockStatus = 'out' | 'low' | 'ok';

/**
 * Nothing available is `out`; fewer available than the SKU's own reorder point is `low`.
 * (Revision 1 of the parser used a fixed threshold of 10 units for every SKU.)
 */
export function stockStatus(available: number, reorderPoint: number): StockStatus {
  if (available <= 0) return 'out';
  return available < reorderPoint ? 'low' : 'ok';
}

/** Collapses runs of whitespace and trims. */
export function cleanText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
