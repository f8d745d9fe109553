/**
 * The egress guard's policy: which URLs a collector may request for a source, and which
 * addresses it may connect to. Job messages are untrusted, so every request (first, redirect,
 * subresource, iframe, popup, websocket) is checked twice: its URL here before it is sent, and the
 * address its host resolved to at connect time (functions/adapters/egress-guard.ts), so a name
 * that resolves to a private address — or re-resolves to one later — is refused.
 */
import ipaddr from 'ipaddr.js';
import { PermanentError } from './errors.js';

export interface EgressPolicy {
  /** Hosts (`name` or `name:port`) this source may contact. */
  readonly allowedHosts: ReadonlySet<string>;
  /**
   * Hosts (`name:port`) that may resolve to loopback. Only the local profile fills this, for the
   * bundled demo site; the deployed stack never sets it.
   */
  readonly loopbackHosts: ReadonlySet<string>;
}

export class EgressBlockedError extends PermanentError {}

function blocked(message: string, cause?: unknown): EgressBlockedError {
  return new EgressBlockedError(`egress blocked: ${message}`, { reason: 'egress-blocked', cause });
}

/** Refuses anything that is not http(s) to an allowlisted host. Address checks happen at connect time. */
export function assertUrlAllowed(url: string | URL, policy: EgressPolicy): URL {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch (cause) {
    throw blocked(`not a valid URL: ${String(url)}`, cause);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw blocked(`scheme ${parsed.protocol} is not http or https (${parsed.href.slice(0, 200)})`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw blocked(`credentials in URL are not allowed (${parsed.host})`);
  }
  assertHostAllowed(parsed.hostname, defaultPort(parsed), policy);
  return parsed;
}

function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Drops the brackets URLs put around IPv6 literals. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

function hostWithPort(hostname: string, port: number): string {
  const host = bareHost(hostname);
  return ipaddr.IPv6.isValid(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Letters, digits, dots, dashes and underscores: a DNS name or an IPv4 literal, nothing more. */
const HOST_NAME = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?$/;

/**
 * Refuses a host (and port) that is not on the allowlist. `name` on the allowlist allows every
 * port of it; `name:port` only that port. Used for URLs and for CONNECT requests alike.
 */
export function assertHostAllowed(hostname: string, port: number, policy: EgressPolicy): void {
  const name = bareHost(hostname);
  // Checked before the allowlist: `127.0.0.1:18080` as a "host" on port 18099 would otherwise
  // match the entry `127.0.0.1:18080`.
  if (!ipaddr.IPv6.isValid(name) && !HOST_NAME.test(name)) {
    throw blocked(`${JSON.stringify(hostname.slice(0, 200))} is not a host name`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw blocked(`port ${port} of ${name} is not 1..65535`);
  }
  const withPort = hostWithPort(hostname, port);
  const bracketed = ipaddr.IPv6.isValid(name) ? `[${name}]` : name;
  if (!policy.allowedHosts.has(withPort) && !policy.allowedHosts.has(bracketed)) {
    throw blocked(`host ${withPort} is not on the source's allowlist`);
  }
}

/**
 * What kind of address an IP is, in ipaddr.js's terms: `unicast` is a public address; anything
 * else (loopback, private, linkLocal — the cloud metadata service —, uniqueLocal, ipv4Mapped,
 * carrierGradeNat, 6to4, teredo, rfc6052, reserved, multicast, unspecified, ...) is not.
 */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) throw blocked(`${address} is not an IP address`);
  return ipaddr.parse(address).range();
}

/**
 * Refuses to connect to anything but a public address. The one exception is loopback for a host
 * the local profile names (the bundled demo site), which the deployed stack never does.
 */
export function assertAddressAllowed(
  hostname: string,
  port: number,
  address: string,
  policy: EgressPolicy,
): void {
  const range = addressRange(address);
  if (range === 'unicast') return;
  if (range === 'loopback' && policy.loopbackHosts.has(hostWithPort(hostname, port))) return;
  const shown = hostWithPort(hostname, port);
  const what = range === 'linkLocal' && address === '169.254.169.254' ? 'linkLocal (cloud metadata)' : range;
  throw blocked(`${shown} resolves to ${address}, a ${what} address; only public addresses are allowed`);
}

export interface OriginOverrides {
  /** Maps a production origin to the origin that serves it locally, e.g. the demo site. */
  readonly [productionOrigin: string]: string;
}

/**
 * Checks the local profile's overrides at cold start: each must send a production origin to a
 * loopback origin. An override can therefore only ever reach this machine, never open the guard
 * to another network.
 */
export function assertLocalOverrides(overrides: OriginOverrides): OriginOverrides {
  for (const [production, local] of Object.entries(overrides)) {
    let target: URL;
    try {
      target = new URL(local);
    } catch {
      throw new Error(`origin override for ${production} is not a URL: ${local}`);
    }
    const host = bareHost(target.hostname);
    if (!ipaddr.isValid(host) || ipaddr.parse(host).range() !== 'loopback') {
      throw new Error(`origin override for ${production} must point at a loopback address, got ${local}`);
    }
  }
  return overrides;
}

/**
 * Resolves where a source is collected from and what it may contact: its production origin and
 * allowlist, or — only under an explicit local-profile override — the local demo site.
 */
export function resolveOrigin(
  source: { readonly origin: string; readonly allowedHosts: readonly string[] },
  overrides: OriginOverrides,
): { origin: string; policy: EgressPolicy } {
  const local = overrides[source.origin];
  if (local === undefined) {
    return {
      origin: source.origin,
      policy: {
        allowedHosts: new Set(source.allowedHosts.map((h) => h.toLowerCase())),
        loopbackHosts: new Set(),
      },
    };
  }
  const localUrl = new URL(local);
  const localHost = localUrl.host.toLowerCase();
  return {
    origin: local,
    policy: {
      allowedHosts: new Set([localHost]),
      loopbackHosts: new Set([hostWithPort(localUrl.hostname, defaultPort(localUrl))]),
    },
  };
}
