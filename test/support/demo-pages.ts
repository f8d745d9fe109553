/**
 * Real demo pages, built from the demo site's own data in the markup it serves (and, for the
 * rates board, the DOM its script renders): what each source's parser reads from raw storage.
 * The parser unit tests read them as they are; the parser fuzzing mutates them.
 */

import { createShipmentsApi } from '../../local/demo-site/api.js';
import { RATES_AS_OF, rateBoard } from '../../local/demo-site/data.js';
import { inventoryCsv } from '../../local/demo-site/exports.js';
import { escapeHtml, catalogHtml as serveCatalogHtml } from '../../local/demo-site/server.js';

/** The catalogue page as local/demo-site/server.ts serves it. */
export function catalogHtml(category: string, page: number): Buffer {
  return Buffer.from(serveCatalogHtml(category, page));
}

/** The rates page before its script runs: what a plain HTTP fetch would see. */
export function ratesShellHtml(board: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Rates board: ${escapeHtml(board)}</title></head>
  <body>
    <h1>Rates: <span id="board">${escapeHtml(board)}</span></h1>
    <p id="status">Loading…</p>
    <table id="rates"><thead><tr><th>Pair</th><th>Rate</th></tr></thead><tbody></tbody></table>
    <script>fetch('/api/rates/' + encodeURIComponent(${JSON.stringify(board)}));</script>
  </body>
</html>
`;
}

/** The rates page's DOM after its script has rendered /api/rates/<board>, as the browser collector stores it. */
export function renderedRatesHtml(board: string): Buffer {
  const rows = rateBoard(board)
    .map(
      (r) =>
        `<tr class="rate-row" data-pair="${escapeHtml(r.pair)}"><td class="pair">${escapeHtml(r.pair)}</td><td class="rate">${r.displayRate}</td></tr>`,
    )
    .join('');
  return Buffer.from(`<!DOCTYPE html><html lang="en"><head>
    <meta charset="utf-8"><title>Rates board: ${escapeHtml(board)}</title>
  </head>
  <body data-ready="true">
    <h1>Rates: <span id="board">${escapeHtml(board)}</span></h1>
    <p id="status" data-as-of="${RATES_AS_OF}">As of ${RATES_AS_OF}</p>
    <table id="rates"><thead><tr><th>Pair</th><th>Rate</th></tr></thead><tbody>${rows}</tbody></table>
    <script>fetch('/api/rates/' + encodeURIComponent(${JSON.stringify(board)}));</script>
  </body></html>`);
}

/** The inventory export of a warehouse as the demo site serves it (BOM, CRLF, RFC 4180 quoting). */
export function inventoryCsvBody(warehouse: string): Buffer {
  const csv = inventoryCsv(warehouse);
  if (csv === undefined) throw new Error(`the demo site has no inventory for ${warehouse}`);
  return Buffer.from(csv, 'utf8');
}

/** A page of the shipments API, exactly as the demo site answers it. */
export function shipmentsJson(page: number): Buffer {
  const reply = createShipmentsApi({ throttleEvery: Number.POSITIVE_INFINITY }).route(
    '/api/v1/shipments',
    new URLSearchParams({ page: String(page) }),
  );
  if (reply?.status !== 200) throw new Error(`the demo shipments API has no page ${page}`);
  return Buffer.from(reply.body, 'utf8');
}

/** The demo portal's statements page of an account, in the markup local/demo-site/portal.ts serves. */
export function portalStatementsHtml(
  account: string,
  statements: readonly { period: string; status: string; reference: string }[],
): Buffer {
  const rows = statements
    .map(
      (s) =>
        `        <tr class="statement" data-period="${s.period}" data-status="${s.status}" data-reference="${escapeHtml(s.reference)}"><td>${s.period}</td><td>${s.status}</td><td>${escapeHtml(s.reference)}</td></tr>`,
    )
    .join('\n');
  return Buffer.from(`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Statements for ${escapeHtml(account)}</title></head>
  <body>
    <main id="statements" data-ready="true" data-signed-in="true" data-account="${escapeHtml(account)}">
      <h1>Statements for ${escapeHtml(account)}</h1>
      <table><thead><tr><th>Period</th><th>Status</th><th>Reference</th></tr></thead><tbody>
${rows}
      </tbody></table>
    </main>
  </body>
</html>
`);
}

/** A fault route's page that renders (local/demo-site/faults.ts): one `[data-record]` element. */
export function faultPageHtml(key: string, note: string): Buffer {
  return Buffer.from(`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>fault page ${escapeHtml(key)}</title></head>
  <body>
    <main data-ready="true">
      <p data-record="${escapeHtml(key)}">${escapeHtml(note)}</p>
    </main>
  </body>
</html>
`);
}
