/**
 * The demo partner portal: sign in, see an account's statement requests, request a statement.
 * It accepts exactly the credentials it is given (the local environment reads them back from the
 * emulator's Secrets Manager), and it is deliberately *not* idempotent, like many real portals:
 * every submitted form creates a request. Tests read its counters to prove Sluice never submits
 * twice.
 *
 *   GET  /portal/login                 sign-in form            POST /portal/login
 *   GET  /portal/home                  signed-in landing page
 *   GET  /portal/statements?account=A  requests for A (data-period, data-status, data-reference)
 *   GET  /portal/statements/new?account=A  the request form  POST /portal/statements
 *
 * Accounts that behave differently: `needs-approval…` (accepted, awaiting approval),
 * `hang-…` (the request is recorded, the acknowledgement never comes), `ambiguous…` (has a
 * request for 2026-01 whose status is unclear).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface PortalCredentials {
  readonly username: string;
  readonly password: string;
}

export interface StatementRequest {
  readonly reference: string;
  readonly status: 'requested' | 'awaiting-approval' | 'in-review';
}

export interface PortalState {
  /** Statement request forms submitted for this account and period, whatever came of them. */
  submissions(account: string, period: string): number;
  /** The request the portal holds for this account and period, if any. */
  statement(account: string, period: string): StatementRequest | undefined;
  /** Every account and period a form was submitted for. */
  submittedRequests(): readonly {
    readonly account: string;
    readonly period: string;
    readonly count: number;
  }[];
  /** Successful sign-ins. */
  readonly logins: number;
  /** Refused sign-ins. */
  readonly refusedLogins: number;
  /** Ends every session, as a portal does after its session lifetime. */
  expireSessions(): void;
  /** `submitted` (account, period) fires when a request is recorded, before anything is answered. */
  readonly events: EventEmitter;
}

export interface Portal extends PortalState {
  /** Handles `/portal/...`; answers false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

const AMBIGUOUS_PERIOD = '2026-01';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${escapeHtml(title)}</title><link rel="stylesheet" href="/portal/style.css"></head>
  <body>
${body}
  </body>
</html>
`;
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: { [name: string]: string } = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, headers: { [name: string]: string } = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginForm(next: string, error?: string): string {
  return page(
    'Sign in',
    `    <main>
      <h1>Partner portal</h1>
      ${error === undefined ? '' : `<p class="login-error">${escapeHtml(error)}</p>`}
      <form id="login" method="post" action="/portal/login">
        <input type="hidden" name="next" value="${escapeHtml(next)}">
        <label>User <input name="username" autocomplete="username"></label>
        <label>Password <input name="password" type="password" autocomplete="current-password"></label>
        <button type="submit">Sign in</button>
      </form>
    </main>`,
  );
}

const VALID_ACCOUNT = /^[a-z][a-z0-9-]{1,30}$/;
const VALID_PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export function createPortal(credentials: PortalCredentials): Portal {
  const sessions = new Set<string>();
  const submitted = new Map<string, number>();
  const statements = new Map<string, Map<string, StatementRequest>>();
  const events = new EventEmitter();
  let logins = 0;
  let refusedLogins = 0;
  let nextReference = 1;

  function requestsOf(account: string): Map<string, StatementRequest> {
    let requests = statements.get(account);
    if (requests === undefined) {
      requests = new Map();
      if (account.startsWith('ambiguous')) {
        requests.set(AMBIGUOUS_PERIOD, { reference: 'ST-UNCLEAR', status: 'in-review' });
      }
      statements.set(account, requests);
    }
    return requests;
  }

  function sessionOf(req: IncomingMessage): string | undefined {
    const sid = /(?:^|;\s*)sid=([a-f0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    return sid !== undefined && sessions.has(sid) ? sid : undefined;
  }

  function statementsPage(account: string): string {
    const rows = [...requestsOf(account).entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([period, request]) =>
          `        <tr class="statement" data-period="${period}" data-status="${request.status}" data-reference="${escapeHtml(request.reference)}"><td>${period}</td><td>${request.status}</td><td>${escapeHtml(request.reference)}</td></tr>`,
      )
      .join('\n');
    return page(
      `Statements for ${account}`,
      `    <main id="statements" data-ready="true" data-signed-in="true" data-account="${escapeHtml(account)}">
      <h1>Statements for ${escapeHtml(account)}</h1>
      <table><thead><tr><th>Period</th><th>Status</th><th>Reference</th></tr></thead><tbody>
${rows}
      </tbody></table>
      <a href="/portal/statements/new?account=${encodeURIComponent(account)}">Request a statement</a>
    </main>`,
    );
  }

  async function handlePost(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await formBody(req);
    if (url.pathname === '/portal/login') {
      const next = form.get('next') || '/portal/home';
      const ok =
        form.get('username') === credentials.username && form.get('password') === credentials.password;
      if (!ok) {
        refusedLogins += 1;
        send(res, 401, loginForm(next, 'Unknown user or wrong password.'));
        return;
      }
      logins += 1;
      const sid = randomBytes(16).toString('hex');
      sessions.add(sid);
      redirect(res, next.startsWith('/portal/') ? next : '/portal/home', {
        'set-cookie': `sid=${sid}; Path=/portal; HttpOnly; SameSite=Lax`,
      });
      return;
    }
    if (url.pathname === '/portal/statements') {
      if (sessionOf(req) === undefined) {
        // The session ended before the form arrived: nothing is recorded.
        redirect(res, '/portal/login?next=/portal/home');
        return;
      }
      const account = form.get('account') ?? '';
      const period = form.get('period') ?? '';
      if (!VALID_ACCOUNT.test(account) || !VALID_PERIOD.test(period)) {
        send(
          res,
          400,
          page('Invalid request', '<main><p class="form-error">Invalid account or period.</p></main>'),
        );
        return;
      }
      const key = `${account}|${period}`;
      submitted.set(key, (submitted.get(key) ?? 0) + 1);
      const reference = `ST-${String(nextReference++).padStart(5, '0')}`;
      const approval = account.startsWith('needs-approval');
      requestsOf(account).set(period, { reference, status: approval ? 'awaiting-approval' : 'requested' });
      events.emit('submitted', account, period);
      // The request is recorded; the acknowledgement never comes (the client's timeout, or a
      // crash, ends the wait). The server's close() destroys the connection.
      if (account.startsWith('hang-')) return;
      send(
        res,
        200,
        page(
          'Request received',
          approval
            ? `    <main><p class="approval-required" data-reference="${reference}">Your request ${reference} needs approval by your account manager.</p></main>`
            : `    <main><p class="acknowledgement" data-reference="${reference}">Statement for ${period} requested: ${reference}</p></main>`,
        ),
      );
      return;
    }
    send(res, 404, page('Not found', '<h1>Not found</h1>'));
  }

  function handleGet(url: URL, req: IncomingMessage, res: ServerResponse): void {
    if (url.pathname === '/portal/style.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end('body { font-family: sans-serif; }');
      return;
    }
    if (url.pathname === '/portal/login') {
      send(res, 200, loginForm(url.searchParams.get('next') ?? '/portal/home'));
      return;
    }
    if (sessionOf(req) === undefined) {
      redirect(res, `/portal/login?next=${encodeURIComponent(`${url.pathname}${url.search}`)}`);
      return;
    }
    const account = url.searchParams.get('account') ?? '';
    if (url.pathname === '/portal/home') {
      send(res, 200, page('Welcome', '    <main data-signed-in="true"><h1>Welcome back</h1></main>'));
      return;
    }
    if (!VALID_ACCOUNT.test(account)) {
      send(res, 404, page('No such account', '<h1>No such account</h1>'));
      return;
    }
    if (url.pathname === '/portal/statements') {
      send(res, 200, statementsPage(account));
      return;
    }
    if (url.pathname === '/portal/statements/new') {
      send(
        res,
        200,
        page(
          'Request a statement',
          `    <main data-signed-in="true">
      <form id="request-statement" method="post" action="/portal/statements">
        <input type="hidden" name="account" value="${escapeHtml(account)}">
        <label>Period (YYYY-MM) <input name="period" required></label>
        <button type="submit">Request statement</button>
      </form>
    </main>`,
        ),
      );
      return;
    }
    send(res, 404, page('Not found', '<h1>Not found</h1>'));
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://demo.local');
    if (!url.pathname.startsWith('/portal/')) return false;
    if (req.method === 'POST') {
      handlePost(url, req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, page('Error', `<p>${escapeHtml(String(error))}</p>`));
      });
      return true;
    }
    handleGet(url, req, res);
    return true;
  }

  return {
    handle,
    submissions: (account, period) => submitted.get(`${account}|${period}`) ?? 0,
    statement: (account, period) => statements.get(account)?.get(period),
    submittedRequests: () =>
      [...submitted.entries()].map(([key, count]) => {
        const [account = '', period = ''] = key.split('|');
        return { account, period, count };
      }),
    get logins() {
      return logins;
    },
    get refusedLogins() {
      return refusedLogins;
    },
    expireSessions: () => sessions.clear(),
    events,
  };
}
