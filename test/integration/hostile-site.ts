/**
 * A hostile site for the collectors, as a deployed collector would meet it: the site has a public
 * name (`site.test`) that a DNS stand-in answers with a public address, and the collector's
 * connections to that address are sent to a local server. Every other name the resolver knows
 * answers the way an attacker's DNS would (loopback, metadata, private, IPv4-mapped, unique-local,
 * mixed), and a canary on loopback counts every connection that got through. None may.
 *
 * A fixed page answers `?status=<code>` and `?h-<name>=<value>` (a response header) on request.
 *
 * The names do not exist in any real DNS, so a page that loads proves its connection went to the
 * address the guard admitted, never to Chromium's own lookup.
 */
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, connect as netConnect, type Server as TcpServer } from 'node:net';
import type { ResolvedAddress, Resolver } from '../../functions/adapters/egress-guard.js';
import type { Connector } from '../../functions/adapters/egress-proxy.js';

/** The public address `site.test` resolves to; connections to it reach the local server. */
export const SITE_PUBLIC_ADDRESS = '93.184.216.34';

export function answer(address: string): readonly ResolvedAddress[] {
  return [{ address, family: address.includes(':') ? 6 : 4 }];
}

/** What the hostile DNS answers for each name; anything else does not resolve. */
export const HOSTILE_ANSWERS: { readonly [name: string]: readonly ResolvedAddress[] } = {
  'site.test': answer(SITE_PUBLIC_ADDRESS),
  'canary.test': answer('127.0.0.1'),
  'metadata.test': answer('169.254.169.254'),
  'private.test': answer('10.0.0.8'),
  'mapped.test': answer('::ffff:127.0.0.1'),
  // The EC2 instance metadata service over IPv6 (Nitro): a unique-local address.
  'ula.test': answer('fd00:ec2::254'),
  'mixed.test': [...answer('93.184.216.35'), ...answer('127.0.0.1')],
  'mixed-private.test': [...answer('93.184.216.35'), ...answer('10.0.0.8')],
  'mixed-ula.test': [...answer('2606:4700::1111'), ...answer('fd12:3456::1')],
};

export const hostileResolver: Resolver = async (hostname) => {
  const answers = HOSTILE_ANSWERS[hostname];
  if (answers === undefined) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  }
  return answers;
};

/** How a bomb route answers: a declared length, or chunked with no length. */
export type BombFraming = 'content-length' | 'chunked';

export interface HostileSite {
  readonly port: number;
  /** `http://site.test:<port>` */
  readonly origin: string;
  readonly canaryPort: number;
  /** Connections the canary accepted: every one is an escape. */
  canaryConnections(): number;
  /** Where the collector's proxy connected (`address:port`), in order. */
  readonly connectedTo: string[];
  /** Routes a collector's connections: the site's public address to the local server, nothing else. */
  readonly connector: Connector;
  /** Serves `html` at `path` (a fixed page). */
  page(path: string, html: string): void;
  /** Bytes the bomb at `key` has written so far. */
  bombBytesSent(key: string): number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, '<p>0123456789abcdef</p>\n');

/** Writes `total` bytes of HTML as fast as the client reads them; stops when it goes away. */
function bomb(res: ServerResponse, total: number, framing: BombFraming, sent: (n: number) => void): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    ...(framing === 'content-length' ? { 'content-length': String(total) } : {}),
  });
  let written = 0;
  const pump = () => {
    while (written < total && !res.destroyed) {
      const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, total - written));
      written += chunk.length;
      sent(chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (written >= total) res.end();
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

export async function startHostileSite(): Promise<HostileSite> {
  let canaryCount = 0;
  const canary: TcpServer = createTcpServer((socket) => {
    canaryCount += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  const canaryPort = (canary.address() as AddressInfo).port;

  const pages = new Map<string, string>();
  const bombs = new Map<string, number>();
  const server: Server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site.test');
    const key = url.searchParams.get('key') ?? 'no-key';
    switch (url.pathname) {
      case '/redirect':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      case '/refresh-header':
        res
          .writeHead(200, { 'content-type': 'text/html', refresh: `0; url=${url.searchParams.get('to')}` })
          .end('<p>moving on</p>');
        return;
      case '/download.bin':
        res
          .writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-disposition': 'attachment; filename="x.bin"',
          })
          .end(Buffer.alloc(1024));
        return;
      case '/sw.js':
      case '/worker.js':
        res
          .writeHead(200, { 'content-type': 'text/javascript' })
          .end(url.searchParams.get('body') ?? 'self.addEventListener("fetch", () => {});');
        return;
      case '/bomb': {
        const total = Number(url.searchParams.get('mib') ?? '64') * 1024 * 1024;
        const framing: BombFraming =
          url.searchParams.get('framing') === 'chunked' ? 'chunked' : 'content-length';
        bomb(res, total, framing, (n) => bombs.set(key, (bombs.get(key) ?? 0) + n));
        return;
      }
    }
    const html = pages.get(url.pathname);
    if (html === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such page');
      return;
    }
    const headers: { [name: string]: string } = { 'content-type': 'text/html; charset=utf-8' };
    for (const [name, value] of url.searchParams) if (name.startsWith('h-')) headers[name.slice(2)] = value;
    res.writeHead(Number(url.searchParams.get('status') ?? '200'), headers).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const connectedTo: string[] = [];
  const connector: Connector = (address, connectPort) => {
    connectedTo.push(`${address}:${connectPort}`);
    // Only the site's public address is "on the internet"; anything else the guard let through
    // would be connected to for real, and the canary would count it.
    return netConnect({ host: address === SITE_PUBLIC_ADDRESS ? '127.0.0.1' : address, port: connectPort });
  };

  return {
    port,
    origin: `http://site.test:${port}`,
    canaryPort,
    canaryConnections: () => canaryCount,
    connectedTo,
    connector,
    page: (path, html) => pages.set(path, html),
    bombBytesSent: (key) => bombs.get(key) ?? 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => canary.close(() => resolve()));
    },
  };
}
