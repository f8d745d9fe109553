/**
 * The egress guard at connect time, against real sockets: the browser's forward proxy (spoken to
 * directly, as Chromium speaks to it), the browser-wide deny-all proxy, and the HTTP collector's
 * undici dispatcher. A hostile resolver (injected) answers names with loopback, metadata, private
 * and IPv4-mapped addresses; a canary server on loopback counts every connection that got
 * through. None may. Hostile pages through the browser collector itself (popups, downloads,
 * every subresource kind) are in collection-hostile-site.test.ts.
 *
 * The names used here (`site.test`, `canary.test`, ...) do not exist in any real DNS: a page that
 * loads proves the connection went to the address the guard admitted, never to a second lookup.
 * Resolvers that change their answer between lookups stand in for DNS rebinding: each connection
 * is checked against the answer it will use, and a later, different answer is checked again.
 */

import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, connect as netConnect, type Socket } from 'node:net';
import type { Browser } from 'playwright-core';
import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { launchChromium } from '../../functions/adapters/browser-collector.js';
import {
  EgressGuard,
  guardedDispatcher,
  type ResolvedAddress,
  type Resolver,
} from '../../functions/adapters/egress-guard.js';
import { EGRESS_REFUSAL_HEADER, EgressProxy } from '../../functions/adapters/egress-proxy.js';
import { HttpCollector } from '../../functions/adapters/http-collector.js';
import { classifyFailure } from '../../functions/core/classify-failure.js';
import { defineSource, type HttpSourceDefinition } from '../../sources/define.js';

function defineHttp(definition: HttpSourceDefinition<{ path: string }>): HttpSourceDefinition {
  const defined = defineSource(definition);
  if (defined.kind !== 'http') throw new Error('expected an http source');
  return defined as HttpSourceDefinition;
}

let site: Server;
let sitePort: number;
let canary: ReturnType<typeof createTcpServer>;
let canaryPort: number;
let canaryConnections = 0;
let browser: Browser;
let denyAll: EgressProxy;

const pages = new Map<string, string>();

function answer(address: string): readonly ResolvedAddress[] {
  return [{ address, family: address.includes(':') ? 6 : 4 }];
}

/** A resolver that lies in all the ways an attacker's DNS would. */
const hostileResolver: Resolver = async (hostname) => {
  switch (hostname) {
    case 'site.test':
    case 'canary.test':
      return answer('127.0.0.1');
    case 'metadata.test':
      return answer('169.254.169.254');
    case 'private.test':
      return answer('10.0.0.8');
    case 'mapped.test':
      return answer('::ffff:127.0.0.1');
    case 'ula.test':
      // The EC2 instance metadata service over IPv6 (Nitro): a unique-local address.
      return answer('fd00:ec2::254');
    case 'mixed.test':
      return [...answer('93.184.216.34'), ...answer('127.0.0.1')];
    case 'mixed-private.test':
      return [...answer('93.184.216.34'), ...answer('10.0.0.8')];
    case 'mixed-ula.test':
      return [...answer('2606:4700::1111'), ...answer('fd12:3456::1')];
    default:
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  }
};

beforeAll(async () => {
  canary = createTcpServer((socket: Socket) => {
    canaryConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  canaryPort = (canary.address() as AddressInfo).port;

  site = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site.test').pathname;
    if (path === '/to-canary') {
      res.writeHead(302, { location: `http://canary.test:${canaryPort}/redirected` }).end();
      return;
    }
    const html = pages.get(path);
    if (html === undefined) {
      res.writeHead(404).end('no such page');
      return;
    }
    // A site that answers with the proxy's refusal header, to see that it never reaches Chromium.
    const forged = path === '/forged' ? { [EGRESS_REFUSAL_HEADER]: 'refused' } : {};
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...forged }).end(html);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  sitePort = (site.address() as AddressInfo).port;

  denyAll = await EgressProxy.start(new EgressGuard({ allowedHosts: new Set(), loopbackHosts: new Set() }));
  browser = await launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, denyAll.url);
});

afterAll(async () => {
  await browser?.close();
  await denyAll?.close();
  await new Promise<void>((resolve) => site?.close(() => resolve()));
  await new Promise<void>((resolve) => canary?.close(() => resolve()));
});

describe('Chromium outside a job context', () => {
  it('sends nothing outside a job context anywhere: the browser-wide proxy refuses everything', async () => {
    const before = canaryConnections;
    const context = await browser.newContext();
    const page = await context.newPage();

    const refused = await page.goto(`http://127.0.0.1:${canaryPort}/`);

    expect(refused?.status()).toBe(403);
    expect(denyAll.refusalMarkedBy(await refused?.headerValue(EGRESS_REFUSAL_HEADER))?.target).toBe(
      `http://127.0.0.1:${canaryPort}/`,
    );
    expect(canaryConnections - before).toBe(0);
    await context.close();
  });
});

/** Sends one absolute-form request through a proxy, the way Chromium does for plain http. */
function viaProxy(
  proxy: EgressProxy,
  target: string,
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const proxyUrl = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: proxyUrl.hostname,
        port: Number(proxyUrl.port),
        path: target,
        headers: { host: new URL(target).host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe("the proxy's refusal mark", () => {
  it("drops a site's own refusal header, and marks each refusal with an ID only the proxy knows", async () => {
    pages.set('/forged', '<p>served</p>');
    const policy = {
      allowedHosts: new Set([`site.test:${sitePort}`]),
      loopbackHosts: new Set([`site.test:${sitePort}`]),
    };
    const proxy = await EgressProxy.start(new EgressGuard(policy, hostileResolver));

    const served = await viaProxy(proxy, `http://site.test:${sitePort}/forged`);
    const refused = await viaProxy(proxy, `http://canary.test:${canaryPort}/`);
    await proxy.close();

    expect(served.status).toBe(200);
    expect(served.headers[EGRESS_REFUSAL_HEADER]).toBeUndefined();
    expect(refused.status).toBe(403);
    const mark = refused.headers[EGRESS_REFUSAL_HEADER];
    expect(proxy.refusalMarkedBy(typeof mark === 'string' ? mark : undefined)?.target).toBe(
      `http://canary.test:${canaryPort}/`,
    );
    expect(proxy.refusalMarkedBy('refused')).toBeUndefined();
  });
});

describe('the proxy connects to the address it checked', () => {
  it('asks the resolver once per connection and connects to that answer, not to a later one', async () => {
    pages.set('/rebind', '<p>served</p>');
    const answers = ['93.184.216.34', '127.0.0.1'];
    let lookups = 0;
    // DNS rebinding: a public answer for the check, loopback for whoever asks next.
    const rebinding: Resolver = async () => answer(answers[Math.min(lookups++, answers.length - 1)] ?? '');
    const connectedTo: string[] = [];
    const proxy = await EgressProxy.start(
      new EgressGuard(
        { allowedHosts: new Set([`rebind.test:${sitePort}`]), loopbackHosts: new Set() },
        rebinding,
      ),
      (address, port) => {
        connectedTo.push(address);
        // Stands in for the public host: the assertion is where the proxy asked to connect.
        return netConnect({ host: '127.0.0.1', port });
      },
    );

    const first = await viaProxy(proxy, `http://rebind.test:${sitePort}/rebind`);
    const second = await viaProxy(proxy, `http://rebind.test:${sitePort}/rebind`);
    await proxy.close();

    expect(first).toMatchObject({ status: 200, body: '<p>served</p>' });
    expect(second.status).toBe(403);
    expect(second.body).toContain('127.0.0.1, a loopback address');
    expect(connectedTo).toEqual(['93.184.216.34']);
    expect(lookups).toBe(2);
  });
});

/** Opens a CONNECT tunnel through a proxy; answers the proxy's status line and the socket. */
function connectVia(proxy: EgressProxy, target: string): Promise<{ status: string; socket: Socket }> {
  const proxyUrl = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: proxyUrl.hostname, port: Number(proxyUrl.port) }, () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    socket.once('data', (chunk: Buffer) =>
      resolve({ status: chunk.toString('latin1').split('\r\n')[0] ?? '', socket }),
    );
    socket.once('error', reject);
  });
}

describe('the proxy tunnels (https, websockets) to the address it checked', () => {
  it('opens a CONNECT tunnel to the first answer and refuses the next tunnel once the name rebinds', async () => {
    pages.set('/tunnelled', '<p>through the tunnel</p>');
    const answers = ['93.184.216.34', '169.254.169.254'];
    let lookups = 0;
    const rebinding: Resolver = async () => answer(answers[Math.min(lookups++, answers.length - 1)] ?? '');
    const connectedTo: string[] = [];
    const proxy = await EgressProxy.start(
      new EgressGuard(
        { allowedHosts: new Set([`rebind.test:${sitePort}`]), loopbackHosts: new Set() },
        rebinding,
      ),
      (address, port) => {
        connectedTo.push(address);
        // Stands in for the public host: the assertion is where the proxy asked to connect.
        return netConnect({ host: '127.0.0.1', port });
      },
    );

    const first = await connectVia(proxy, `rebind.test:${sitePort}`);
    first.socket.write(`GET /tunnelled HTTP/1.1\r\nHost: rebind.test\r\nConnection: close\r\n\r\n`);
    const through = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      first.socket.on('data', (c: Buffer) => chunks.push(c));
      first.socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const second = await connectVia(proxy, `rebind.test:${sitePort}`);
    second.socket.destroy();
    await proxy.close();

    expect(first.status).toBe('HTTP/1.1 200 Connection Established');
    expect(through).toContain('<p>through the tunnel</p>');
    expect(second.status).toBe('HTTP/1.1 403 Forbidden');
    expect(proxy.refusals.at(-1)?.reason).toContain('169.254.169.254, a linkLocal (cloud metadata) address');
    expect(connectedTo).toEqual(['93.184.216.34']);
    expect(lookups).toBe(2);
  });
});

describe("the proxy's CONNECT target", () => {
  it.each([
    ['a second port', (port: number) => `127.0.0.1:${port}:18099`],
    ['a second port on a name', (port: number) => `site.test:${port}:18099`],
    ['a path', (port: number) => `site.test:${port}/x`],
    ['userinfo', (port: number) => `user@site.test:${port}`],
    ['an unbracketed IPv6 address', (port: number) => `::1:${port}`],
    ['a port out of range', () => 'site.test:99999'],
  ])('refuses a target with %s before resolving or connecting anything', async (_, target) => {
    let lookups = 0;
    const connected: string[] = [];
    const proxy = await EgressProxy.start(
      new EgressGuard(
        {
          // Every spelling's "host:port" prefix is allowlisted: only the parser stands in the way.
          allowedHosts: new Set([`127.0.0.1:${sitePort}`, `site.test:${sitePort}`, `site.test`]),
          loopbackHosts: new Set([`127.0.0.1:${sitePort}`, `site.test:${sitePort}`]),
        },
        async (hostname) => {
          lookups += 1;
          return hostileResolver(hostname);
        },
      ),
      (address, port) => {
        connected.push(`${address}:${port}`);
        return netConnect({ host: address, port });
      },
    );

    const answer = await connectVia(proxy, target(sitePort));
    answer.socket.destroy();
    await proxy.close();

    expect(answer.status).toBe('HTTP/1.1 403 Forbidden');
    expect(proxy.refusals.at(-1)?.reason).toMatch(/egress blocked/);
    expect(lookups).toBe(0);
    expect(connected).toEqual([]);
  });
});

describe('the HTTP collector behind its guarded dispatcher', () => {
  const source = (host: string): HttpSourceDefinition =>
    defineHttp({
      name: 'egress-test',
      title: 'egress test',
      description: 'egress test',
      kind: 'http',
      input: z.object({ path: z.string() }),
      owners: { collection: 'x', transformation: 'x', dataStore: 'x', businessRules: 'x' },
      freshnessSlaMinutes: 60,
      dedupeWindowSeconds: 60,
      retry: { delaysSeconds: [] },
      maxConcurrency: 2,
      batchSize: 1,
      origin: `http://${host}`,
      allowedHosts: [host],
      workflow: {
        steps: [{ id: 'fetch', does: 'fetch the path', owner: 'collection', stage: 'collect' }],
        failurePoints: [
          { step: 'fetch', failure: 'egress refused', reasons: ['egress-blocked'], handling: 'dead-letter' },
        ],
        decisions: [],
      },
      request: (input) => ({ path: input.path, accept: 'text/html' }),
    });

  it('refuses a host that resolves to loopback and never connects to it', async () => {
    pages.set('/plain', '<p>plain</p>');
    const before = canaryConnections;
    const collector = new HttpCollector({
      timeoutMs: 5_000,
      maxBodyBytes: 1024 * 1024,
      maxRedirects: 3,
      userAgent: 'sluice-test',
      originOverrides: {},
      resolver: hostileResolver,
    });

    const failure = await collector
      .collect(source(`canary.test:${canaryPort}`), {
        input: { path: '/plain' },
        traceId: 'trace-egress-1',
        jobKey: 'k-1',
      })
      .catch((e: unknown) => e);

    const classified = classifyFailure(failure);
    expect(classified).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(classified.message).toContain('127.0.0.1, a loopback address');
    expect(canaryConnections - before).toBe(0);
  });

  it('connects to the admitted address: a name no DNS knows is served, and re-checked per connection', async () => {
    pages.set('/plain', '<p>plain</p>');
    let answers = ['127.0.0.1'];
    const resolver: Resolver = async () => answer(answers[0] ?? '');
    const allowance = {
      allowedHosts: new Set([`site.test:${sitePort}`]),
      loopbackHosts: new Set([`site.test:${sitePort}`]),
    };
    const first = guardedDispatcher(new EgressGuard(allowance, resolver), {
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
    });

    const served = await undiciFetch(`http://site.test:${sitePort}/plain`, { dispatcher: first });
    answers = ['10.0.0.9'];
    const second = guardedDispatcher(new EgressGuard(allowance, resolver), {
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
    });
    const refused = await undiciFetch(`http://site.test:${sitePort}/plain`, { dispatcher: second }).catch(
      (e: unknown) => e,
    );
    await first.destroy();
    await second.destroy();

    expect(await served.text()).toBe('<p>plain</p>');
    expect(classifyFailure(refused).message).toContain('10.0.0.9, a private address');
  });

  it.each([
    ['metadata.test', '169.254.169.254, a linkLocal (cloud metadata) address'],
    ['private.test', '10.0.0.8, a private address'],
    ['ula.test', 'fd00:ec2::254, a uniqueLocal address'],
    ['mapped.test', '::ffff:127.0.0.1, a ipv4Mapped address'],
    ['mixed.test', '127.0.0.1, a loopback address'],
    ['mixed-private.test', '10.0.0.8, a private address'],
    ['mixed-ula.test', 'fd12:3456::1, a uniqueLocal address'],
  ])('refuses %s, whose answers are not all public, and never connects', async (name, why) => {
    const host = name.startsWith('mapped') || name === 'mixed.test' ? `${name}:${canaryPort}` : name;
    const before = canaryConnections;
    const collector = new HttpCollector({
      timeoutMs: 5_000,
      maxBodyBytes: 1024 * 1024,
      maxRedirects: 3,
      userAgent: 'sluice-test',
      originOverrides: {},
      resolver: hostileResolver,
    });

    const failure = await collector
      .collect(source(host), {
        input: { path: '/latest/meta-data/' },
        traceId: 'trace-egress-2',
        jobKey: 'k-2',
      })
      .catch((e: unknown) => e);

    expect(classifyFailure(failure)).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(classifyFailure(failure).message).toContain(why);
    expect(canaryConnections - before).toBe(0);
  });

  it('checks each new connection of one dispatcher against the answer it uses: a name that rebinds is refused', async () => {
    pages.set('/plain', '<p>plain</p>');
    let lookups = 0;
    // Loopback (allowed for this name, like the demo site) for the first lookup, then private.
    const rebinding: Resolver = async () => answer(lookups++ === 0 ? '127.0.0.1' : '10.0.0.9');
    const dispatcher = guardedDispatcher(
      new EgressGuard(
        {
          allowedHosts: new Set([`site.test:${sitePort}`]),
          loopbackHosts: new Set([`site.test:${sitePort}`]),
        },
        rebinding,
      ),
      { connectTimeoutMs: 5_000, headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 },
    );

    // `reset` closes the connection after the response, so the next request needs a new one.
    const first = await undiciRequest(`http://site.test:${sitePort}/plain`, { dispatcher, reset: true });
    const firstBody = await first.body.text();
    const second = await undiciRequest(`http://site.test:${sitePort}/plain`, { dispatcher }).catch(
      (e: unknown) => e,
    );
    await dispatcher.destroy();

    expect(firstBody).toBe('<p>plain</p>');
    expect(classifyFailure(second)).toMatchObject({ reason: 'egress-blocked' });
    expect(classifyFailure(second).message).toContain('10.0.0.9, a private address');
    expect(lookups).toBe(2);
  });

  it('follows a redirect only to an address it checked: an allowlisted name on loopback is refused', async () => {
    const before = canaryConnections;
    const dispatcher = guardedDispatcher(
      new EgressGuard(
        {
          allowedHosts: new Set([`site.test:${sitePort}`, `canary.test:${canaryPort}`]),
          loopbackHosts: new Set([`site.test:${sitePort}`]),
        },
        hostileResolver,
      ),
      { connectTimeoutMs: 5_000, headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 },
    );

    const followed = await undiciFetch(`http://site.test:${sitePort}/to-canary`, { dispatcher }).catch(
      (e: unknown) => e,
    );
    await dispatcher.destroy();

    expect(classifyFailure(followed)).toMatchObject({ name: 'PermanentError', reason: 'egress-blocked' });
    expect(classifyFailure(followed).message).toContain(`canary.test:${canaryPort} resolves to 127.0.0.1`);
    expect(canaryConnections - before).toBe(0);
  });
});
