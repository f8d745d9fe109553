/**
 * The demo site's fault routes: pages that fail on purpose, so every collection behaviour is
 * proven against a real server. Each request names a `key` (the test's own), and the site counts
 * requests per key, so "fails twice, then answers" is per job and deterministic.
 *
 *   /faults/ok                       a page with one record
 *   /faults/flaky?failures=N&status=S        S (default 500) N times (default 1), then ok
 *   /faults/rate-limited?failures=N&retryAfter=S&status=429|503   with Retry-After, then ok
 *   /faults/hang?times=N             never answers N times (default 1), then ok
 *   /faults/slow?ms=M                answers ok after M milliseconds
 *   /faults/missing                  404
 *   /faults/changed-layout           200, but not the markup the source waits for
 *   /faults/captcha                  200 with a captcha
 *   /faults/redirect?to=URL          302 to any URL (loopback, metadata, file:)
 *   /faults/private-subresources     ok, plus an image, script, iframe and fetch on private addresses
 *   /faults/with-image               ok, plus an image on the site itself (to see it never loaded)
 *   /faults/pixel.png                a 1x1 PNG
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FaultRequest {
  readonly route: string;
  /** Milliseconds since the epoch, when the site received it. */
  readonly at: number;
}

export interface FaultRoutes {
  /** Every request to a fault route that named `key`, in order. */
  requestsFor(key: string): readonly FaultRequest[];
  /** Handles `/faults/...`; answers false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
  <body>
${body}
  </body>
</html>
`;
}

function okPage(key: string, note: string, extra = ''): string {
  return page(
    `fault page ${key}`,
    `    <main data-ready="true">
      <p data-record="${escapeHtml(key)}">${escapeHtml(note)}</p>
    </main>
${extra}`,
  );
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: { [name: string]: string } = {},
): void {
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'image/png',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function count(param: string | null, fallback: number): number {
  const value = Number(param ?? fallback);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

export function createFaultRoutes(): FaultRoutes {
  const requests = new Map<string, FaultRequest[]>();

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://demo.local');
    const match = /^\/faults\/([a-z0-9.-]+)$/.exec(url.pathname);
    if (match === null) return false;
    const route = match[1] ?? '';
    const key = url.searchParams.get('key') ?? 'no-key';
    const seen = [...(requests.get(key) ?? []), { route, at: Date.now() }];
    requests.set(key, seen);
    const nth = seen.filter((r) => r.route === route).length;

    switch (route) {
      case 'ok':
        send(res, 200, okPage(key, 'ok'));
        return true;
      case 'flaky': {
        const failures = count(url.searchParams.get('failures'), 1);
        const status = count(url.searchParams.get('status'), 500);
        if (nth <= failures) send(res, status, page('failing', `<h1>Failure ${nth} of ${failures}</h1>`));
        else send(res, 200, okPage(key, `ok after ${failures} failures`));
        return true;
      }
      case 'rate-limited': {
        const failures = count(url.searchParams.get('failures'), 1);
        const status = url.searchParams.get('status') === '503' ? 503 : 429;
        const retryAfter = String(count(url.searchParams.get('retryAfter'), 120));
        if (nth <= failures) {
          send(res, status, page('slow down', '<h1>Too many requests</h1>'), { 'retry-after': retryAfter });
        } else {
          send(res, 200, okPage(key, `ok after ${failures} refusals`));
        }
        return true;
      }
      case 'hang': {
        // Never answered: the client's timeout is the only way out. The server's close()
        // destroys these connections.
        if (nth <= count(url.searchParams.get('times'), 1)) return true;
        send(res, 200, okPage(key, 'ok after hanging'));
        return true;
      }
      case 'slow': {
        const ms = Math.min(count(url.searchParams.get('ms'), 1000), 60_000);
        setTimeout(() => send(res, 200, okPage(key, `ok after ${ms} ms`)), ms).unref();
        return true;
      }
      case 'missing':
        send(res, 404, page('not found', '<h1>No such page</h1>'));
        return true;
      case 'changed-layout':
        send(
          res,
          200,
          page(
            'redesigned',
            `    <div class="app-shell-v2"><section class="cards"><article class="card">${escapeHtml(key)}</article></section></div>`,
          ),
        );
        return true;
      case 'captcha':
        send(
          res,
          200,
          page(
            'are you human?',
            '    <main><div id="captcha" data-captcha="true">Type the letters you see</div></main>',
          ),
        );
        return true;
      case 'redirect': {
        send(res, 302, page('moved', '<p>Moved</p>'), { location: url.searchParams.get('to') ?? '/' });
        return true;
      }
      case 'private-subresources':
        send(
          res,
          200,
          okPage(
            key,
            'ok, with subresources on private addresses',
            `    <img src="http://10.0.0.1/tracker.png" alt="">
    <script src="http://192.168.1.1/widget.js"></script>
    <iframe src="http://169.254.169.254/latest/meta-data/"></iframe>
    <script>fetch('http://127.0.0.1:8089/internal').catch(() => undefined);</script>`,
          ),
        );
        return true;
      case 'with-image':
        send(
          res,
          200,
          okPage(
            key,
            'ok, with an image',
            `    <img src="/faults/pixel.png?key=${encodeURIComponent(key)}" alt="" width="1" height="1">`,
          ),
        );
        return true;
      case 'pixel.png':
        send(res, 200, PIXEL_PNG);
        return true;
      default:
        send(res, 404, page('no such fault', `<h1>No fault route ${escapeHtml(route)}</h1>`));
        return true;
    }
  }

  return { requestsFor: (key) => requests.get(key) ?? [], handle };
}
