/**
 * How the HTTP collector signs in for a source that declares `auth`: the credentials come from
 * the source's secret (never from a message), the token or session is reused by the container's
 * jobs while the source accepts it, and `refresh()` drops both — the cached secret and the
 * session — so the next request reads the secret again and, for a form login, signs in again.
 * A form login the source refuses drops the cached secret at once, like a rejected browser login.
 *
 * Every value that must never be stored or logged (the token, the password, the basic-auth
 * header, the session cookies) is answered by `secrets()` for redaction.
 */
import { type Dispatcher, fetch } from 'undici';
import type { HttpAuth, HttpSourceDefinition } from '../../sources/define.js';
import { LoginRejectedError } from '../core/classify-failure.js';
import { PermanentError } from '../core/errors.js';
import { isLoginPage, LOGIN_WALL_SCAN_BYTES, loginWallOf } from '../core/login-wall.js';
import type { CredentialStore } from './source-credentials.js';

/** Session cookies per source (`name=value`), reused by the container's jobs while valid. */
export class HttpSessions {
  private readonly jars = new Map<string, Map<string, string>>();

  cookieHeader(source: string): string | undefined {
    const jar = this.jars.get(source);
    if (jar === undefined || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  has(source: string): boolean {
    return (this.jars.get(source)?.size ?? 0) > 0;
  }

  /** Keeps the cookies a response set (a session that rolls on is kept rolling). */
  remember(source: string, setCookies: readonly string[]): void {
    if (setCookies.length === 0) return;
    const jar = this.jars.get(source) ?? new Map<string, string>();
    for (const line of setCookies) {
      const pair = line.split(';', 1)[0] ?? '';
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      // An expired or emptied cookie is a sign-out.
      if (value === '' || /;\s*max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.jars.set(source, jar);
  }

  values(source: string): string[] {
    return [...(this.jars.get(source)?.values() ?? [])];
  }

  forget(source: string): void {
    this.jars.delete(source);
  }
}

export interface SignInSetting {
  readonly origin: string;
  readonly credentials: CredentialStore | undefined;
  readonly sessions: HttpSessions;
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  readonly userAgent: string;
  readonly traceId: string;
}

/** One job's sign-in for an HTTP source with `auth`. */
export class HttpSignIn {
  private readonly known: string[] = [];
  /** The branch the sign-in took, for the manifest (`session-reused`, `logged-in`, ...). */
  readonly branches: string[] = [];

  constructor(
    private readonly source: HttpSourceDefinition & { readonly auth: HttpAuth },
    private readonly setting: SignInSetting,
  ) {}

  /** The path of the page a signed-out visitor is sent to, for a form login. */
  get loginPagePath(): string | undefined {
    const { auth } = this.source;
    return auth.kind === 'form' ? (auth.loginPagePath ?? auth.path) : undefined;
  }

  /** Values no artifact, error or log may show. */
  secrets(): string[] {
    return [...new Set([...this.known, ...this.setting.sessions.values(this.source.name)])].filter(
      (value) => value.length > 0,
    );
  }

  /** The headers that carry the credentials on a request to the source's own origin. */
  async headers(): Promise<{ [name: string]: string }> {
    const { auth, name } = this.source;
    switch (auth.kind) {
      case 'bearer': {
        const { token } = await this.store().read(name, 'token');
        const value = `${auth.scheme ?? 'Bearer '}${token}`;
        this.known.push(token, value);
        return { [(auth.header ?? 'authorization').toLowerCase()]: value };
      }
      case 'basic': {
        const { username, password } = await this.store().read(name, 'login');
        const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
        this.known.push(password, encoded);
        return { authorization: `Basic ${encoded}` };
      }
      case 'form': {
        if (this.setting.sessions.has(name)) this.branches.push('session-reused');
        else await this.signIn(auth);
        const cookie = this.setting.sessions.cookieHeader(name);
        return cookie === undefined ? {} : { cookie };
      }
    }
  }

  /** Keeps the cookies an answer of the source set. */
  remember(setCookies: readonly string[]): void {
    if (this.source.auth.kind === 'form') this.setting.sessions.remember(this.source.name, setCookies);
  }

  /** The source refused what was sent: drop the cached secret and the session, read both again. */
  refresh(): void {
    this.setting.credentials?.forget(this.source.name);
    this.setting.sessions.forget(this.source.name);
    this.branches.push('credentials-refreshed');
  }

  /** The refresh did not help: the credentials are wrong, and must not be used again. */
  rejected(what: string): LoginRejectedError {
    this.setting.credentials?.forget(this.source.name);
    this.setting.sessions.forget(this.source.name);
    return new LoginRejectedError(`${this.source.name}: ${what}; the credentials stored for it were refused`);
  }

  private store(): CredentialStore {
    const { credentials } = this.setting;
    if (credentials === undefined) {
      throw new PermanentError(`${this.source.name} signs in, but no credential store is configured`, {
        reason: 'credentials-missing',
      });
    }
    return credentials;
  }

  /** Posts the login form; keeps the session cookie it sets, or throws LoginRejectedError. */
  private async signIn(auth: Extract<HttpAuth, { kind: 'form' }>): Promise<void> {
    const { name } = this.source;
    const { username, password } = await this.store().read(name, 'login');
    this.known.push(password);
    const url = new URL(auth.path, this.setting.origin);
    const form = new URLSearchParams({
      ...auth.fields,
      [auth.usernameField]: username,
      [auth.passwordField]: password,
    });
    this.known.push(form.toString());
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: this.setting.signal,
      dispatcher: this.setting.dispatcher,
      body: form.toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': this.setting.userAgent,
        'x-sluice-trace-id': this.setting.traceId,
      },
    });
    const setCookies = response.headers.getSetCookie();
    const location = response.headers.get('location');
    const bodyStart = await readStart(response);
    const backToLogin =
      location !== null && response.status >= 300 && response.status < 400
        ? isLoginPage(new URL(location, url), this.loginPagePath)
        : false;
    const refusedPage =
      response.status >= 200 &&
      response.status < 300 &&
      loginWallOf({ url, contentType: response.headers.get('content-type') ?? '', bodyStart }, undefined) !==
        undefined;
    if (response.status >= 400 || backToLogin || refusedPage || setCookies.length === 0) {
      throw this.rejected(
        `the login form at ${url.pathname} answered ${response.status}${setCookies.length === 0 ? ' without a session cookie' : ''}`,
      );
    }
    this.setting.sessions.forget(name);
    this.setting.sessions.remember(name, setCookies);
    this.branches.push('logged-in');
  }
}

/** The start of a response's body, as text; the rest is not read. */
async function readStart(response: Awaited<ReturnType<typeof fetch>>): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (
    let read = await reader.read();
    !read.done && size < LOGIN_WALL_SCAN_BYTES;
    read = await reader.read()
  ) {
    chunks.push(Buffer.from(read.value));
    size += read.value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).toString('utf8');
}
