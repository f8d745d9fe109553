/** The CSV inventory source: its normalization rules and its parser, on the demo site's exports. */
import { describe, expect, it } from 'vitest';
import {
  BROKEN_WAREHOUSE,
  INVENTORY_ROWS,
  inventoryCsv,
  inventoryRows,
} from '../../local/demo-site/exports.js';
import {
  cleanText,
  parseEuroCents,
  parseQuantity,
  stockStatus,
} from '../../sources/demo-inventory/normalize.js';
import { demoInventoryParser, InventoryLevel } from '../../sources/demo-inventory/parser.js';

const context = {
  finalUrl: 'https://exports.demo.sluice.example/exports/inventory/north.csv',
  contentType: 'text/csv',
};

describe('inventory normalization rules', () => {
  it.each([
    ['1,204', 1204],
    ['7', 7],
    [' 12 ', 12],
    ['1,000,000', 1_000_000],
    ['0', 0],
  ])('reads the quantity %j as %d', (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });

  it.each(['1,20', '-3', 'n/a', '', '1.5', '12,34,567'])('refuses the quantity %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it.each([
    ['12.50', 1250],
    ['0.05', 5],
    ['3', 300],
    ['3.5', 350],
  ])('reads the euro amount %j as %d cents', (text, expected) => {
    expect(parseEuroCents(text)).toBe(expected);
  });

  it.each(['1,50', '-1', '1.005', 'EUR 3'])('refuses the euro amount %j', (text) => {
    expect(parseEuroCents(text)).toBeUndefined();
  });

  it('calls stock out when nothing is available, low below the reorder point, ok from it', () => {
    expect([
      stockStatus(0, 10),
      stockStatus(-2, 5),
      stockStatus(9, 10),
      stockStatus(10, 10),
      stockStatus(50, 10),
    ]).toEqual(['out', 'out', 'low', 'ok', 'ok']);
  });

  it('collapses whitespace', () => {
    expect(cleanText('  Bolt,\n  M4  ')).toBe('Bolt, M4');
  });
});

describe('demoInventoryParser', () => {
  it('turns a demo export into one valid record per row, quoting and separators undone', () => {
    const candidates = demoInventoryParser.parse(Buffer.from(inventoryCsv('north') ?? ''), context);

    expect(candidates).toHaveLength(INVENTORY_ROWS);
    const expected = inventoryRows('north');
    candidates.forEach((candidate, index) => {
      const row = expected[index];
      const record = InventoryLevel.parse(candidate.data);
      expect(candidate.entityId).toBe(`north:${row?.sku}`);
      expect(record).toMatchObject({
        sku: row?.sku,
        description: row?.description,
        onHand: row?.onHand,
        reserved: row?.reserved,
        available: (row?.onHand ?? 0) - (row?.reserved ?? 0),
        reorderPoint: row?.reorderPoint,
        unitCostCents: row?.unitCostCents,
      });
    });
    // The fixture exercises what the rules are for.
    expect(expected.some((row) => row.onHand >= 1000)).toBe(true);
    expect(expected.some((row) => row.description.includes('"'))).toBe(true);
  });

  it('leaves the unreadable row of the legacy export to fail its schema', () => {
    const candidates = demoInventoryParser.parse(Buffer.from(inventoryCsv(BROKEN_WAREHOUSE) ?? ''), context);

    const failing = candidates.filter((c) => !InventoryLevel.safeParse(c.data).success);
    expect(failing.map((c) => c.entityId)).toEqual([`${BROKEN_WAREHOUSE}:INV-00008`]);
  });

  it('throws on a row with more columns than the header', () => {
    const csv = 'sku,description\r\nINV-00001,Bolt,extra\r\n';
    expect(() => demoInventoryParser.parse(Buffer.from(csv), context)).toThrow(/Invalid Record Length/i);
  });
});
