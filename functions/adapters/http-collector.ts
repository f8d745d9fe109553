/**
 * Collects a source over plain HTTP. Redirects are followed by hand so that every hop passes the
 * URL policy, and every connection goes through the egress guard's dispatcher, which admits only
 * public addresses and connects to the address it checked. The body is kept byte for byte; an
 * error response is kept as evidence.
 */
import { fetch, type Response } from 'undici';
import { DEFAULT_HANDOFF_SIGNS, type HttpSourceDefinition } from '../../sources/define.js';
import { FailureWithEvidence, HttpStatusError, parseRetryAfter } from '../core/classify-failure.js';
import type { CollectedArtifact, Collection, CollectRequest } from '../core/collection.js';
import { assertUrlAllowed, type OriginOverrides, resolveOrigin } from '../core/egress.js';
import { HandoffRequiredError, PermanentError } from '../core/errors.js';
import { extensionFor } from '../core/raw-layout.js';
import { screenResponse } from '../core/response-screen.js';
import { EgressGuard, guardedDispatcher, type Resolver, systemResolver } from './egress-guard.js';

export interface HttpCollectorOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly userAgent: string;
  readonly originOverrides: OriginOverrides;
  readonly clock?: () => Date;
  /** @default systemResolver */
  readonly resolver?: Resolver;
}

/** Enough of an error page to see what the source said, never a whole download. */
const MAX_EVIDENCE_BYTES = 256 * 1024;

async function readLimited(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    throw new PermanentError(`response body of ${declared} bytes exceeds the ${maxBytes}-byte limit`, {
      reason: 'body-too-large',
    });
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new PermanentError(`response body exceeds the ${maxBytes}-byte limit`, {
        reason: 'body-too-large',
      });
    }
    chunks.push(Buffer.from(read.value));
  }
  return Buffer.concat(chunks);
}

/** The first bytes of an error response (truncated, never refused), as a failure snapshot. */
async function errorEvidence(response: Response, url: URL): Promise<CollectedArtifact[]> {
  const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body !== null) {
    const reader = response.body.getReader();
    for (
      let read = await reader.read();
      !read.done && size < MAX_EVIDENCE_BYTES;
      read = await reader.read()
    ) {
      chunks.push(Buffer.from(read.value));
      size += read.value.byteLength;
    }
    await reader.cancel().catch(() => undefined);
  }
  const body = Buffer.concat(chunks).subarray(0, MAX_EVIDENCE_BYTES);
  const headers = Object.fromEntries(response.headers.entries());
  return [
    { name: `failure-response.${extensionFor(contentType)}`, role: 'failure-dom', contentType, body },
    {
      name: 'failure-request.json',
      role: 'console-log',
      contentType: 'application/json',
      body: Buffer.from(
        JSON.stringify(
          { url: url.href, status: response.status, headers, truncated: size > MAX_EVIDENCE_BYTES },
          null,
          2,
        ),
      ),
    },
  ];
}

export class HttpCollector {
  constructor(private readonly options: HttpCollectorOptions) {}

  async collect(source: HttpSourceDefinition, request: CollectRequest): Promise<Collection> {
    const clock = this.options.clock ?? (() => new Date());
    const { origin, policy } = resolveOrigin(source, this.options.originOverrides);
    const plan = source.request(request.input);
    const firstUrl = assertUrlAllowed(new URL(plan.path, origin), policy);
    const branches = ['http-get'];
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    // One dispatcher per job: its connections were admitted under this source's policy only.
    const dispatcher = guardedDispatcher(new EgressGuard(policy, this.options.resolver ?? systemResolver), {
      connectTimeoutMs: this.options.timeoutMs,
      headersTimeoutMs: this.options.timeoutMs,
      bodyTimeoutMs: this.options.timeoutMs,
    });

    try {
      let url = firstUrl;
      for (let hop = 0; ; hop += 1) {
        const response = await fetch(url, {
          method: 'GET',
          redirect: 'manual',
          signal,
          dispatcher,
          headers: {
            accept: plan.accept,
            'user-agent': this.options.userAgent,
            'x-sluice-trace-id': request.traceId,
          },
        });
        if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
          await response.body?.cancel();
          if (hop >= this.options.maxRedirects) {
            throw new PermanentError(
              `more than ${this.options.maxRedirects} redirects from ${firstUrl.href}`,
              {
                reason: 'too-many-redirects',
              },
            );
          }
          url = assertUrlAllowed(new URL(response.headers.get('location') ?? '', url), policy);
          branches.push(`followed-redirect-${response.status}`);
          continue;
        }
        if (response.status < 200 || response.status >= 300) {
          const observed = new HttpStatusError(
            response.status,
            url.href,
            parseRetryAfter(response.headers.get('retry-after'), clock()),
          );
          throw new FailureWithEvidence(observed, await errorEvidence(response, url));
        }
        const body = await readLimited(response, this.options.maxBodyBytes);
        const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
        // A captcha (or another sign the source declares) answers 200: not a collection, a person's job.
        const verdict = screenResponse(
          { body, contentType },
          { handoffSigns: source.handoffWhen ?? DEFAULT_HANDOFF_SIGNS },
        );
        if (verdict.kind === 'hand-off') {
          throw new FailureWithEvidence(
            new HandoffRequiredError(`${url.href}: ${verdict.sign.message}`, { reason: verdict.sign.reason }),
            [
              {
                name: `handoff-response.${extensionFor(contentType)}`,
                role: 'failure-dom',
                contentType,
                body,
              },
            ],
          );
        }
        return {
          request: { url: firstUrl.href, method: 'GET' },
          response: { status: response.status, finalUrl: url.href, contentType },
          observedAt: clock(),
          artifacts: [{ name: `response.${extensionFor(contentType)}`, role: 'body', contentType, body }],
          primaryArtifact: `response.${extensionFor(contentType)}`,
          branches,
        };
      }
    } finally {
      // Everything this job needed is read; nothing on these connections is worth waiting for.
      await dispatcher.destroy();
    }
  }
}
