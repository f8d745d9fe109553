import * as cheerio from 'cheerio';
import { z } from 'zod';
import { defineParser } from '../define.js';

export const StatementRequest = z
  .object({
    account: z.string().min(1),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
    reference: z.string().min(1),
    status: z.literal('requested'),
  })
  .strict();
export type StatementRequest = z.infer<typeof StatementRequest>;

/** The statements page as the collector left it: one row per period requested for the account. */
export const demoPortalParser = defineParser<StatementRequest>({
  source: 'demo-portal',
  record: StatementRequest,
  parse(body) {
    const $ = cheerio.load(body.toString('utf8'));
    const account = $('main#statements').attr('data-account') ?? '';
    return $('tr.statement')
      .toArray()
      .map((element) => {
        const row = $(element);
        const period = row.attr('data-period') ?? '';
        return {
          entityId: `${account}:${period}`,
          data: {
            account,
            period,
            reference: row.attr('data-reference') ?? '',
            status: row.attr('data-status'),
          },
        };
      });
  },
});
