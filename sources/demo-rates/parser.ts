import * as cheerio from 'cheerio';
import { z } from 'zod';
import { defineParser } from '../define.js';

export const Rate = z
  .object({
    pair: z.string().regex(/^[A-Z]{3}\/[A-Z]{3}$/),
    base: z.string().length(3),
    quote: z.string().length(3),
    rate: z.number().positive().finite(),
    board: z.string().min(1),
    asOf: z.iso.date(),
  })
  .strict();
export type Rate = z.infer<typeof Rate>;

/** Parses the rendered DOM the browser collector stored (not the script-only shell). */
export const demoRatesParser = defineParser<Rate>({
  source: 'demo-rates',
  record: Rate,
  parse(body) {
    const $ = cheerio.load(body.toString('utf8'));
    const board = $('#board').text().trim();
    const asOf = $('#status').attr('data-as-of');
    return $('tr.rate-row')
      .toArray()
      .map((element) => {
        const row = $(element);
        const pair = row.attr('data-pair') ?? '';
        const [base, quote] = pair.split('/');
        return {
          entityId: `${board}:${pair}`,
          data: { pair, base, quote, rate: Number(row.find('.rate').text().trim()), board, asOf },
        };
      });
  },
});
