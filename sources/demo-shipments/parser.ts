import { z } from 'zod';
import { defineParser } from '../define.js';
import { countryCode, normalizeStatus, SHIPMENT_STATUSES, weightInGrams } from './normalize.js';

export const Shipment = z
  .object({
    shipmentId: z.string().regex(/^SHP-\d{6}$/),
    status: z.enum(SHIPMENT_STATUSES),
    carrier: z.string().regex(/^[A-Z]{2,5}$/),
    weightGrams: z.number().int().positive(),
    destinationCountry: z.string().regex(/^[A-Z]{2}$/),
    destinationCity: z.string().min(1),
    eta: z.iso.datetime().nullable(),
    updatedAt: z.iso.datetime(),
  })
  .strict();
export type Shipment = z.infer<typeof Shipment>;

/** The API's envelope and item shape; fields are loose here so the record schema reports what is wrong. */
const ApiShipment = z.object({
  id: z.string(),
  status: z.string(),
  carrier: z.object({ code: z.string() }),
  weight: z.object({ value: z.number(), unit: z.string() }),
  destination: z.object({ country: z.string(), city: z.string() }),
  eta: z.string().nullable(),
  updated_at: z.string(),
});
const ShipmentsPage = z.object({
  data: z.array(ApiShipment),
  meta: z.object({ page: z.number().int().positive(), total_pages: z.number().int().nonnegative() }),
  links: z.object({ next: z.string().nullable() }).optional(),
});

/** The page number a `links.next` URL asks for, or undefined when it names none. */
export function nextPageOf(next: string | null | undefined, finalUrl: string): number | undefined {
  if (next === null || next === undefined || next === '') return undefined;
  let url: URL;
  try {
    url = new URL(next, finalUrl);
  } catch {
    return undefined;
  }
  const page = Number(url.searchParams.get('page'));
  return Number.isInteger(page) && page >= 1 ? page : undefined;
}

export const demoShipmentsParser = defineParser<Shipment>({
  source: 'demo-shipments',
  record: Shipment,
  parse(body) {
    // A body that is not JSON, or not the API's envelope, throws: the transform hands it off.
    const page = ShipmentsPage.parse(JSON.parse(body.toString('utf8')));
    return page.data.map((item) => ({
      entityId: item.id,
      data: {
        shipmentId: item.id,
        status: normalizeStatus(item.status),
        carrier: item.carrier.code.trim().toUpperCase(),
        weightGrams: weightInGrams(item.weight),
        destinationCountry: countryCode(item.destination.country),
        destinationCity: item.destination.city.trim(),
        eta: item.eta,
        updatedAt: item.updated_at,
      },
    }));
  },
  // Pagination until there is no next page: the next link, never a page count, decides.
  followUps(body, context) {
    const page = ShipmentsPage.parse(JSON.parse(body.toString('utf8')));
    const next = nextPageOf(page.links?.next, context.finalUrl);
    return next === undefined ? [] : [{ source: 'demo-shipments', input: { page: next } }];
  },
});
