/**
 * The bundled demo site: a local HTTP server with deterministic pages for the demo sources.
 * It counts every request, so tests can prove that replay never touches it.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createShipmentsApi } from './api.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, catalogPage, RATES_AS_OF, rateBoard } from './data.js';
import { exportsRoute } from './exports.js';
import { createFaultRoutes, type FaultRoutes } from './faults.js';
import { createPortal, type PortalCredentials, type PortalState } from './portal.js';
import { createSiteFaults, type SiteFaultOptions, type SiteFaults } from './site-faults.js';

/** Production origins under this domain are served, locally, by the demo site. */
export const DEMO_DOMAIN = 'demo.sluice.example';

/** Maps every demo source's production origin to the running demo site. */
export function demoOriginOverrides(
  sources: readonly { readonly origin: string }[],
  localOrigin: string,
): { [origin: string]: string } {
  return Object.fromEntries(
    sources
      .filter((s) => new URL(s.origin).hostname.endsWith(`.${DEMO_DOMAIN}`))
      .map((s) => [s.origin, localOrigin]),
  );
}

export interface DemoSite {
  /** e.g. `http://127.0.0.1:43123` */
  readonly origin: string;
  /** Requests served so far, by path prefix (`/catalog`, `/rates`, `/api`, `/exports`, ...). */
  readonly requests: ReadonlyMap<string, number>;
  /** Requests the shipments API answered 429 so far. */
  throttledRequests(): number;
  /** The fault routes' per-key request log (local/demo-site/faults.ts). */
  readonly faults: Pick<FaultRoutes, 'requestsFor'>;
  /** The partner portal's counters and session control (local/demo-site/portal.ts). */
  readonly portal: PortalState;
  /** The fault mode of the normal routes, when the site was started with one (the chaos run). */
  readonly siteFaults: Pick<SiteFaults, 'injected'> | undefined;
  totalRequests(): number;
  close(): Promise<void>;
}

export interface DemoSiteOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** The only credentials the portal accepts. @default - random ones nobody knows */
  readonly portalCredentials?: PortalCredentials;
  /** Fail the normal routes at set rates (local/demo-site/site-faults.ts). @default - never */
  readonly faults?: SiteFaultOptions;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  readonly headers?: { readonly [name: string]: string };
}

function reply(status: number, contentType: string, body: string | Buffer): Reply {
  return { status, contentType, body };
}

function send(res: ServerResponse, { status, contentType, body, headers }: Reply): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** A catalogue page as the site serves it (the parser tests read the same markup). */
export function catalogHtml(category: string, page: number): string {
  const products = catalogPage(category, page);
  const items = products
    .map(
      (p) => `      <li class="product" data-sku="${escapeHtml(p.sku)}">
        <h2 class="product-name">${escapeHtml(p.name)}</h2>
        <span class="price">${escapeHtml(p.displayPrice)}</span>
        <span class="stock">${p.inStock ? 'In stock' : 'Out of stock'}</span>
        <a class="details" href="/catalog/${category}/item/${escapeHtml(p.sku)}">Details</a>
      </li>`,
    )
    .join('\n');
  const next =
    page < CATALOG_PAGES ? `<a rel="next" href="/catalog/${category}?page=${page + 1}">Next</a>` : '';
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Demo catalogue: ${escapeHtml(category)} page ${page}</title></head>
  <body>
    <h1 class="category" data-category="${escapeHtml(category)}">${escapeHtml(category)}</h1>
    <ul class="products">
${items}
    </ul>
    <nav class="pagination">Page ${page} of ${CATALOG_PAGES} ${next}</nav>
  </body>
</html>
`;
}

function ratesShellHtml(board: string): string {
  // The data is fetched and rendered by script, so only a real browser sees the rates.
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8"><title>Rates board: ${escapeHtml(board)}</title>
    <link rel="icon" href="/static/favicon.png">
  </head>
  <body>
    <h1>Rates: <span id="board">${escapeHtml(board)}</span></h1>
    <img src="/static/banner.png" alt="" width="1" height="1">
    <p id="status">Loading…</p>
    <table id="rates"><thead><tr><th>Pair</th><th>Rate</th></tr></thead><tbody></tbody></table>
    <script>
      fetch('/api/rates/' + encodeURIComponent(${JSON.stringify(board)}))
        .then((r) => r.json())
        .then((data) => {
          const body = document.querySelector('#rates tbody');
          for (const row of data.rates) {
            const tr = document.createElement('tr');
            tr.className = 'rate-row';
            tr.dataset.pair = row.pair;
            const pair = document.createElement('td');
            pair.className = 'pair';
            pair.textContent = row.pair;
            const rate = document.createElement('td');
            rate.className = 'rate';
            rate.textContent = row.rate;
            tr.append(pair, rate);
            body.append(tr);
          }
          document.querySelector('#status').textContent = 'As of ' + data.asOf;
          document.querySelector('#status').dataset.asOf = data.asOf;
          document.body.dataset.ready = 'true';
        });
    </script>
  </body>
</html>
`;
}

// A 1x1 transparent PNG, so pages that reference images get a real image.
const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

function route(req: IncomingMessage): Reply {
  const url = new URL(req.url ?? '/', 'http://demo.local');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (req.method !== 'GET') return reply(405, 'text/plain', 'method not allowed');

  if (url.pathname === '/healthz') return reply(200, 'text/plain', 'ok');

  if (parts[0] === 'catalog' && parts.length === 2) {
    const category = parts[1] ?? '';
    const page = Number(url.searchParams.get('page') ?? '1');
    if (!(CATALOG_CATEGORIES as readonly string[]).includes(category)) {
      return reply(404, 'text/html; charset=utf-8', '<h1>No such category</h1>');
    }
    if (!Number.isInteger(page) || page < 1 || page > CATALOG_PAGES) {
      return reply(404, 'text/html; charset=utf-8', '<h1>No such page</h1>');
    }
    return reply(200, 'text/html; charset=utf-8', catalogHtml(category, page));
  }

  if (parts[0] === 'rates' && parts.length === 2) {
    const board = parts[1] ?? '';
    if (rateBoard(board).length === 0)
      return reply(404, 'text/html; charset=utf-8', '<h1>No such board</h1>');
    return reply(200, 'text/html; charset=utf-8', ratesShellHtml(board));
  }

  if (parts[0] === 'api' && parts[1] === 'rates' && parts.length === 3) {
    const rates = rateBoard(parts[2] ?? '');
    if (rates.length === 0) return reply(404, 'application/json', '{"error":"no such board"}');
    const body = { asOf: RATES_AS_OF, rates: rates.map((r) => ({ pair: r.pair, rate: r.displayRate })) };
    return reply(200, 'application/json', JSON.stringify(body));
  }

  if (parts[0] === 'static') return reply(200, 'image/png', PIXEL_PNG);

  return reply(404, 'text/plain', 'not found');
}

export async function startDemoSite(options: DemoSiteOptions = {}): Promise<DemoSite> {
  const requests = new Map<string, number>();
  // The CSV exports and the rate-limited JSON API live in their own modules (exports.ts, api.ts).
  const shipments = createShipmentsApi();
  const otherRoutes = (req: IncomingMessage): Reply | undefined => {
    if (req.method !== 'GET') return undefined;
    const url = new URL(req.url ?? '/', 'http://demo.local');
    return exportsRoute(url.pathname) ?? shipments.route(url.pathname, url.searchParams);
  };
  const faults = createFaultRoutes();
  const portal = createPortal(
    options.portalCredentials ?? {
      username: randomBytes(8).toString('hex'),
      password: randomBytes(16).toString('hex'),
    },
  );
  const siteFaults: SiteFaults | undefined =
    options.faults === undefined ? undefined : createSiteFaults(options.faults);
  const server = createServer((req, res) => {
    const prefix = `/${(req.url ?? '/').split(/[/?]/)[1] ?? ''}`;
    requests.set(prefix, (requests.get(prefix) ?? 0) + 1);
    try {
      if (siteFaults?.intercept(req, res) === true) return;
      if (faults.handle(req, res) || portal.handle(req, res)) return;
      send(res, otherRoutes(req) ?? route(req));
    } catch (error) {
      send(res, reply(500, 'text/plain', `demo site error: ${String(error)}`));
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    requests,
    faults,
    portal,
    siteFaults,
    totalRequests: () => [...requests.values()].reduce((a, b) => a + b, 0),
    throttledRequests: () => shipments.throttled(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
