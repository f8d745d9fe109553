import { defineParser } from '../define.js';
import { FaultPageRecord, parseFaultPage } from '../demo-faults/parser.js';

/** Parses the rendered DOM of a fault page, like its HTTP twin parses the raw body. */
export const demoFaultsBrowserParser = defineParser<FaultPageRecord>({
  source: 'demo-faults-browser',
  record: FaultPageRecord,
  parse: parseFaultPage,
});
