import * as cheerio from 'cheerio';
import { z } from 'zod';
import { defineParser } from '../define.js';
import { cleanText, parsePrice, parseStock } from './normalize.js';

export const CatalogProduct = z
  .object({
    sku: z.string().regex(/^[A-Z]{3}-\d{4}$/),
    name: z.string().min(1).max(200),
    category: z.string().min(1),
    priceCents: z.number().int().positive(),
    currency: z.enum(['EUR', 'USD', 'GBP']),
    inStock: z.boolean(),
    url: z.url(),
  })
  .strict();
export type CatalogProduct = z.infer<typeof CatalogProduct>;

export const demoCatalogParser = defineParser<CatalogProduct>({
  source: 'demo-catalog',
  record: CatalogProduct,
  parse(body, context) {
    const $ = cheerio.load(body.toString('utf8'));
    const category = cleanText($('h1.category').attr('data-category') ?? '');
    return $('li.product')
      .toArray()
      .map((element) => {
        const item = $(element);
        const sku = cleanText(item.attr('data-sku') ?? '');
        const price = parsePrice(item.find('.price').text());
        const href = item.find('a.details').attr('href');
        return {
          entityId: sku,
          data: {
            sku,
            name: cleanText(item.find('.product-name').text()),
            category,
            priceCents: price?.cents,
            currency: price?.currency,
            inStock: parseStock(item.find('.stock').text()),
            url: href === undefined ? undefined : new URL(href, context.finalUrl).toString(),
          },
        };
      });
  },
});
