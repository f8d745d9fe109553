import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { defineParser } from '../define.js';
import { cleanText, parseEuroCents, parseQuantity, stockStatus } from './normalize.js';

export const InventoryLevel = z
  .object({
    sku: z.string().regex(/^INV-\d{5}$/),
    warehouse: z.string().regex(/^[a-z][a-z-]{1,30}$/),
    description: z.string().min(1).max(200),
    onHand: z.number().int().nonnegative(),
    reserved: z.number().int().nonnegative(),
    available: z.number().int(),
    reorderPoint: z.number().int().nonnegative(),
    unitCostCents: z.number().int().nonnegative(),
    currency: z.literal('EUR'),
    stockStatus: z.enum(['out', 'low', 'ok']),
    lastCounted: z.iso.date(),
  })
  .strict();
export type InventoryLevel = z.infer<typeof InventoryLevel>;

/** One row of the export, as csv-parse hands it over (every column a string). */
const ExportRow = z.record(z.string(), z.string());

/**
 * Parses the CSV export with csv-parse: header row, RFC 4180 quoting, BOM, CRLF. A row with the
 * wrong number of columns makes csv-parse throw, which the transform hands to a person.
 */
export const demoInventoryParser = defineParser<InventoryLevel>({
  source: 'demo-inventory',
  // 2: `low` means below the SKU's own reorder point (1 used a fixed 10 units).
  revision: 2,
  record: InventoryLevel,
  parse(body) {
    const rows = ExportRow.array().parse(
      parse(body, { columns: true, bom: true, skip_empty_lines: true, trim: true }),
    );
    return rows.map((row) => {
      const onHand = parseQuantity(row.on_hand ?? '');
      const reserved = parseQuantity(row.reserved ?? '');
      const reorderPoint = parseQuantity(row.reorder_point ?? '');
      const available = onHand === undefined || reserved === undefined ? undefined : onHand - reserved;
      const warehouse = cleanText(row.warehouse ?? '').toLowerCase();
      const sku = cleanText(row.sku ?? '').toUpperCase();
      return {
        entityId: `${warehouse}:${sku}`,
        data: {
          sku,
          warehouse,
          description: cleanText(row.description ?? ''),
          onHand,
          reserved,
          available,
          reorderPoint,
          unitCostCents: parseEuroCents(row.unit_cost_eur ?? ''),
          currency: 'EUR',
          stockStatus:
            available === undefined || reorderPoint === undefined
              ? undefined
              : stockStatus(available, reorderPoint),
          lastCounted: row.last_counted,
        },
      };
    });
  },
});
