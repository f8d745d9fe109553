/**
 * The demo site's paginated JSON API of shipments, rate-limited like a real partner API: every
 * `throttleEvery`-th request is answered 429 with `Retry-After`, but never the same URL twice in
 * a row, so a client that honours Retry-After always gets through on its next try.
 * Deterministic: the same page always holds the same shipments.
 */
import { seeded, seedOf } from './data.js';
import type { DemoRouteReply } from './exports.js';

export const SHIPMENT_PAGES = 6;
export const SHIPMENTS_PER_PAGE = 25;
/** Seconds the API asks a throttled client to wait. */
export const SHIPMENTS_RETRY_AFTER_SECONDS = 1;

const CARRIERS = [
  { code: 'DHL', name: 'DHL Express' },
  { code: 'UPS', name: 'United Parcel Service' },
  { code: 'DPD', name: 'DPD' },
  { code: 'GLS', name: 'GLS' },
] as const;
/** Spelled the inconsistent ways partner APIs spell them; the parser normalizes. */
const STATUSES = [
  'PENDING',
  'in_transit',
  'IN TRANSIT',
  'Out For Delivery',
  'delivered',
  'EXCEPTION',
] as const;
const DESTINATIONS = [
  { country: 'de', city: 'Berlin' },
  { country: 'FR', city: 'Lyon' },
  { country: 'nl', city: 'Utrecht' },
  { country: 'SE', city: 'Malmö' },
  { country: 'es', city: 'Sevilla' },
] as const;

export interface ApiShipment {
  readonly id: string;
  readonly status: string;
  readonly carrier: { readonly code: string; readonly name: string };
  readonly weight: { readonly value: number; readonly unit: 'kg' | 'lb' };
  readonly destination: { readonly country: string; readonly city: string };
  readonly eta: string | null;
  readonly updated_at: string;
}

export function shipmentsPage(page: number): ApiShipment[] {
  if (!Number.isInteger(page) || page < 1 || page > SHIPMENT_PAGES) return [];
  const random = seeded(seedOf(`shipments:${page}`));
  return Array.from({ length: SHIPMENTS_PER_PAGE }, (_, index) => {
    const number = (page - 1) * SHIPMENTS_PER_PAGE + index + 1;
    const status = STATUSES[Math.floor(random() * STATUSES.length)] ?? 'PENDING';
    const inPounds = random() < 0.3;
    const kilograms = Math.round((0.2 + random() * 40) * 100) / 100;
    const day = 27 + Math.floor(random() * 3);
    return {
      id: `SHP-${String(number).padStart(6, '0')}`,
      status,
      carrier: CARRIERS[Math.floor(random() * CARRIERS.length)] ?? CARRIERS[0],
      weight: inPounds
        ? { value: Math.round(kilograms * 2.20462 * 100) / 100, unit: 'lb' }
        : { value: kilograms, unit: 'kg' },
      destination: DESTINATIONS[Math.floor(random() * DESTINATIONS.length)] ?? DESTINATIONS[0],
      eta: /delivered/i.test(status)
        ? null
        : `2026-11-${day}T${String(8 + (number % 10)).padStart(2, '0')}:00:00Z`,
      updated_at: `2026-11-26T${String(number % 24).padStart(2, '0')}:15:00Z`,
    };
  });
}

export interface ShipmentsApi {
  /** `GET /api/v1/shipments?page=N`; undefined for paths this module does not serve. */
  route(pathname: string, search: URLSearchParams): DemoRouteReply | undefined;
  /** Requests answered 429 so far. */
  throttled(): number;
}

export function createShipmentsApi(options: { readonly throttleEvery?: number } = {}): ShipmentsApi {
  const throttleEvery = options.throttleEvery ?? 4;
  let requests = 0;
  let throttled = 0;
  const lastWasThrottled = new Set<string>();

  return {
    throttled: () => throttled,
    route(pathname, search) {
      if (pathname !== '/api/v1/shipments') return undefined;
      requests += 1;
      const url = `${pathname}?${search.toString()}`;
      if (requests % throttleEvery === 0 && !lastWasThrottled.has(url)) {
        lastWasThrottled.add(url);
        throttled += 1;
        return {
          status: 429,
          contentType: 'application/json',
          body: JSON.stringify({ error: 'rate limit exceeded', retry_after: SHIPMENTS_RETRY_AFTER_SECONDS }),
          headers: { 'retry-after': String(SHIPMENTS_RETRY_AFTER_SECONDS) },
        };
      }
      lastWasThrottled.delete(url);
      const page = Number(search.get('page') ?? '1');
      const data = shipmentsPage(page);
      if (data.length === 0) {
        return {
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({ error: 'no such page' }),
        };
      }
      return {
        status: 200,
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify({
          data,
          meta: {
            page,
            page_size: SHIPMENTS_PER_PAGE,
            total_pages: SHIPMENT_PAGES,
            total: SHIPMENT_PAGES * SHIPMENTS_PER_PAGE,
          },
          links: { next: page < SHIPMENT_PAGES ? `/api/v1/shipments?page=${page + 1}` : null },
        }),
      };
    },
  };
}
