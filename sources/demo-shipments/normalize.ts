/** Normalization rules for the shipments API, kept pure so they can be tested on their own. */

export const SHIPMENT_STATUSES = [
  'pending',
  'in-transit',
  'out-for-delivery',
  'delivered',
  'exception',
] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** `IN_TRANSIT`, `in transit`, `In-Transit` → `in-transit`; an unknown status is `undefined`. */
export function normalizeStatus(text: string): ShipmentStatus | undefined {
  const slug = text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '-');
  return (SHIPMENT_STATUSES as readonly string[]).includes(slug) ? (slug as ShipmentStatus) : undefined;
}

const GRAMS_PER_UNIT: { readonly [unit: string]: number } = {
  kg: 1000,
  g: 1,
  lb: 453.59237,
  oz: 28.349523125,
};

/** `{ value: 2.5, unit: 'lb' }` → 1134 (whole grams); an unknown unit or a negative value is `undefined`. */
export function weightInGrams(weight: { readonly value: number; readonly unit: string }): number | undefined {
  const factor = GRAMS_PER_UNIT[weight.unit.trim().toLowerCase()];
  if (factor === undefined || !Number.isFinite(weight.value) || weight.value < 0) return undefined;
  return Math.round(weight.value * factor);
}

/** ` de ` → `DE`. */
export function countryCode(text: string): string {
  return text.trim().toUpperCase();
}
