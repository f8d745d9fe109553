/**
 * The demo site's fault mode for the chaos run: the normal demo routes (catalogue, rates board,
 * shipments API, inventory exports, portal statements) fail the way real sites fail, at set rates,
 * reproducibly from a seed.
 *
 * Transient faults are decided per request: the n-th request of a job (its `x-sluice-trace-id`)
 * for a path draws from `(seed, traceId, path, n)`, so the same job meets the same faults on the
 * same attempts in every run with that seed. A changed layout is permanent, so it is decided per
 * job by whoever plans the run (`layoutChanged`), and every request of such a job sees it.
 * Requests without a trace ID (anything but a collector) are never faulted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { draw, drawInt } from '../chaos/draw.js';

export interface SiteFaultRates {
  /** Share of requests answered 500, 502 or 503. */
  readonly serverError: number;
  /** Share of requests answered 429 with a Retry-After. */
  readonly throttle: number;
  /** Share of requests never answered (the client's timeout ends them). */
  readonly hang: number;
  /** Share of requests answered 200 with a captcha instead of the page. */
  readonly captcha: number;
}

export const SITE_FAULT_KINDS = ['server-error', 'throttle', 'hang', 'captcha', 'layout-changed'] as const;
export type SiteFaultKind = (typeof SITE_FAULT_KINDS)[number];

export interface SiteFaultOptions {
  readonly seed: string;
  readonly rates: SiteFaultRates;
  /** Jobs (by trace ID) whose every page shows a changed layout. @default - none */
  readonly layoutChanged?: (traceId: string) => boolean;
}

export interface InjectedSiteFault {
  readonly kind: SiteFaultKind;
  readonly traceId: string;
  readonly path: string;
  /** Which request of this job for this path it was (1 = the first). */
  readonly nth: number;
  readonly status?: number;
}

export interface SiteFaults {
  /** Answers the request with a fault and returns true, or returns false to serve it normally. */
  intercept(req: IncomingMessage, res: ServerResponse): boolean;
  /** Every fault injected so far, in order. */
  injected(): readonly InjectedSiteFault[];
}

/** The kind of page each faultable route serves, which decides what its changed layout looks like. */
type RouteKind = 'catalog' | 'rates' | 'shipments' | 'inventory' | 'portal';

function routeKindOf(method: string | undefined, pathname: string): RouteKind | undefined {
  if (method !== 'GET') return undefined;
  if (/^\/catalog\/[^/]+$/.test(pathname)) return 'catalog';
  if (/^\/rates\/[^/]+$/.test(pathname)) return 'rates';
  if (pathname === '/api/v1/shipments') return 'shipments';
  if (/^\/exports\/inventory\/[^/]+\.csv$/.test(pathname)) return 'inventory';
  if (pathname === '/portal/statements') return 'portal';
  return undefined;
}

function html(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en">\n  <head><meta charset="utf-8"><title>${title}</title></head>\n  <body>\n${body}\n  </body>\n</html>\n`;
}

const CAPTCHA_PAGE = html(
  'Are you human?',
  '    <main><div id="captcha" data-captcha="true">Type the letters you see</div></main>',
);

/** What a redesign of each route looks like: the data is there, the markup a parser expects is not. */
function changedLayout(kind: RouteKind): { contentType: string; body: string } {
  switch (kind) {
    case 'catalog':
      return {
        contentType: 'text/html; charset=utf-8',
        body: html(
          'Catalogue (new look)',
          '    <div class="app-shell-v2"><section class="cards"><article class="card" data-id="X1">Sturdy Hammer · EUR 12.00</article></section></div>',
        ),
      };
    case 'rates':
      // The new board renders without marking itself ready: the collector's ready selector never shows.
      return {
        contentType: 'text/html; charset=utf-8',
        body: html(
          'Rates (new look)',
          '    <div class="rates-v2"><span class="quote">EUR/USD 1.0842</span></div>',
        ),
      };
    case 'portal':
      return {
        contentType: 'text/html; charset=utf-8',
        body: html(
          'Statements (new look)',
          '    <main id="documents" data-signed-in="true"><ul class="docs"></ul></main>',
        ),
      };
    case 'shipments':
      return {
        contentType: 'application/json',
        body: JSON.stringify({
          results: [{ shipment_no: 'SHP-000001', state: 'moving' }],
          next_cursor: null,
        }),
      };
    case 'inventory':
      return {
        contentType: 'text/csv; charset=utf-8',
        body: 'item;location;quantity\r\nINV-00001;north;12\r\n',
      };
  }
}

export function createSiteFaults(options: SiteFaultOptions): SiteFaults {
  const { seed, rates } = options;
  const requests = new Map<string, number>();
  const injected: InjectedSiteFault[] = [];
  const bands: readonly [Exclude<SiteFaultKind, 'layout-changed'>, number][] = [
    ['server-error', rates.serverError],
    ['throttle', rates.throttle],
    ['hang', rates.hang],
    ['captcha', rates.captcha],
  ];
  const total = bands.reduce((sum, [, rate]) => sum + rate, 0);
  if (total > 1) throw new RangeError(`site fault rates add up to ${total}; expected at most 1`);

  function answer(
    res: ServerResponse,
    status: number,
    contentType: string,
    body: string,
    headers = {},
  ): void {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
    res.end(body);
  }

  function intercept(req: IncomingMessage, res: ServerResponse): boolean {
    const traceHeader = req.headers['x-sluice-trace-id'];
    const traceId = Array.isArray(traceHeader) ? traceHeader[0] : traceHeader;
    if (traceId === undefined || traceId === '') return false;
    const url = new URL(req.url ?? '/', 'http://demo.local');
    const kind = routeKindOf(req.method, url.pathname);
    if (kind === undefined) return false;
    const path = `${url.pathname}${url.search}`;
    const counter = `${traceId} ${path}`;
    const nth = (requests.get(counter) ?? 0) + 1;
    requests.set(counter, nth);
    const record = (fault: Omit<InjectedSiteFault, 'traceId' | 'path' | 'nth'>) =>
      injected.push({ ...fault, traceId, path, nth });

    if (options.layoutChanged?.(traceId) === true) {
      const page = changedLayout(kind);
      record({ kind: 'layout-changed', status: 200 });
      answer(res, 200, page.contentType, page.body);
      return true;
    }
    const roll = draw(seed, 'site', traceId, path, nth);
    let upTo = 0;
    const fault = bands.find(([, rate]) => {
      upTo += rate;
      return roll < upTo;
    })?.[0];
    switch (fault) {
      case undefined:
        return false;
      case 'server-error': {
        const status = [500, 502, 503][drawInt(0, 2, seed, 'status', traceId, path, nth)] ?? 500;
        record({ kind: fault, status });
        answer(res, status, 'text/html; charset=utf-8', html('Server error', `    <h1>${status}</h1>`));
        return true;
      }
      case 'throttle': {
        const retryAfter = drawInt(5, 120, seed, 'retry-after', traceId, path, nth);
        record({ kind: fault, status: 429 });
        answer(res, 429, 'text/html; charset=utf-8', html('Slow down', '    <h1>Too many requests</h1>'), {
          'retry-after': String(retryAfter),
        });
        return true;
      }
      case 'hang':
        // Never answered; the client gives up at its timeout, and the server's close() ends it.
        record({ kind: fault });
        return true;
      case 'captcha':
        record({ kind: fault, status: 200 });
        answer(res, 200, 'text/html; charset=utf-8', CAPTCHA_PAGE);
        return true;
    }
  }

  return { intercept, injected: () => injected };
}
