/** Normalization rules for the demo catalogue, kept pure so they can be tested on their own. */

/** `€1,234.50` → `{ cents: 123450, currency: 'EUR' }`; anything else is `undefined`. */
export function parsePrice(display: string): { cents: number; currency: 'EUR' | 'USD' | 'GBP' } | undefined {
  const match = /^\s*([€$£])\s?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{2}))?\s*$/.exec(display);
  if (match === null) return undefined;
  const [, symbol, whole = '', fraction = '00'] = match;
  const currency = symbol === '€' ? 'EUR' : symbol === '$' ? 'USD' : 'GBP';
  return { cents: Number(whole.replaceAll(',', '')) * 100 + Number(fraction), currency };
}

/** `In stock` / `Out of stock` (any case, extra spaces) → boolean; anything else is `undefined`. */
export function parseStock(display: string): boolean | undefined {
  const text = display.trim().replace(/\s+/g, ' ').toLowerCase();
  if (text === 'in stock') return true;
  if (text === 'out of stock') return false;
  return undefined;
}

/** Collapses runs of whitespace and trims. */
export function cleanText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
