/**
 * Collects a source over plain HTTP. Redirects are followed by hand so that every hop passes the
 * URL policy, and every connection goes through the egress guard's dispatcher, which admits only
 * public addresses and connects to the address it checked. The body is kept byte for byte (a
 * credential the source echoed back aside); an error response is kept as evidence. A source that
 * declares `auth` sends its credentials (http-sign-in.ts) to its own origin only; a 401/403 or a
 * redirect to its login page refreshes them once. A login page where data was expected is never
 * stored as a success (checkLoginWall).
 */
import { type Dispatcher, fetch, type Response } from 'undici';
import { DEFAULT_HANDOFF_SIGNS, type HttpSourceDefinition } from '../../sources/define.js';
import {
  FailureWithEvidence,
  HttpStatusError,
  LoginRequiredError,
  NoSuchPageError,
  parseRetryAfter,
  SessionExpiredError,
} from '../core/classify-failure.js';
import type { CollectedArtifact, Collection, CollectRequest } from '../core/collection.js';
import { assertUrlAllowed, type EgressPolicy, type OriginOverrides, resolveOrigin } from '../core/egress.js';
import { HandoffRequiredError, PermanentError } from '../core/errors.js';
import { isLoginPage, LOGIN_WALL_SCAN_BYTES, loginWallOf } from '../core/login-wall.js';
import { extensionFor } from '../core/raw-layout.js';
import { screenResponse } from '../core/response-screen.js';
import { redactBody, redactError } from '../core/secret-redaction.js';
import { EgressGuard, guardedDispatcher, type Resolver, systemResolver } from './egress-guard.js';
import { HttpSessions, HttpSignIn } from './http-sign-in.js';
import type { CredentialStore } from './source-credentials.js';

export interface HttpCollectorOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly userAgent: string;
  readonly originOverrides: OriginOverrides;
  readonly clock?: () => Date;
  /** @default systemResolver */
  readonly resolver?: Resolver;
  /** Where the logins of sources that sign in are read. @default - none: such a source fails */
  readonly credentials?: CredentialStore;
  /** Session cookies of form logins, per container. @default a new set */
  readonly sessions?: HttpSessions;
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

/** The source refused what was sent (401/403, or a redirect to its login page): refresh once. */
class CredentialsRefused extends Error {
  override readonly name = 'CredentialsRefused';
}

/**
 * The login-wall check, the one call site of functions/core/login-wall.ts: a login page where
 * data was expected is never a success. With credentials, it means the session is gone (refresh
 * once); without, the source needs a login Sluice does not have.
 */
function checkLoginWall(
  url: URL,
  contentType: string,
  body: Buffer,
  signIn: HttpSignIn | undefined,
  evidence: () => CollectedArtifact[],
): void {
  const wall = loginWallOf(
    { url, contentType, bodyStart: body.subarray(0, LOGIN_WALL_SCAN_BYTES).toString('utf8') },
    signIn?.loginPagePath,
  );
  if (wall === undefined) return;
  if (signIn !== undefined) throw new CredentialsRefused(wall);
  throw new FailureWithEvidence(new LoginRequiredError(wall), evidence());
}

export class HttpCollector {
  private readonly sessions: HttpSessions;

  constructor(private readonly options: HttpCollectorOptions) {
    this.sessions = options.sessions ?? new HttpSessions();
  }

  async collect(source: HttpSourceDefinition, request: CollectRequest): Promise<Collection> {
    const { origin, policy } = resolveOrigin(source, this.options.originOverrides);
    const plan = source.request(request.input);
    const firstUrl = assertUrlAllowed(new URL(plan.path, origin), policy);
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    // One dispatcher per job: its connections were admitted under this source's policy only.
    const dispatcher = guardedDispatcher(new EgressGuard(policy, this.options.resolver ?? systemResolver), {
      connectTimeoutMs: this.options.timeoutMs,
      headersTimeoutMs: this.options.timeoutMs,
      bodyTimeoutMs: this.options.timeoutMs,
    });
    const { auth } = source;
    const signIn =
      auth === undefined
        ? undefined
        : new HttpSignIn(
            { ...source, auth },
            {
              origin,
              credentials: this.options.credentials,
              sessions: this.sessions,
              dispatcher,
              signal,
              userAgent: this.options.userAgent,
              traceId: request.traceId,
            },
          );
    const job = { source, plan, firstUrl, origin: new URL(origin), policy, signal, dispatcher, request };
    try {
      try {
        return await this.fetchOnce(job, signIn);
      } catch (error) {
        if (!(error instanceof CredentialsRefused) || signIn === undefined) throw error;
        // The token or session is no longer accepted: read the secret again (sign in again), once.
        signIn.refresh();
        try {
          return await this.fetchOnce(job, signIn);
        } catch (again) {
          if (!(again instanceof CredentialsRefused)) throw again;
          if (auth?.kind === 'form') {
            // Signed in a moment ago and sent to the login page again: the next attempt tries anew.
            throw new SessionExpiredError(`${source.name}: ${again.message} right after signing in`);
          }
          throw signIn.rejected(again.message);
        }
      }
    } catch (error) {
      throw scrubbed(error, signIn?.secrets() ?? []);
    } finally {
      // Everything this job needed is read; nothing on these connections is worth waiting for.
      await dispatcher.destroy();
    }
  }

  private async fetchOnce(
    job: {
      readonly source: HttpSourceDefinition;
      readonly plan: ReturnType<HttpSourceDefinition['request']>;
      readonly firstUrl: URL;
      readonly origin: URL;
      readonly policy: EgressPolicy;
      readonly signal: AbortSignal;
      readonly dispatcher: Dispatcher;
      readonly request: CollectRequest;
    },
    signIn: HttpSignIn | undefined,
  ): Promise<Collection> {
    const clock = this.options.clock ?? (() => new Date());
    const { plan, firstUrl, policy, signal, dispatcher, request } = job;
    const branches = ['http-get'];
    const credentials = signIn === undefined ? {} : await signIn.headers();
    let url = firstUrl;
    for (let hop = 0; ; hop += 1) {
      // Credentials go to the source's own origin only, never to a host a redirect leads to.
      const own = url.origin === job.origin.origin;
      const response = await fetch(url, {
        method: 'GET',
        redirect: 'manual',
        signal,
        dispatcher,
        headers: {
          accept: plan.accept,
          'user-agent': this.options.userAgent,
          'x-sluice-trace-id': request.traceId,
          ...(own ? credentials : {}),
        },
      });
      if (own) signIn?.remember(response.headers.getSetCookie());
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        const next = new URL(response.headers.get('location') ?? '', url);
        if (signIn !== undefined && isLoginPage(next, signIn.loginPagePath)) {
          throw new CredentialsRefused(`${url.href} redirected to the login page ${next.pathname}`);
        }
        if (hop >= this.options.maxRedirects) {
          throw new PermanentError(`more than ${this.options.maxRedirects} redirects from ${firstUrl.href}`, {
            reason: 'too-many-redirects',
          });
        }
        url = assertUrlAllowed(next, policy);
        branches.push(`followed-redirect-${response.status}`);
        continue;
      }
      if (signIn !== undefined && own && (response.status === 401 || response.status === 403)) {
        await response.body?.cancel();
        throw new CredentialsRefused(`${url.href} answered ${response.status}`);
      }
      if (response.status < 200 || response.status >= 300) {
        const observed = job.source.noSuchPageStatuses?.includes(response.status)
          ? new NoSuchPageError(response.status, url.href)
          : new HttpStatusError(
              response.status,
              url.href,
              parseRetryAfter(response.headers.get('retry-after'), clock()),
            );
        throw new FailureWithEvidence(observed, await errorEvidence(response, url));
      }
      const received = await readLimited(response, this.options.maxBodyBytes);
      const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
      const status = response.status;
      const finalUrl = url;
      checkLoginWall(url, contentType, received, signIn, () =>
        wallEvidence(finalUrl, status, contentType, received),
      );
      // Raw storage keeps exact bytes, but never a credential the source echoed back.
      const { body, redacted } = redactBody(received, contentType, signIn?.secrets() ?? []);
      if (redacted) branches.push('secret-redacted');
      // A captcha (or another sign the source declares) answers 200: not a collection, a person's job.
      const verdict = screenResponse(
        { body, contentType },
        { handoffSigns: job.source.handoffWhen ?? DEFAULT_HANDOFF_SIGNS },
      );
      if (verdict.kind === 'hand-off') {
        throw new FailureWithEvidence(
          new HandoffRequiredError(`${url.href}: ${verdict.sign.message}`, { reason: verdict.sign.reason }),
          [{ name: `handoff-response.${extensionFor(contentType)}`, role: 'failure-dom', contentType, body }],
        );
      }
      const seen = { url: url.href, status, headers: Object.fromEntries(response.headers) };
      const followUps = job.source.followUps?.fromResponse?.(request.input, seen);
      return {
        ...(followUps === undefined || followUps.length === 0 ? {} : { followUps }),
        request: { url: firstUrl.href, method: 'GET' },
        response: { status, finalUrl: url.href, contentType },
        observedAt: clock(),
        artifacts: [{ name: `response.${extensionFor(contentType)}`, role: 'body', contentType, body }],
        primaryArtifact: `response.${extensionFor(contentType)}`,
        branches: [...(signIn?.branches ?? []), ...branches],
      };
    }
  }
}

/** The login page the source answered with, kept as the failure's evidence. */
function wallEvidence(url: URL, status: number, contentType: string, body: Buffer): CollectedArtifact[] {
  return [
    {
      name: `failure-response.${extensionFor(contentType)}`,
      role: 'failure-dom',
      contentType,
      body: body.subarray(0, MAX_EVIDENCE_BYTES),
    },
    {
      name: 'failure-request.json',
      role: 'console-log',
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify({ url: url.href, status, loginWall: true }, null, 2)),
    },
  ];
}

/** An error, its causes and its evidence with every credential redacted. */
function scrubbed(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return error;
  redactError(error, secrets);
  if (error instanceof FailureWithEvidence) {
    return new FailureWithEvidence(
      error.cause,
      error.evidence.map((artifact) => ({
        ...artifact,
        body: redactBody(artifact.body, artifact.contentType, secrets).body,
      })),
    );
  }
  return error;
}
