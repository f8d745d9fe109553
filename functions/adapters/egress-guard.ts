/**
 * The egress guard at connect time. A host passes the URL policy (functions/core/egress.ts), is
 * resolved once, every address it resolved to must be public, and the connection goes to the
 * address that was checked — never to a second resolution of the name. So a name that resolves
 * to a private or metadata address is refused, and DNS rebinding between the check and the
 * connection cannot happen: there is no second lookup to rebind.
 *
 * Used by the HTTP collector (an undici dispatcher whose connector admits every connection) and
 * by the browser collector's forward proxy (functions/adapters/egress-proxy.ts).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import {
  assertAddressAllowed,
  assertHostAllowed,
  EgressBlockedError,
  type EgressPolicy,
} from '../core/egress.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to its addresses. Injectable so tests can answer like a hostile DNS. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, so /etc/hosts counts too): what a connection would use. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function bare(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

/** A refusal the guard made, for the job's snapshot and the ledger. */
export interface EgressRefusal {
  readonly target: string;
  readonly reason: string;
}

export class EgressGuard {
  readonly refusals: EgressRefusal[] = [];

  constructor(
    readonly policy: EgressPolicy,
    private readonly resolver: Resolver = systemResolver,
  ) {}

  /**
   * Admits a connection to `hostname:port`: allowlisted, resolved once, every address public.
   * Answers the address to connect to. Throws EgressBlockedError (and remembers the refusal).
   */
  async admit(hostname: string, port: number): Promise<ResolvedAddress> {
    const host = bare(hostname).toLowerCase();
    try {
      assertHostAllowed(host, port, this.policy);
      const literal = isIP(host);
      const addresses: readonly ResolvedAddress[] =
        literal === 0 ? await this.resolver(host) : [{ address: host, family: literal === 6 ? 6 : 4 }];
      const [first] = addresses;
      if (first === undefined)
        throw new EgressBlockedError(`egress blocked: ${host} resolved to no address`, {
          reason: 'egress-blocked',
        });
      // Every answer must pass, not just the one we would use: a mixed answer is a warning sign,
      // and a client that fell back to the next address would otherwise reach it unchecked.
      for (const { address } of addresses) assertAddressAllowed(host, port, address, this.policy);
      return first;
    } catch (error) {
      if (error instanceof EgressBlockedError)
        this.refusals.push({ target: `${host}:${port}`, reason: error.message });
      throw error;
    }
  }
}

export interface GuardedDispatcherOptions {
  /** Connect timeout per connection. */
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

/**
 * An undici dispatcher whose every new connection goes through `guard.admit`, connecting to the
 * admitted address while TLS still verifies the certificate against the host name.
 */
export function guardedDispatcher(guard: EgressGuard, options: GuardedDispatcherOptions): Agent {
  const connectTo = buildConnector({ timeout: options.connectTimeoutMs });
  return new Agent({
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
    connect: (connectOptions, callback) => {
      const port = Number(connectOptions.port) || (connectOptions.protocol === 'https:' ? 443 : 80);
      guard.admit(connectOptions.hostname, port).then(
        ({ address }) =>
          connectTo(
            {
              ...connectOptions,
              hostname: address,
              // SNI and certificate checks keep using the name the URL asked for.
              servername:
                connectOptions.servername ??
                (isIP(bare(connectOptions.hostname)) === 0 ? bare(connectOptions.hostname) : undefined),
            },
            callback,
          ),
        (error: Error) => callback(error, null),
      );
    },
  });
}
