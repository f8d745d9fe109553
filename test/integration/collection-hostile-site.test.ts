/**
 * The browser collector itself against a hostile site (test/integration/hostile-site.ts): every
 * case runs through `BrowserCollector.collect`, as a deployed collector runs it — no origin
 * override, no loopback allowance, the job's own context, proxy, popups and download policy. The
 * site's name resolves to a public address that only the collector's proxy connects to; every
 * other name resolves the way an attacker's DNS would, and a canary on loopback counts escapes.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BrowserCollector,
  type BrowserCollectorOptions,
  BrowserSession,
  DEFAULT_MAX_JOB_BYTES,
  launchChromium,
} from '../../functions/adapters/browser-collector.js';
import { SCREENSHOT_LIMIT } from '../../functions/adapters/browser-snapshots.js';
import type { Resolver } from '../../functions/adapters/egress-guard.js';
import { classifyFailure } from '../../functions/core/classify-failure.js';
import type { Collection } from '../../functions/core/collection.js';
import { SCRATCH_DIR } from '../../local/paths.js';
import type { BrowserSourceDefinition } from '../../sources/define.js';
import { demoFaultsBrowser } from '../../sources/demo-faults-browser/source.js';
import {
  answer,
  type HostileSite,
  hostileResolver,
  SITE_PUBLIC_ADDRESS,
  startHostileSite,
} from './hostile-site.js';

let site: HostileSite;
let browsers: BrowserSession;
// Chromium's scratch files, downloads included, go here: a download saved anywhere would show.
const scratch = join(SCRATCH_DIR, `hostile-${process.pid}`);
const originalTmp = process.env.TMPDIR;

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  process.env.TMPDIR = scratch;
  site = await startHostileSite();
  browsers = new BrowserSession((proxyUrl) =>
    launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
  );
});

afterAll(async () => {
  await browsers?.close();
  await site?.close();
  // Assigning undefined would set the string "undefined": a later Chromium would unpack there.
  if (originalTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = originalTmp;
  rmSync(scratch, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** Every file in Playwright's artifact folders (where an accepted download would be saved). */
function savedDownloads(): string[] {
  return readdirSync(scratch)
    .filter((dir) => dir.startsWith('playwright-artifacts-'))
    .flatMap((dir) => readdirSync(join(scratch, dir)).map((file) => join(dir, file)));
}

/** A browser source on the hostile site whose allowlist holds every hostile name: only the address check stands in the way. */
function hostileSource(): BrowserSourceDefinition {
  if (demoFaultsBrowser.kind !== 'browser') throw new Error('demo-faults-browser is a browser source');
  return {
    ...(demoFaultsBrowser as BrowserSourceDefinition),
    name: 'hostile-site',
    origin: site.origin,
    allowedHosts: [
      `site.test:${site.port}`,
      `canary.test:${site.canaryPort}`,
      'metadata.test',
      'private.test',
      `mapped.test:${site.canaryPort}`,
      `mixed.test:${site.canaryPort}`,
      'ula.test',
      'mixed-private.test',
      'mixed-ula.test',
    ],
    // Load every resource type, so every kind of subresource meets the guard.
    blockedResources: [],
  };
}

function collector(options: Partial<BrowserCollectorOptions> = {}): BrowserCollector {
  return new BrowserCollector(browsers, {
    navigationTimeoutMs: 10_000,
    stepTimeoutMs: 4_000,
    jobTimeoutMs: 40_000,
    originOverrides: {},
    userAgent: 'sluice-hostile-test',
    resolver: hostileResolver,
    connector: site.connector,
    ...options,
  });
}

let jobs = 0;
function collect(path: string, using = collector()): Promise<Collection> {
  jobs += 1;
  return using.collect(hostileSource(), {
    input: { path },
    traceId: `trace-hostile-${jobs}`,
    jobKey: `k-hostile-${jobs}`,
  });
}

/** What a failed job was classified as: its class name, reason and message. */
async function failureOf(path: string, using = collector()) {
  const failure = await collect(path, using).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (failure === undefined) throw new Error(`${path} was collected; a failure was expected`);
  return classifyFailure(failure);
}

const ConsoleReport = z
  .object({
    refusedRequests: z.array(z.object({ url: z.string(), reason: z.string() })),
    egressProxyRefusals: z.array(z.object({ target: z.string(), reason: z.string() })),
    refusedDownloads: z.array(z.string()),
  })
  .loose();

function consoleOf(collection: Collection): z.infer<typeof ConsoleReport> {
  const artifact = collection.artifacts.find((a) => a.name === 'console.json');
  return ConsoleReport.parse(JSON.parse(artifact?.body.toString('utf8') ?? '{}'));
}

function renderedOf(collection: Collection): string {
  return collection.artifacts.find((a) => a.name === 'rendered.html')?.body.toString('utf8') ?? '';
}

/** Every connection the collector made went to the site's public address. */
function expectOnlyTheSite(): void {
  expect(site.connectedTo.filter((target) => target !== `${SITE_PUBLIC_ADDRESS}:${site.port}`)).toEqual([]);
}

/** A page that is ready once `script` (which sets `done(results)`) has finished. */
function readyAfter(script: string, extra = ''): string {
  return `<!doctype html><body><main></main>${extra}
    <script>
      const done = (results) => {
        const main = document.querySelector('main');
        main.dataset.results = results.join(',');
        main.dataset.ready = 'true';
      };
      ${script}
    </script></body>`;
}

describe('the browser collector on a hostile site', () => {
  it('loads an allowed page through the address the guard admitted, never its own DNS', async () => {
    site.page('/hello', '<main data-ready="true"><p id="hello">hello</p></main>');

    const collection = await collect('/hello');

    expect(collection.response.status).toBe(200);
    expect(renderedOf(collection)).toContain('<p id="hello">hello</p>');
    expect(consoleOf(collection).egressProxyRefusals).toEqual([]);
    expect(site.connectedTo).toContain(`${SITE_PUBLIC_ADDRESS}:${site.port}`);
    expectOnlyTheSite();
  });

  it('refuses every way a page reaches an allowlisted name that resolves to loopback, and still collects it', async () => {
    const canary = `canary.test:${site.canaryPort}`;
    const before = site.canaryConnections();
    site.page(
      '/escape',
      readyAfter(
        `
        const refused = (promise) => promise.then(() => 'reached', () => 'refused');
        const event = (make) => new Promise((resolve) => {
          const target = make();
          target.onerror = () => { target.close?.(); resolve('refused'); };
          target.onopen = () => resolve('reached');
        });
        const attempts = [
          refused(fetch('http://${canary}/fetch')),
          refused(fetch('https://${canary}/tls')),
          new Promise((resolve) => {
            const xhr = new XMLHttpRequest();
            xhr.open('GET', 'http://${canary}/xhr');
            xhr.onload = () => resolve('reached');
            xhr.onerror = () => resolve('refused');
            xhr.send();
          }),
          event(() => new EventSource('http://${canary}/events')),
          event(() => new WebSocket('ws://${canary}/ws')),
          navigator.serviceWorker
            ? refused(navigator.serviceWorker.register('/sw.js'))
            : Promise.resolve('refused'),
          new Promise((resolve) => {
            const worker = new Worker('/worker.js?body=' + encodeURIComponent(
              "fetch('http://${canary}/from-worker').then(() => postMessage('reached'), () => postMessage('refused'))"));
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = () => resolve('refused');
          }),
        ];
        navigator.sendBeacon('http://${canary}/beacon', 'x');
        window.open('http://${canary}/popup');
        document.getElementById('download').click();
        Promise.all(attempts).then(done);
        `,
        `<iframe src="http://${canary}/iframe"></iframe>
        <img src="http://${canary}/img.png">
        <script src="http://${canary}/script.js"></script>
        <a id="download" href="/download.bin" download>download</a>`,
      ),
    );

    const collection = await collect('/escape');

    expect(renderedOf(collection)).toContain(
      'data-results="refused,refused,refused,refused,refused,refused,refused"',
    );
    const targets = consoleOf(collection).egressProxyRefusals.map((r) => r.target);
    for (const path of [
      '/iframe',
      '/img.png',
      '/script.js',
      '/fetch',
      '/xhr',
      '/events',
      '/beacon',
      '/popup',
      '/from-worker',
    ]) {
      expect(targets.some((t) => t.endsWith(path))).toBe(true);
    }
    // The https fetch and the websocket both ask for a CONNECT tunnel.
    expect(targets.filter((t) => t === `https://${canary}`).length).toBeGreaterThanOrEqual(1);
    expect(
      consoleOf(collection).egressProxyRefusals.every((r) =>
        r.reason.includes('127.0.0.1, a loopback address'),
      ),
    ).toBe(true);
    expect(site.canaryConnections() - before).toBe(0);
    expectOnlyTheSite();
  });

  it('saves no download anywhere: a download link the page clicks is refused, and the page is collected', async () => {
    site.page(
      '/download-link',
      readyAfter(
        `document.getElementById('d').click(); setTimeout(() => done(['clicked']), 500);`,
        '<a id="d" href="/download.bin" download>x</a>',
      ),
    );
    // A context deletes its downloads when it closes: look while the job runs.
    const saved = new Set<string>();
    const watch = setInterval(() => {
      for (const file of savedDownloads()) saved.add(file);
    }, 10);

    const collection = await collect('/download-link').finally(() => clearInterval(watch));

    expect(renderedOf(collection)).toContain('data-results="clicked"');
    expect([...saved]).toEqual([]);
    expect(consoleOf(collection).refusedDownloads).toEqual([`${site.origin}/download.bin`]);
  });

  it('blocks service workers, even for a page in a secure context', async () => {
    // Service workers need a secure context, and a page on `localhost` is one by its name alone;
    // the hostile DNS sends the name to the site's public address.
    const resolver: Resolver = async (hostname) =>
      hostname === 'localhost' ? answer(SITE_PUBLIC_ADDRESS) : hostileResolver(hostname);
    const source = {
      ...hostileSource(),
      origin: `http://localhost:${site.port}`,
      allowedHosts: [`localhost:${site.port}`],
    };
    site.page(
      '/service-worker',
      readyAfter(`
        const report = (outcome) => done([window.isSecureContext, outcome]);
        if (!navigator.serviceWorker) report('no-api');
        else navigator.serviceWorker.register('/sw.js')
          .then(() => navigator.serviceWorker.getRegistrations())
          .then((registrations) => report(registrations.length === 0 ? 'none-registered' : 'registered'), () => report('refused'));`),
    );

    const collection = await collector({ resolver }).collect(source, {
      input: { path: '/service-worker' },
      traceId: 'trace-hostile-sw',
      jobKey: 'k-sw',
    });

    expect(renderedOf(collection)).toMatch(/data-results="true,(none-registered|refused)"/);
  });

  it('dead-letters a job whose page is a download as download-blocked', async () => {
    expect(await failureOf('/download.bin')).toMatchObject({
      name: 'PermanentError',
      reason: 'download-blocked',
    });
  });

  it('dead-letters a page that turns into a download while it loads as download-blocked, without retrying', async () => {
    site.page(
      '/download-on-load',
      readyAfter(`location.href = '/download.bin'; setTimeout(() => done(['still here']), 300);`),
    );

    // The page is given one navigation timeout, kept short here.
    expect(await failureOf('/download-on-load', collector({ navigationTimeoutMs: 4_000 }))).toMatchObject({
      name: 'PermanentError',
      reason: 'download-blocked',
    });
  });

  it('collects a page whose popups (window.open, a target=_blank link, a target=_blank form) leave the allowlist, refusing each', async () => {
    const before = site.canaryConnections();
    site.page(
      '/popups',
      readyAfter(
        `window.open('http://169.254.169.254/latest/meta-data/');
        document.getElementById('link').click();
        document.getElementById('form').submit();
        setTimeout(() => done(['opened']), 500);`,
        `<a id="link" href="http://10.0.0.1/popup" target="_blank">x</a>
        <form id="form" action="http://127.0.0.1:${site.canaryPort}/form" method="post" target="_blank">
          <input name="q" value="1">
        </form>`,
      ),
    );

    const collection = await collect('/popups');

    expect(renderedOf(collection)).toContain('data-results="opened"');
    const refused = consoleOf(collection).refusedRequests.map((r) => r.url);
    expect(refused).toEqual(
      expect.arrayContaining([
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/popup',
        `http://127.0.0.1:${site.canaryPort}/form`,
      ]),
    );
    expect(site.canaryConnections() - before).toBe(0);
    expectOnlyTheSite();
  });

  it('collects a page whose popup stays on the allowlist', async () => {
    site.page('/popup-target', '<main data-ready="true">popup</main>');
    site.page(
      '/popup-allowed',
      readyAfter(`window.open('/popup-target'); setTimeout(() => done(['opened']), 300);`),
    );

    const collection = await collect('/popup-allowed');

    expect(renderedOf(collection)).toContain('data-results="opened"');
    expect(consoleOf(collection).refusedRequests).toEqual([]);
  });

  it('sends no UDP past the proxy: WebRTC cannot reach an address the guard never saw', async () => {
    const udp = createSocket('udp4');
    let datagrams = 0;
    udp.on('message', () => {
      datagrams += 1;
    });
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    site.page(
      '/webrtc',
      readyAfter(`
        const peer = new RTCPeerConnection({ iceServers: [{ urls: 'stun:127.0.0.1:${udp.address().port}' }] });
        peer.createDataChannel('x');
        const candidates = [];
        peer.onicecandidate = (e) => { if (e.candidate) candidates.push(encodeURIComponent(e.candidate.candidate)); };
        peer.onicegatheringstatechange = () => { if (peer.iceGatheringState === 'complete') done(candidates); };
        peer.createOffer().then((offer) => peer.setLocalDescription(offer));`),
    );

    const collection = await collect('/webrtc');
    await new Promise<void>((resolve) => udp.close(() => resolve()));

    // ICE gathering is over: a STUN request would have been sent by now.
    expect(datagrams).toBe(0);
    const results = /data-results="([^"]*)"/.exec(renderedOf(collection))?.[1] ?? '';
    const candidates = results === '' ? [] : results.split(',').map(decodeURIComponent);
    expect(candidates.filter((c) => / udp /i.test(c) && !/\.local /.test(c))).toEqual([]);
  });

  it.each([
    ['metadata.test', '169.254.169.254, a linkLocal (cloud metadata) address'],
    ['private.test', '10.0.0.8, a private address'],
    ['ula.test', 'fd00:ec2::254, a uniqueLocal address'],
    ['mixed-private.test', '10.0.0.8, a private address'],
    ['mixed-ula.test', 'fd12:3456::1, a uniqueLocal address'],
  ])('refuses a frame on %s', async (host, why) => {
    site.page(
      `/frame-${host}`,
      `<main data-ready="true"><iframe src="http://${host}/latest/"></iframe></main>`,
    );

    const collection = await collect(`/frame-${host}`);

    const refusal = consoleOf(collection).egressProxyRefusals.find((r) =>
      r.target.startsWith(`http://${host}/`),
    );
    expect(refusal?.reason).toContain(why);
    expectOnlyTheSite();
  });

  it('refuses an IPv4-mapped IPv6 answer, and a mixed answer with one loopback address', async () => {
    const before = site.canaryConnections();
    site.page(
      '/mapped',
      readyAfter(`Promise.all([
          fetch('http://mapped.test:${site.canaryPort}/').then(() => 'reached', () => 'refused'),
          fetch('http://mixed.test:${site.canaryPort}/').then(() => 'reached', () => 'refused'),
        ]).then(done);`),
    );

    const collection = await collect('/mapped');

    const reasons = consoleOf(collection).egressProxyRefusals.map((r) => r.reason);
    expect(reasons.some((r) => r.includes('::ffff:127.0.0.1, a ipv4Mapped address'))).toBe(true);
    expect(reasons.some((r) => r.includes('mixed.test') && r.includes('127.0.0.1, a loopback address'))).toBe(
      true,
    );
    expect(site.canaryConnections() - before).toBe(0);
    expectOnlyTheSite();
  });

  it("refuses a job's first request to an allowlisted name that resolves to the metadata service", async () => {
    const using = collector();
    const source = { ...hostileSource(), origin: 'http://metadata.test' };

    const failure = await using
      .collect(source, {
        input: { path: '/latest/meta-data/iam/' },
        traceId: 'trace-hostile-md',
        jobKey: 'k-md',
      })
      .catch((error: unknown) => error);

    expect(classifyFailure(failure)).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(classifyFailure(failure).message).toContain(
      '169.254.169.254, a linkLocal (cloud metadata) address',
    );
  });

  it.each([
    ['an allowlisted name on loopback', (canaryPort: number) => `http://canary.test:${canaryPort}/`],
    ['the metadata service by an allowlisted name', () => 'http://metadata.test/latest/meta-data/'],
    ['loopback by address', (canaryPort: number) => `http://127.0.0.1:${canaryPort}/`],
    ['loopback in hex', (canaryPort: number) => `http://0x7f000001:${canaryPort}/`],
    ['loopback as one decimal number', (canaryPort: number) => `http://2130706433:${canaryPort}/`],
    ['loopback shortened', (canaryPort: number) => `http://127.1:${canaryPort}/`],
    ['IPv6 loopback', (canaryPort: number) => `http://[::1]:${canaryPort}/`],
    ['IPv4-mapped loopback', (canaryPort: number) => `http://[::ffff:7f00:1]:${canaryPort}/`],
    ['the unspecified address', (canaryPort: number) => `http://0.0.0.0:${canaryPort}/`],
    ['localhost', (canaryPort: number) => `http://localhost:${canaryPort}/`],
    ['the metadata service by address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a file', () => 'file:///etc/passwd'],
  ])('dead-letters a redirect to %s as egress-blocked, and connects to nothing', async (_, target) => {
    const before = site.canaryConnections();

    const failure = await failureOf(`/redirect?to=${encodeURIComponent(target(site.canaryPort))}`);

    expect(failure).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(site.canaryConnections() - before).toBe(0);
    expectOnlyTheSite();
  });

  it.each([
    [
      'a meta refresh off the allowlist',
      'meta',
      () => 'http://169.254.169.254/latest/meta-data/',
      'not on the source',
    ],
    ['a script navigation off the allowlist', 'script', () => 'http://10.0.0.1/admin', 'not on the source'],
    [
      'a Refresh header off the allowlist',
      'header',
      (port: number) => `http://127.0.0.1:${port}/`,
      'not on the source',
    ],
    [
      'a meta refresh to an allowlisted name on the metadata service',
      'meta',
      () => 'http://metadata.test/latest/',
      'linkLocal (cloud metadata)',
    ],
    [
      'a script navigation to an allowlisted name on loopback',
      'script',
      (port: number) => `http://canary.test:${port}/`,
      'a loopback address',
    ],
    [
      'a script navigation over https to an allowlisted name on loopback',
      'script',
      (port: number) => `https://canary.test:${port}/`,
      'a loopback address',
    ],
  ])('dead-letters %s as egress-blocked, not as a changed layout', async (_, how, target, why) => {
    const to = target(site.canaryPort);
    const path = `/navigate-away-${how}-${encodeURIComponent(to)}`;
    if (how === 'meta') site.page(path, `<meta http-equiv="refresh" content="0; url=${to}"><p>moving</p>`);
    if (how === 'script')
      site.page(path, `<p>moving</p><script>location.href = ${JSON.stringify(to)};</script>`);
    const before = site.canaryConnections();

    const failure = await failureOf(how === 'header' ? `/refresh-header?to=${encodeURIComponent(to)}` : path);

    expect(failure).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(failure.message).toContain(why);
    expect(site.canaryConnections() - before).toBe(0);
    expectOnlyTheSite();
  });

  it("collects a page that carries the proxy's refusal header itself: a site cannot forge a refusal", async () => {
    site.page('/forged', '<main data-ready="true">nothing was refused</main>');

    const collection = await collect('/forged?h-x-sluice-egress-refused=refused');

    expect(collection.response.status).toBe(200);
    expect(renderedOf(collection)).toContain('nothing was refused');
  });

  it("reports a site's own 403 with a forged refusal header as the 403 it is", async () => {
    site.page('/forged-403', '<p>forbidden</p>');

    const failure = await failureOf('/forged-403?status=403&h-x-sluice-egress-refused=refused');

    expect(failure).toMatchObject({ name: 'PermanentError', reason: 'http-403' });
  });

  it.each(['http', 'https'])(
    'retries a job whose allowlisted name does not resolve (%s): a DNS outage is not a refusal',
    async (scheme) => {
      const source = {
        ...hostileSource(),
        origin: `${scheme}://nowhere.test`,
        allowedHosts: ['nowhere.test'],
      };

      const failure = await collector()
        .collect(source, {
          input: { path: '/' },
          traceId: `trace-hostile-dns-${scheme}`,
          jobKey: `k-dns-${scheme}`,
        })
        .catch((error: unknown) => error);

      expect(classifyFailure(failure)).toMatchObject({ name: 'TransientError' });
      expect(classifyFailure(failure).message).not.toContain('egress blocked');
    },
  );

  describe('a body bomb', () => {
    const MIB = 1024 * 1024;

    // Chromium reads a document only as fast as it parses it (seconds for 20 MiB of markup): a
    // smaller limit keeps the chunked case well inside the navigation timeout. The declared
    // 200 MiB is refused at its headers, under the default limit.
    it.each([
      ['64 MiB chunked', 64, 'chunked', 4 * MIB],
      ['200 MiB with a Content-Length', 200, 'content-length', DEFAULT_MAX_JOB_BYTES],
    ] as const)(
      'dead-letters a %s page as body-too-large, and stops reading it',
      async (_, mib, framing, limit) => {
        const key = `bomb-${framing}`;
        const rssBefore = process.memoryUsage().rss;

        const failure = await failureOf(
          `/bomb?mib=${mib}&framing=${framing}&key=${key}`,
          collector({ maxJobBytes: limit }),
        );

        console.log(
          `${mib} MiB ${framing} bomb: the site sent ${(site.bombBytesSent(key) / MIB).toFixed(1)} MiB; ` +
            `collector RSS ${((process.memoryUsage().rss - rssBefore) / MIB).toFixed(0)} MiB more than before`,
        );
        expect(failure).toMatchObject({ name: 'PermanentError', reason: 'body-too-large' });
        expect(failure.message).toContain(`${limit}-byte limit`);
        // The connection was cut: the site could not send it all. (What it sent past the limit
        // sat in loopback's socket buffers, which autotune to tens of MiB.)
        expect(site.bombBytesSent(key)).toBeLessThan(mib * MIB);
      },
    );

    it('dead-letters a page whose script downloads a bomb as body-too-large', async () => {
      site.page(
        '/bomb-by-fetch',
        readyAfter(
          `fetch('/bomb?mib=200&framing=chunked&key=bomb-fetch').then((r) => r.arrayBuffer()).then(() => done(['read']), () => done(['cut']));`,
        ),
      );

      const failure = await failureOf('/bomb-by-fetch');

      expect(failure).toMatchObject({ name: 'PermanentError', reason: 'body-too-large' });
      expect(site.bombBytesSent('bomb-fetch')).toBeLessThan(200 * MIB);
    });

    it('collects a page that stays under the limit', async () => {
      // Bytes, not pixels: a comment is not rendered, so the screenshot stays small.
      site.page('/big-page', `<main data-ready="true">big</main><!-- ${'x'.repeat(2 * MIB)} -->`);

      const collection = await collect('/big-page');

      expect(collection.artifacts.find((a) => a.name === 'response.html')?.body.length).toBeGreaterThan(
        2 * MIB,
      );
    });
  });

  describe('a page that renders far past any screenshot', () => {
    /** A PNG's width and height, from its IHDR chunk. */
    const pngSize = (png: Buffer | undefined) => ({
      width: png?.readUInt32BE(16) ?? 0,
      height: png?.readUInt32BE(20) ?? 0,
    });

    it.each([
      ['one 2 MiB line of text', `<p style="white-space:nowrap">${'wide '.repeat(400_000)}</p>`],
      ['a million pixels tall', '<div style="height:1000000px;background:linear-gradient(red,blue)"></div>'],
    ])('collects %s, photographed from its top-left corner up to the screenshot limit', async (_, body) => {
      const path = `/render-bomb-${body.length}`;
      site.page(path, `<main data-ready="true">render bomb</main>${body}`);

      // The deployed step timeout (READY_TIMEOUT_MS): laying out 2 MiB of text takes seconds on
      // a loaded machine. Without the limit the screenshot is still too large (the size checks).
      const collection = await collect(path, collector({ stepTimeoutMs: 15_000 }));

      const size = pngSize(collection.artifacts.find((a) => a.name === 'screenshot.png')?.body);
      expect(size.width).toBeGreaterThan(0);
      expect(size.width).toBeLessThanOrEqual(SCREENSHOT_LIMIT.width);
      expect(size.height).toBeGreaterThan(0);
      expect(size.height).toBeLessThanOrEqual(SCREENSHOT_LIMIT.height);
      expect(renderedOf(collection)).toContain('render bomb');
    });
  });

  it('checks every request again: a name that rebinds to a private address after the first fetch is refused', async () => {
    site.page(
      '/rebinding',
      readyAfter(`fetch('/data').then((r) => done([r.status]), () => done(['refused']));`),
    );
    site.page('/data', 'first');
    let lookups = 0;
    // The site's public address once, then a private one.
    const rebinding: Resolver = async (hostname) =>
      hostname === 'site.test'
        ? answer(lookups++ === 0 ? SITE_PUBLIC_ADDRESS : '10.0.0.9')
        : hostileResolver(hostname);

    const collection = await collect('/rebinding', collector({ resolver: rebinding }));

    expect(renderedOf(collection)).toContain('data-results="403"');
    const refusal = consoleOf(collection).egressProxyRefusals.find((r) => r.target.endsWith('/data'));
    expect(refusal?.reason).toContain('10.0.0.9, a private address');
    expectOnlyTheSite();
  });
});
