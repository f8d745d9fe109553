/**
 * The demo site's fault mode against a real local server: faults only for collectors' requests
 * (a trace ID) on the normal routes, the same faults for the same seed, per-job changed layouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../local/demo-site/server.js';

const TRACE = '6b1f0c2e-0d7e-4a36-9d1c-5d1f3c2b9a10';
const CHANGED = '7c2a1d3f-1e8f-4b47-8e2d-6e2f4d3cab21';
let site: DemoSite;

async function get(
  path: string,
  traceId?: string,
): Promise<{ status: number; body: string; retryAfter: string | null }> {
  const response = await fetch(`${site.origin}${path}`, {
    headers: traceId === undefined ? {} : { 'x-sluice-trace-id': traceId },
    signal: AbortSignal.timeout(500),
  }).catch(() => undefined);
  if (response === undefined) return { status: 0, body: '', retryAfter: null };
  return {
    status: response.status,
    body: await response.text(),
    retryAfter: response.headers.get('retry-after'),
  };
}

beforeAll(async () => {
  site = await startDemoSite({
    faults: {
      seed: 'site-test',
      rates: { serverError: 0.25, throttle: 0.25, hang: 0.1, captcha: 0.1 },
      layoutChanged: (traceId) => traceId === CHANGED,
    },
  });
});

afterAll(async () => {
  await site.close();
});

describe('the demo site in fault mode', () => {
  it('serves requests without a trace ID as it always does', async () => {
    for (let page = 1; page <= 8; page += 1) {
      expect((await get(`/catalog/tools?page=${page}`)).status).toBe(200);
    }
  });

  it('fails a collector’s requests at the set rates with real answers: 5xx, 429 with Retry-After, hangs, captchas', async () => {
    for (let n = 0; n < 40; n += 1)
      await get(`/catalog/garden?page=${(n % 8) + 1}`, `${TRACE.slice(0, -2)}${String(n).padStart(2, '0')}`);
    const kinds = new Set(site.siteFaults?.injected().map((f) => f.kind));

    expect(kinds).toEqual(new Set(['server-error', 'throttle', 'hang', 'captcha']));
    const throttled = site.siteFaults?.injected().find((f) => f.kind === 'throttle');
    const again = await get(throttled?.path ?? '', throttled?.traceId);
    expect(again.status).not.toBe(0);
  });

  it('decides each request of a job by the seed: the n-th request of a path always meets the same fault', async () => {
    const before = site.siteFaults?.injected().length ?? 0;
    const statuses = [];
    for (let n = 0; n < 6; n += 1) statuses.push((await get('/exports/inventory/north.csv', TRACE)).status);
    const faults = site.siteFaults?.injected().slice(before) ?? [];

    const other = await startDemoSite({
      faults: { seed: 'site-test', rates: { serverError: 0.25, throttle: 0.25, hang: 0.1, captcha: 0.1 } },
    });
    try {
      const replayed = [];
      for (let n = 0; n < 6; n += 1) {
        const response = await fetch(`${other.origin}/exports/inventory/north.csv`, {
          headers: { 'x-sluice-trace-id': TRACE },
          signal: AbortSignal.timeout(500),
        }).catch(() => undefined);
        replayed.push(response?.status ?? 0);
      }
      expect(replayed).toEqual(statuses);
      expect(other.siteFaults?.injected().map((f) => [f.kind, f.nth])).toEqual(
        faults.map((f) => [f.kind, f.nth]),
      );
    } finally {
      await other.close();
    }
  });

  it('shows a job planned for a changed layout the new layout on every request', async () => {
    const pages = await Promise.all([
      get('/catalog/books?page=2', CHANGED),
      get('/api/v1/shipments?page=1', CHANGED),
      get('/exports/inventory/south.csv', CHANGED),
    ]);

    for (const page of pages) expect(page.status).toBe(200);
    expect(pages[0]?.body).not.toContain('class="product"');
    expect(pages[1]?.body).not.toContain('"data"');
    expect(pages[2]?.body).not.toContain('on_hand');
  });
});
