import { describe, expect, it } from 'vitest';
import { cleanText, parsePrice, parseStock } from '../../../../sources/demo-catalog/normalize.js';

describe('parsePrice', () => {
  it.each([
    ['€1,234.50', { cents: 123_450, currency: 'EUR' }],
    ['$12.99', { cents: 1299, currency: 'USD' }],
    ['£0.05', { cents: 5, currency: 'GBP' }],
    ['€1,000,000.00', { cents: 100_000_000, currency: 'EUR' }],
    ['€2500.01', { cents: 250_001, currency: 'EUR' }],
    ['€ 7.10', { cents: 710, currency: 'EUR' }],
    ['  €42  ', { cents: 4200, currency: 'EUR' }],
  ])('reads %j', (display, expected) => {
    expect(parsePrice(display)).toEqual(expected);
  });

  it.each([
    '',
    '1,234.50',
    '€',
    'EUR 12.00',
    '€1,23.45',
    '€1,234.5',
    '€12.345',
    '€-3.00',
    '¥100',
    'Call for price',
  ])('answers undefined for %j', (display) => {
    expect(parsePrice(display)).toBeUndefined();
  });
});

describe('parseStock', () => {
  it.each(['In stock', 'IN STOCK', '  in   stock\n'])('reads %j as in stock', (display) => {
    expect(parseStock(display)).toBe(true);
  });

  it.each(['Out of stock', 'out of STOCK', ' Out\tof  stock '])('reads %j as out of stock', (display) => {
    expect(parseStock(display)).toBe(false);
  });

  it.each(['', 'Few left', 'In stock soon', 'Instock'])('answers undefined for %j', (display) => {
    expect(parseStock(display)).toBeUndefined();
  });
});

describe('cleanText', () => {
  it('collapses runs of whitespace, including newlines and tabs, to one space', () => {
    expect(cleanText('Sturdy\n\t  Hammer   XL')).toBe('Sturdy Hammer XL');
  });

  it('trims both ends', () => {
    expect(cleanText('   Quiet Kettle \n')).toBe('Quiet Kettle');
  });

  it('leaves clean text alone', () => {
    expect(cleanText('Field Guide')).toBe('Field Guide');
  });
});
