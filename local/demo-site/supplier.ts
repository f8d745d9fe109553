/**
 * A supplier's site, the way a new user's own sources look: a JSON price list behind an API token,
 * and an invoice CSV export behind a login form with a session cookie (a page with an export link,
 * and the export URL itself). The integration tests collect it over HTTP and in Chromium.
 *
 *   GET  /supplier/api/prices          JSON; `authorization: Bearer <token>` or 401
 *   GET  /supplier/login               sign-in form        POST /supplier/login → cookie, 303
 *   GET  /supplier/invoices            page with `a#export` (signed in, else 303 to the login)
 *   GET  /supplier/invoices/export.csv the CSV, as an attachment (signed in, else 303 to the login)
 *   GET  /supplier/invoices/big.csv    an export of `bigBytes` bytes (signed in)
 *   GET  /supplier/basic/prices        JSON; HTTP basic auth with the login, or 401
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SupplierSiteOptions {
  readonly token: string;
  readonly username: string;
  readonly password: string;
  /** Size of /supplier/invoices/big.csv. @default 1 MiB */
  readonly bigBytes?: number;
}

export interface SupplierSite {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Successful and refused sign-ins, and requests to each path. */
  readonly counts: { logins: number; refusedLogins: number; requests: Map<string, number> };
  /** Ends every session (the next request is sent to the login page). */
  expireSessions(): void;
  /** Replaces the API token the site accepts (a rotation). */
  rotateToken(token: string): void;
}

/** The invoices the export holds: quoted fields, a comma, non-ASCII, CRLF and a BOM. */
export const SUPPLIER_INVOICES_CSV =
  '\uFEFFid,name\r\nINV-1001,"Bolts, zinc"\r\nINV-1002,Rondelle ø8 — Müller GmbH\r\nINV-1003,Écrous inox\r\n';

export const SUPPLIER_PRICES = {
  data: [
    { id: 'P-1', name: 'Kaffeebohnen, 1 kg' },
    { id: 'P-2', name: 'Thé vert — Sencha' },
  ],
};

const loginForm = (
  error = '',
) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><main>${error}<form id="login" method="post" action="/supplier/login">
<input name="username"><input name="password" type="password"><button type="submit">Sign in</button>
</form></main></body></html>`;

export function createSupplierSite(options: SupplierSiteOptions): SupplierSite {
  const sessions = new Set<string>();
  let token = options.token;
  const counts = { logins: 0, refusedLogins: 0, requests: new Map<string, number>() };

  const signedIn = (req: IncomingMessage) => {
    const sid = /(?:^|;\s*)supplier_sid=([a-f0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    return sid !== undefined && sessions.has(sid);
  };
  const toLogin = (res: ServerResponse) =>
    res.writeHead(303, { location: '/supplier/login', 'cache-control': 'no-store' }).end();

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://supplier.local');
    if (!url.pathname.startsWith('/supplier/')) return false;
    counts.requests.set(url.pathname, (counts.requests.get(url.pathname) ?? 0) + 1);
    if (url.pathname === '/supplier/api/prices') {
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return true;
      }
      res
        .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(SUPPLIER_PRICES));
      return true;
    }
    if (url.pathname === '/supplier/basic/prices') {
      const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="supplier"' }).end();
        return true;
      }
      res
        .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(SUPPLIER_PRICES));
      return true;
    }
    if (url.pathname === '/supplier/login' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (form.get('username') !== options.username || form.get('password') !== options.password) {
          counts.refusedLogins += 1;
          res
            .writeHead(401, { 'content-type': 'text/html; charset=utf-8' })
            .end(loginForm('<p class="login-error">Wrong password.</p>'));
          return;
        }
        counts.logins += 1;
        const sid = randomBytes(16).toString('hex');
        sessions.add(sid);
        res
          .writeHead(303, {
            location: '/supplier/invoices',
            'set-cookie': `supplier_sid=${sid}; Path=/supplier; HttpOnly; SameSite=Lax`,
          })
          .end();
      });
      return true;
    }
    if (url.pathname === '/supplier/login') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginForm());
      return true;
    }
    if (!signedIn(req)) {
      toLogin(res);
      return true;
    }
    if (url.pathname === '/supplier/invoices') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Invoices</title></head>
<body><main data-signed-in="true"><h1>Invoices</h1>
<a id="export" href="/supplier/invoices/export.csv">Export CSV</a>
<a id="export-big" href="/supplier/invoices/big.csv">Export everything</a></main></body></html>`,
      );
      return true;
    }
    if (url.pathname === '/supplier/invoices/export.csv') {
      res
        .writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': 'attachment; filename="invoices-2026-03.csv"',
        })
        .end(SUPPLIER_INVOICES_CSV);
      return true;
    }
    if (url.pathname === '/supplier/invoices/big.csv') {
      const size = options.bigBytes ?? 1024 * 1024;
      const row = 'INV-9999,a very long export row that repeats\r\n';
      res
        .writeHead(200, {
          'content-type': 'text/csv',
          'content-disposition': 'attachment; filename="everything.csv"',
        })
        .end(`id,name\r\n${row.repeat(Math.ceil(size / row.length))}`);
      return true;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return true;
  }

  return {
    handle,
    counts,
    expireSessions: () => sessions.clear(),
    rotateToken: (next) => {
      token = next;
    },
  };
}
