/**
 * A forward proxy inside the collector process that every connection of a browser job goes
 * through: documents, redirects, subresources, iframes, popups, fetches and websockets (Chromium
 * sends websockets and https as CONNECT, plain http as absolute-URI requests). Each connection is
 * admitted by the job's EgressGuard and made to the address the guard checked, so Chromium never
 * resolves a name itself and route interception's blind spot — the resolved address — is covered.
 *
 * One listener per job (its own loopback port and policy), closed with the job's context.
 * Playwright proxies loopback too (`<-loopback>` in the bypass list), so nothing skips it.
 */

import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { EgressBlockedError } from '../core/egress.js';
import type { EgressGuard } from './egress-guard.js';

/** Opens a TCP connection; injectable so tests can see where the proxy connects. */
export type Connector = (address: string, port: number) => Socket;

const defaultConnector: Connector = (address, port) => netConnect({ host: address, port });

/** Headers that describe one hop and are not forwarded (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The response header that marks a refusal, so the collector can tell it from the site's own 403.
 * Its value is the refusal's ID, unguessable and known only to this proxy, and the same header in
 * a site's answer is dropped: a site cannot make the collector believe something was refused.
 */
export const EGRESS_REFUSAL_HEADER = 'x-sluice-egress-refused';

/**
 * The response header that marks the proxy's own 502: the guard admitted nothing because the
 * name did not resolve, or the admitted address did not answer. Network trouble, not a refusal.
 */
export const EGRESS_UNREACHABLE_HEADER = 'x-sluice-egress-unreachable';

/** Headers only the proxy may set; a site's own copies are dropped. */
const PROXY_HEADERS = new Set([EGRESS_REFUSAL_HEADER, EGRESS_UNREACHABLE_HEADER]);

/** A target the proxy could not reach (DNS, connect): transient, unlike a refusal. */
export interface ProxyUnreachable {
  readonly target: string;
  /** The system error code when there was one (`ENOTFOUND`, `ECONNREFUSED`, ...). */
  readonly code: string;
  readonly reason: string;
  readonly id: string;
}

export interface ProxyRefusal {
  /** The URL (plain http) or `https://host:port` (CONNECT) that was refused. */
  readonly target: string;
  readonly reason: string;
  /** What the refusal's response carried in EGRESS_REFUSAL_HEADER. */
  readonly id: string;
}

/** The job received more than its limit, all responses together. */
export interface ReceiveLimitExceeded {
  readonly limit: number;
  /** The URL (plain http) or `https://host:port` (a tunnel) whose bytes crossed it. */
  readonly target: string;
}

export class EgressProxy {
  readonly refusals: ProxyRefusal[] = [];
  readonly unreachable: ProxyUnreachable[] = [];
  /** Set once the job's responses together crossed the limit; every connection is then cut. */
  limitExceeded: ReceiveLimitExceeded | undefined;
  /** Called once, when the limit is crossed. */
  onLimitExceeded: ((exceeded: ReceiveLimitExceeded) => void) | undefined;
  private received = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly maxReceivedBytes: number,
  ) {}

  /**
   * Starts a proxy on a free loopback port for one job's guard. `maxReceivedBytes` bounds what
   * all the job's responses together may bring in (bodies, headers, TLS records of a tunnel).
   */
  static async start(
    guard: EgressGuard,
    connector: Connector = defaultConnector,
    maxReceivedBytes = Number.POSITIVE_INFINITY,
  ): Promise<EgressProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('egress proxy has no port');
    const proxy = new EgressProxy(server, `http://127.0.0.1:${address.port}`, maxReceivedBytes);
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.once('close', () => proxy.sockets.delete(socket));
    });
    server.on('request', (req, res) => void proxy.forward(guard, connector, req, res));
    server.on(
      'connect',
      (req, socket, head) => void proxy.tunnel(guard, connector, req, socket as Socket, head),
    );
    // A plain `Upgrade:` request to the proxy is not how Chromium proxies websockets; refuse it.
    server.on('upgrade', (_req, socket) => (socket as Socket).destroy());
    return proxy;
  }

  /**
   * Counts bytes received for the job; false once the job is over its limit, when the caller
   * must cut the connection. Cutting every connection then stops a page's other downloads too.
   */
  private admitBytes(target: string, bytes: number): boolean {
    this.received += bytes;
    if (this.received <= this.maxReceivedBytes && this.limitExceeded === undefined) return true;
    if (this.limitExceeded === undefined) {
      this.limitExceeded = { limit: this.maxReceivedBytes, target };
      this.onLimitExceeded?.(this.limitExceeded);
    }
    for (const socket of this.sockets) socket.destroy();
    return false;
  }

  private refuse(target: string, error: unknown): ProxyRefusal {
    const reason = error instanceof Error ? error.message : String(error);
    const refusal = { target, reason, id: randomUUID() };
    this.refusals.push(refusal);
    return refusal;
  }

  private markUnreachable(target: string, error: unknown): ProxyUnreachable {
    const code = (error as { code?: unknown } | null)?.code;
    const failure = {
      target,
      code: typeof code === 'string' ? code : 'ERR_PROXY_UPSTREAM',
      reason: error instanceof Error ? error.message : String(error),
      id: randomUUID(),
    };
    this.unreachable.push(failure);
    return failure;
  }

  private answerUnreachable(res: ServerResponse, target: string, error: unknown): void {
    const failure = this.markUnreachable(target, error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .writeHead(502, { [EGRESS_UNREACHABLE_HEADER]: failure.id, 'content-type': 'text/plain' })
      .end(`upstream failed: ${failure.reason}`);
  }

  /** The failure a response's EGRESS_UNREACHABLE_HEADER names, if this proxy answered it. */
  unreachableMarkedBy(header: string | null | undefined): ProxyUnreachable | undefined {
    if (header === null || header === undefined) return undefined;
    return this.unreachable.find((u) => u.id === header);
  }

  /** The refusal a response's EGRESS_REFUSAL_HEADER names, if this proxy made it. */
  refusalMarkedBy(header: string | null | undefined): ProxyRefusal | undefined {
    if (header === null || header === undefined) return undefined;
    return this.refusals.find((r) => r.id === header);
  }

  /** A plain-http request, sent by Chromium in absolute form: `GET http://host/path HTTP/1.1`. */
  private async forward(
    guard: EgressGuard,
    connector: Connector,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    if (this.limitExceeded !== undefined) {
      res.destroy();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:')
        throw new EgressBlockedError(`egress blocked: ${url.protocol} through the proxy`, {
          reason: 'egress-blocked',
        });
    } catch (error) {
      const refusal = this.refuse(req.url ?? '', error);
      res
        .writeHead(400, { [EGRESS_REFUSAL_HEADER]: refusal.id, 'content-type': 'text/plain' })
        .end(refusal.reason);
      return;
    }
    const port = url.port === '' ? 80 : Number(url.port);
    let address: string;
    try {
      ({ address } = await guard.admit(url.hostname, port));
    } catch (error) {
      req.resume();
      if (!(error instanceof EgressBlockedError)) {
        this.answerUnreachable(res, url.href, error);
        return;
      }
      const refusal = this.refuse(url.href, error);
      res
        .writeHead(403, { [EGRESS_REFUSAL_HEADER]: refusal.id, 'content-type': 'text/plain' })
        .end(refusal.reason);
      return;
    }
    const headers: { [name: string]: string | string[] } = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const upstream = httpRequest({
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      // Connect to the admitted address, never to a fresh resolution of the name.
      createConnection: () => connector(address, port),
      setHost: false,
    });
    upstream.on('response', (answer) => {
      const declared = Number(answer.headers['content-length'] ?? 0);
      if (!this.admitBytes(url.href, Number.isFinite(declared) ? declared : 0)) {
        upstream.destroy();
        res.destroy();
        return;
      }
      // The declared length is counted already; count only what goes beyond it.
      let uncounted = Number.isFinite(declared) ? declared : 0;
      answer.on('data', (chunk: Buffer) => {
        const beyond = Math.max(0, chunk.length - uncounted);
        uncounted = Math.max(0, uncounted - chunk.length);
        if (!this.admitBytes(url.href, beyond)) {
          upstream.destroy();
          res.destroy();
        }
      });
      const answerHeaders: { [name: string]: string | string[] } = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name) && !PROXY_HEADERS.has(name))
          answerHeaders[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
      answer.pipe(res);
    });
    upstream.on('error', (error) => this.answerUnreachable(res, url.href, error));
    req.pipe(upstream);
  }

  /** A CONNECT tunnel (https, wss, ws): admitted, then bytes are relayed to the admitted address. */
  private async tunnel(
    guard: EgressGuard,
    connector: Connector,
    req: IncomingMessage,
    client: Socket,
    head: Buffer,
  ): Promise<void> {
    if (this.limitExceeded !== undefined) {
      client.destroy();
      return;
    }
    const target = req.url ?? '';
    // `host:port` or `[ipv6]:port`, nothing else: a host may not carry a port of its own.
    const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_.-]+)):(\d{1,5})$/i.exec(target);
    let address: string;
    let port: number;
    try {
      if (match === null)
        throw new EgressBlockedError(`egress blocked: CONNECT target ${target} is not host:port`, {
          reason: 'egress-blocked',
        });
      port = Number(match[3]);
      ({ address } = await guard.admit(match[1] ?? match[2] ?? '', port));
    } catch (error) {
      if (!(error instanceof EgressBlockedError)) {
        this.markUnreachable(`https://${target}`, error);
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const refusal = this.refuse(`https://${target}`, error);
      client.end(
        `HTTP/1.1 403 Forbidden\r\n${EGRESS_REFUSAL_HEADER}: ${refusal.id}\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    const upstream = connector(address, port);
    let established = false;
    upstream.on('data', (chunk: Buffer) => {
      if (!this.admitBytes(`https://${target}`, chunk.length)) close();
    });
    upstream.once('connect', () => {
      established = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.once('error', (error) => {
      if (established || client.destroyed) {
        client.destroy();
        return;
      }
      this.markUnreachable(`https://${target}`, error);
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
    client.once('error', close);
    client.once('close', close);
    upstream.once('close', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
