/**
 * Collects a source over plain HTTP. Redirects are followed by hand so that every hop passes the
 * egress guard; the body is kept byte for byte.
 */
import type { HttpSourceDefinition } from '../../sources/define.js';
import { classifyHttpStatus, parseRetryAfter } from '../core/classify-failure.js';
import type { Collection, CollectRequest } from '../core/collection.js';
import { assertUrlAllowed, type OriginOverrides, resolveOrigin } from '../core/egress.js';
import { PermanentError } from '../core/errors.js';
import { extensionFor } from '../core/raw-layout.js';

export interface HttpCollectorOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly userAgent: string;
  readonly originOverrides: OriginOverrides;
  readonly clock?: () => Date;
}

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

export class HttpCollector {
  constructor(private readonly options: HttpCollectorOptions) {}

  async collect(source: HttpSourceDefinition, request: CollectRequest): Promise<Collection> {
    const clock = this.options.clock ?? (() => new Date());
    const { origin, policy } = resolveOrigin(source, this.options.originOverrides);
    const plan = source.request(request.input);
    const firstUrl = assertUrlAllowed(new URL(plan.path, origin), policy);
    const branches = ['http-get'];
    const signal = AbortSignal.timeout(this.options.timeoutMs);

    let url = firstUrl;
    for (let hop = 0; ; hop += 1) {
      const response = await fetch(url, {
        method: 'GET',
        redirect: 'manual',
        signal,
        headers: {
          accept: plan.accept,
          'user-agent': this.options.userAgent,
          'x-sluice-trace-id': request.traceId,
        },
      });
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        if (hop >= this.options.maxRedirects) {
          throw new PermanentError(`more than ${this.options.maxRedirects} redirects from ${firstUrl.href}`, {
            reason: 'too-many-redirects',
          });
        }
        url = assertUrlAllowed(new URL(response.headers.get('location') ?? '', url), policy);
        branches.push(`followed-redirect-${response.status}`);
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        await response.body?.cancel();
        throw classifyHttpStatus(
          response.status,
          parseRetryAfter(response.headers.get('retry-after'), clock()),
        );
      }
      const body = await readLimited(response, this.options.maxBodyBytes);
      const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
      return {
        request: { url: firstUrl.href, method: 'GET' },
        response: { status: response.status, finalUrl: url.href, contentType },
        observedAt: clock(),
        artifacts: [{ name: `response.${extensionFor(contentType)}`, role: 'body', contentType, body }],
        primaryArtifact: `response.${extensionFor(contentType)}`,
        branches,
      };
    }
  }
}
