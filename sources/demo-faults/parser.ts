import * as cheerio from 'cheerio';
import { z } from 'zod';
import { type CandidateRecord, defineParser } from '../define.js';

export const FaultPageRecord = z.object({ key: z.string().min(1), text: z.string() }).strict();
export type FaultPageRecord = z.infer<typeof FaultPageRecord>;

/** Every `[data-record]` element of a fault page, keyed by its attribute. */
export function parseFaultPage(body: Buffer): CandidateRecord[] {
  const $ = cheerio.load(body.toString('utf8'));
  return $('[data-record]')
    .toArray()
    .map((element) => {
      const key = $(element).attr('data-record') ?? '';
      return { entityId: key, data: { key, text: $(element).text().trim() } };
    });
}

export const demoFaultsParser = defineParser<FaultPageRecord>({
  source: 'demo-faults',
  record: FaultPageRecord,
  parse: parseFaultPage,
});
