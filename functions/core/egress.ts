/**
 * The egress guard's policy: which URLs a collector may request for a source. Job messages are
 * untrusted, so every request (first, redirect, subresource) is checked against it.
 */
import { PermanentError } from './errors.js';

export interface EgressPolicy {
  /** Hosts (`name` or `name:port`) this source may contact. */
  readonly allowedHosts: ReadonlySet<string>;
  /**
   * Hosts that may resolve to loopback. Only the local profile fills this, for the bundled demo
   * site; the deployed stack never sets it.
   */
  readonly loopbackHosts: ReadonlySet<string>;
}

export class EgressBlockedError extends PermanentError {}

/** Refuses anything that is not http(s) to an allowlisted host. Address checks happen at connect time. */
export function assertUrlAllowed(url: string | URL, policy: EgressPolicy): URL {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch (cause) {
    throw new EgressBlockedError(`egress blocked: not a valid URL: ${String(url)}`, {
      reason: 'egress-blocked',
      cause,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EgressBlockedError(
      `egress blocked: scheme ${parsed.protocol} is not http or https (${parsed.href})`,
      {
        reason: 'egress-blocked',
      },
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new EgressBlockedError(`egress blocked: credentials in URL are not allowed (${parsed.host})`, {
      reason: 'egress-blocked',
    });
  }
  const host = parsed.host.toLowerCase();
  const hostname = parsed.hostname.toLowerCase();
  if (!policy.allowedHosts.has(host) && !policy.allowedHosts.has(hostname)) {
    throw new EgressBlockedError(`egress blocked: host ${host} is not on the source's allowlist`, {
      reason: 'egress-blocked',
    });
  }
  return parsed;
}

export interface OriginOverrides {
  /** Maps a production origin to the origin that serves it locally, e.g. the demo site. */
  readonly [productionOrigin: string]: string;
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
  const localHost = new URL(local).host.toLowerCase();
  return {
    origin: local,
    policy: { allowedHosts: new Set([localHost]), loopbackHosts: new Set([localHost]) },
  };
}
