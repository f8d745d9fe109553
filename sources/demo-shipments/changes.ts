/** team-logistics' rules for shipment changes (the business-rules owner of demo-shipments). */
import { defineChangeRules } from '../define.js';
import type { Shipment } from './parser.js';

export const demoShipmentsChanges = defineChangeRules<Shipment>({
  source: 'demo-shipments',
  meaningful: {
    description: 'a new shipment, or its status or ETA changes',
    test: (before, after) =>
      before === undefined || before.status !== after.status || before.eta !== after.eta,
  },
  highPriority: {
    description: 'shipments in status exception',
    test: (_entityId, data) => data.status === 'exception',
  },
});
