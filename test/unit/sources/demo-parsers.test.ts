/**
 * The demo parsers against pages built from the demo site's own data (local/demo-site/data.ts),
 * in the markup the demo site serves (catalogue) and the DOM its page script renders (rates).
 */
import { describe, expect, it } from 'vitest';
import {
  CATALOG_CATEGORIES,
  CATALOG_PAGES,
  catalogPage,
  RATE_BOARDS,
  RATES_AS_OF,
  rateBoard,
} from '../../../local/demo-site/data.js';
import { demoCatalogParser } from '../../../sources/demo-catalog/parser.js';
import { demoRatesParser } from '../../../sources/demo-rates/parser.js';
import { catalogHtml, ratesShellHtml, renderedRatesHtml } from '../../support/demo-pages.js';

const CATALOG_ORIGIN = 'https://catalog.demo.sluice.example';
const RATES_ORIGIN = 'https://rates.demo.sluice.example';

function catalogContext(category: string, page: number) {
  return {
    finalUrl: `${CATALOG_ORIGIN}/catalog/${category}?page=${page}`,
    contentType: 'text/html; charset=utf-8',
  };
}

function ratesContext(board: string) {
  return { finalUrl: `${RATES_ORIGIN}/rates/${board}`, contentType: 'text/html' };
}

const catalogCases = CATALOG_CATEGORIES.flatMap((category) =>
  [1, CATALOG_PAGES].map((page) => [category, page] as const),
);

describe('demoCatalogParser', () => {
  it.each(catalogCases)('finds every product on %s page %i, keyed by SKU', (category, page) => {
    const candidates = demoCatalogParser.parse(catalogHtml(category, page), catalogContext(category, page));

    expect(candidates.map((c) => c.entityId)).toEqual(catalogPage(category, page).map((p) => p.sku));
  });

  it.each(catalogCases)(
    'produces records that validate against the record schema (%s page %i)',
    (category, page) => {
      const candidates = demoCatalogParser.parse(catalogHtml(category, page), catalogContext(category, page));

      for (const candidate of candidates) {
        expect(demoCatalogParser.record.safeParse(candidate.data).error).toBeUndefined();
      }
    },
  );

  it.each(catalogCases)('reproduces the demo data exactly (%s page %i)', (category, page) => {
    const candidates = demoCatalogParser.parse(catalogHtml(category, page), catalogContext(category, page));

    expect(candidates.map((c) => demoCatalogParser.record.parse(c.data))).toEqual(
      catalogPage(category, page).map((p) => ({
        sku: p.sku,
        name: p.name,
        category,
        priceCents: p.priceCents,
        currency: p.currency,
        inStock: p.inStock,
        url: `${CATALOG_ORIGIN}/catalog/${category}/item/${p.sku}`,
      })),
    );
  });

  it('resolves product links against the final URL, wherever the page was served from', () => {
    const [first] = demoCatalogParser.parse(catalogHtml('tools', 1), {
      finalUrl: 'http://127.0.0.1:43123/catalog/tools?page=1',
      contentType: 'text/html',
    });

    expect(first?.data).toMatchObject({ url: 'http://127.0.0.1:43123/catalog/tools/item/TOO-0001' });
  });

  it('finds no products on a page without a product list', () => {
    const page = Buffer.from('<!doctype html><html><body><h1>No such category</h1></body></html>');

    expect(demoCatalogParser.parse(page, catalogContext('tools', 1))).toEqual([]);
  });

  it('yields a candidate that fails validation when a price cannot be read', () => {
    const html = catalogHtml('tools', 1)
      .toString('utf8')
      .replace(/<span class="price">[^<]*</, '<span class="price">ask us<');

    const [first] = demoCatalogParser.parse(Buffer.from(html), catalogContext('tools', 1));

    expect(demoCatalogParser.record.safeParse(first?.data).success).toBe(false);
  });
});

describe('demoRatesParser', () => {
  it.each(RATE_BOARDS)('finds every pair on the %s board, keyed by board and pair', (board) => {
    const candidates = demoRatesParser.parse(renderedRatesHtml(board), ratesContext(board));

    expect(candidates.map((c) => c.entityId)).toEqual(rateBoard(board).map((r) => `${board}:${r.pair}`));
  });

  it.each(RATE_BOARDS)('produces records that validate against the record schema (%s)', (board) => {
    const candidates = demoRatesParser.parse(renderedRatesHtml(board), ratesContext(board));

    for (const candidate of candidates) {
      expect(demoRatesParser.record.safeParse(candidate.data).error).toBeUndefined();
    }
  });

  it.each(RATE_BOARDS)('reproduces the demo data exactly (%s)', (board) => {
    const candidates = demoRatesParser.parse(renderedRatesHtml(board), ratesContext(board));

    expect(candidates.map((c) => demoRatesParser.record.parse(c.data))).toEqual(
      rateBoard(board).map((r) => {
        const [base, quote] = r.pair.split('/');
        return { pair: r.pair, base, quote, rate: Number(r.displayRate), board, asOf: RATES_AS_OF };
      }),
    );
  });

  it('finds no rates in the script-only shell a plain HTTP fetch would see', () => {
    const shell = Buffer.from(ratesShellHtml('majors'));

    expect(demoRatesParser.parse(shell, ratesContext('majors'))).toEqual([]);
  });
});
