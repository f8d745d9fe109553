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
   * Hosts (`name:port`) that may resolve to loopback or to a private address of this machine's
   * network. Only the local profile fills this (the demo site, a `--target`); the deployed stack
   * never sets it.
   */
  readonly loopbackHosts: ReadonlySet<string>;
  /**
   * Private ranges (CIDR) the source declared it needs (`network.privateCidrs`): addresses in them
   * are admitted besides public ones. Never loopback, link-local or metadata. @default - none
   */
  readonly privateCidrs?: readonly string[];
}

/** Ranges a source may declare: RFC 1918 (IPv4) and unique-local (IPv6) addresses, nothing else. */
const DECLARABLE_RANGES = new Set(['private', 'uniqueLocal']);

/**
 * What is wrong with a private range a source declares, or undefined when it is one: a CIDR
 * whose every address is private (RFC 1918) or unique-local. Loopback, link-local (the metadata
 * service), public or mixed ranges are refused.
 */
export function privateCidrProblem(cidr: string): string | undefined {
  let network: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    network = ipaddr.parseCIDR(cidr);
  } catch {
    return `${JSON.stringify(cidr)} is not a CIDR range like 10.20.0.0/16`;
  }
  const [address, bits] = network;
  const first =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const last =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.broadcastAddressFromCIDR(cidr)
      : ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
  if (!DECLARABLE_RANGES.has(first.range()) || !DECLARABLE_RANGES.has(last.range())) {
    return `${cidr} (/${bits}) is not wholly private: only RFC 1918 (10/8, 172.16/12, 192.168/16) and unique-local (fc00::/7) ranges may be declared`;
  }
  return undefined;
}

/** Whether `address` lies in one of the declared private ranges. */
function inDeclaredRange(address: string, cidrs: readonly string[]): boolean {
  const parsed = ipaddr.process(address);
  return cidrs.some((cidr) => {
    const range = ipaddr.parseCIDR(cidr);
    return parsed.kind() === range[0].kind() && parsed.match(range);
  });
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

/** What a local-profile host may resolve to: this machine, or a private address of its network. */
const LOCAL_PROFILE_RANGES = new Set(['loopback', 'private', 'uniqueLocal']);

/**
 * Refuses to connect to anything but a public address, or an address in a private range the
 * source declared. The other exception is a host the local profile names (the demo site, a
 * `--target`), which may be this machine or its network; the deployed stack never names one.
 */
export function assertAddressAllowed(
  hostname: string,
  port: number,
  address: string,
  policy: EgressPolicy,
): void {
  const range = addressRange(address);
  if (range === 'unicast') return;
  const shown = hostWithPort(hostname, port);
  if (policy.loopbackHosts.has(shown)) {
    // This machine, under the name the local profile gave it; a private address of its network
    // only as the literal the target named, so no name can rebind the guard onto the network.
    if (range === 'loopback') return;
    if (LOCAL_PROFILE_RANGES.has(range) && bareHost(hostname) === ipaddr.process(address).toString()) return;
  }
  const declared = policy.privateCidrs ?? [];
  if (DECLARABLE_RANGES.has(range) && inDeclaredRange(address, declared)) return;
  const what = range === 'linkLocal' && address === '169.254.169.254' ? 'linkLocal (cloud metadata)' : range;
  const allowed =
    declared.length === 0
      ? 'only public addresses are allowed'
      : `only public addresses and the source's private ranges (${declared.join(', ')}) are allowed`;
  throw blocked(`${shown} resolves to ${address}, a ${what} address; ${allowed}`);
}

export interface OriginOverrides {
  /** Maps a production origin to the origin that serves it locally, e.g. the demo site. */
  readonly [productionOrigin: string]: string;
}

/**
 * What is wrong with a local-profile origin, or undefined: it must be an http(s) origin on this
 * machine (`localhost`, a loopback address) or on its network (a private or unique-local address
 * literal). An override can therefore never open the guard to the internet or the metadata service.
 */
export function localOriginProblem(local: string): string | undefined {
  let target: URL;
  try {
    target = new URL(local);
  } catch {
    return `${JSON.stringify(local)} is not a URL`;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return `${local} is not http or https`;
  }
  if (target.pathname !== '/' || target.search !== '' || target.username !== '' || target.password !== '') {
    return `${local} must be an origin (scheme, host and port) with no path, query or credentials`;
  }
  const host = bareHost(target.hostname);
  if (host === 'localhost') return undefined;
  if (!ipaddr.isValid(host) || !LOCAL_PROFILE_RANGES.has(ipaddr.process(host).range())) {
    return `${local} must point at this machine (localhost, 127.0.0.1, [::1]) or a private address of its network (10.x, 172.16-31.x, 192.168.x, fd00::/8)`;
  }
  return undefined;
}

/**
 * Checks the local profile's overrides at cold start: each must send a production origin to an
 * origin on this machine or its network (localOriginProblem).
 */
export function assertLocalOverrides(overrides: OriginOverrides): OriginOverrides {
  for (const [production, local] of Object.entries(overrides)) {
    const problem = localOriginProblem(local);
    if (problem !== undefined) throw new Error(`origin override for ${production}: ${problem}`);
  }
  return overrides;
}

/**
 * Resolves where a source is collected from and what it may contact: its production origin and
 * allowlist, or — only under an explicit local-profile override — the local demo site.
 */
export function resolveOrigin(
  source: {
    readonly origin: string;
    readonly allowedHosts: readonly string[];
    readonly network?: { readonly privateCidrs: readonly string[] };
  },
  overrides: OriginOverrides,
): { origin: string; policy: EgressPolicy } {
  const privateCidrs = source.network?.privateCidrs ?? [];
  const local = overrides[source.origin];
  if (local === undefined) {
    return {
      origin: source.origin,
      policy: {
        allowedHosts: new Set(source.allowedHosts.map((h) => h.toLowerCase())),
        loopbackHosts: new Set(),
        ...(privateCidrs.length === 0 ? {} : { privateCidrs }),
      },
    };
  }
  const localUrl = new URL(local);
  const localHost = localUrl.host.toLowerCase();
  return {
    origin: localUrl.origin,
    policy: {
      allowedHosts: new Set([localHost]),
      loopbackHosts: new Set([hostWithPort(localUrl.hostname, defaultPort(localUrl))]),
    },
  };
}
