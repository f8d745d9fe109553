/**
 * The demo site's CSV exports: a daily inventory export per warehouse, the way an ERP or a WMS
 * publishes one. Deterministic, with the quirks real exports have: quoted fields with commas and
 * doubled quotes, thousands separators, a byte-order mark. The `legacy` warehouse's export has a
 * row no rule can read, so the pipeline's invalid-output path has real input.
 */
import { seeded, seedOf } from './data.js';

export const INVENTORY_WAREHOUSES = ['north', 'south', 'east', 'west', 'central'] as const;
/** Its export carries one unreadable row (`on_hand` = `n/a`). */
export const BROKEN_WAREHOUSE = 'legacy';
export const INVENTORY_ROWS = 30;
/** The count date every export shows, so records are reproducible. */
export const INVENTORY_COUNTED_ON = '2026-11-26';

export const INVENTORY_COLUMNS = [
  'sku',
  'description',
  'warehouse',
  'on_hand',
  'reserved',
  'reorder_point',
  'unit_cost_eur',
  'last_counted',
] as const;

export interface InventoryRow {
  readonly sku: string;
  readonly description: string;
  readonly warehouse: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly reorderPoint: number;
  readonly unitCostCents: number;
}

const PARTS = ['Bolt', 'Washer', 'Bracket', 'Hinge', 'Cable', 'Fuse', 'Gasket', 'Valve'];
const FINISHES = ['zinc', 'steel', 'brass', 'nylon'];

export function inventoryRows(warehouse: string): InventoryRow[] {
  if (!(INVENTORY_WAREHOUSES as readonly string[]).includes(warehouse) && warehouse !== BROKEN_WAREHOUSE)
    return [];
  const random = seeded(seedOf(`inventory:${warehouse}`));
  return Array.from({ length: INVENTORY_ROWS }, (_, index) => {
    const part = PARTS[Math.floor(random() * PARTS.length)] ?? 'Part';
    const finish = FINISHES[Math.floor(random() * FINISHES.length)] ?? 'steel';
    // A wide range, so some quantities need a thousands separator and some are at or near zero.
    const onHand = Math.floor(random() ** 3 * 3000);
    const reserved = Math.min(onHand, Math.floor(random() * 40));
    return {
      sku: `INV-${String(index + 1).padStart(5, '0')}`,
      description: `${part}, M${4 + (index % 6) * 2} "${finish}"`,
      warehouse,
      onHand,
      reserved,
      reorderPoint: 5 + Math.floor(random() * 56),
      unitCostCents: 5 + Math.floor(random() * 25_000),
    };
  });
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function quantity(value: number): string {
  return value.toLocaleString('en-US');
}

/** The export as the site serves it: UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting. */
export function inventoryCsv(warehouse: string): string | undefined {
  const rows = inventoryRows(warehouse);
  if (rows.length === 0) return undefined;
  const lines = rows.map((row, index) =>
    [
      row.sku,
      row.description,
      row.warehouse,
      warehouse === BROKEN_WAREHOUSE && index === 7 ? 'n/a' : quantity(row.onHand),
      quantity(row.reserved),
      String(row.reorderPoint),
      (row.unitCostCents / 100).toFixed(2),
      INVENTORY_COUNTED_ON,
    ]
      .map(csvField)
      .join(','),
  );
  return `\uFEFF${[INVENTORY_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`;
}

export interface DemoRouteReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: { readonly [name: string]: string };
}

/** `GET /exports/inventory/<warehouse>.csv`; undefined for paths this module does not serve. */
export function exportsRoute(pathname: string): DemoRouteReply | undefined {
  const match = /^\/exports\/inventory\/([a-z-]+)\.csv$/.exec(pathname);
  if (match === null) return undefined;
  const csv = inventoryCsv(match[1] ?? '');
  if (csv === undefined) return { status: 404, contentType: 'text/plain', body: 'no such warehouse' };
  return {
    status: 200,
    contentType: 'text/csv; charset=utf-8',
    body: csv,
    headers: { 'content-disposition': `attachment; filename="inventory-${match[1]}.csv"` },
  };
}
