/** The JSON API source: its normalization rules and its parser, on the demo site's pages. */
import { describe, expect, it } from 'vitest';
import { SHIPMENTS_PER_PAGE, shipmentsPage } from '../../local/demo-site/api.js';
import { countryCode, normalizeStatus, weightInGrams } from '../../sources/demo-shipments/normalize.js';
import { demoShipmentsParser, Shipment } from '../../sources/demo-shipments/parser.js';

const context = {
  finalUrl: 'https://api.demo.sluice.example/api/v1/shipments?page=1',
  contentType: 'application/json',
};

describe('shipment normalization rules', () => {
  it.each([
    ['IN_TRANSIT', 'in-transit'],
    ['in transit', 'in-transit'],
    ['Out For Delivery', 'out-for-delivery'],
    [' delivered ', 'delivered'],
    ['EXCEPTION', 'exception'],
  ])('reads the status %j as %j', (text, expected) => {
    expect(normalizeStatus(text)).toBe(expected);
  });

  it('refuses a status it does not know', () => {
    expect(normalizeStatus('lost in space')).toBeUndefined();
  });

  it('converts weights to whole grams and refuses unknown units', () => {
    expect(weightInGrams({ value: 2.5, unit: 'lb' })).toBe(1134);
    expect(weightInGrams({ value: 12.25, unit: 'KG' })).toBe(12250);
    expect(weightInGrams({ value: 3, unit: 'stone' })).toBeUndefined();
    expect(weightInGrams({ value: -1, unit: 'kg' })).toBeUndefined();
  });

  it('upper-cases country codes', () => {
    expect(countryCode(' de ')).toBe('DE');
  });
});

describe('demoShipmentsParser', () => {
  it('turns an API page into one valid record per shipment', () => {
    const page = shipmentsPage(2);
    const body = JSON.stringify({ data: page, meta: { page: 2, total_pages: 6 }, links: { next: null } });

    const candidates = demoShipmentsParser.parse(Buffer.from(body), context);

    expect(candidates).toHaveLength(SHIPMENTS_PER_PAGE);
    for (const [index, candidate] of candidates.entries()) {
      const record = Shipment.parse(candidate.data);
      const item = page[index];
      expect(candidate.entityId).toBe(item?.id);
      expect(record.destinationCountry).toBe(item?.destination.country.toUpperCase());
    }
    expect(page.some((s) => s.weight.unit === 'lb')).toBe(true);
  });

  it('throws on a body that is not the API envelope', () => {
    expect(() => demoShipmentsParser.parse(Buffer.from('{"items":[]}'), context)).toThrow();
    expect(() => demoShipmentsParser.parse(Buffer.from('<html>maintenance</html>'), context)).toThrow();
  });
});
