/**
 * A portal password never leaves Secrets Manager but to be typed into the portal's sign-in form.
 *
 * The signed-in path through the local environment (password planted in the emulator's Secrets
 * Manager, absent from every function log line, ledger item and raw object) is proven in
 * collection-idempotency.test.ts. This file covers the path that used to leak: Playwright's error
 * for a field it could not fill quotes the value it was typing, JSON-escaped, and its call log
 * splits a multi-line value across lines; the exact-value redaction missed both. A password that
 * could not be typed must not reach the error, its causes or the failure snapshot — in any of the
 * forms below (as is, URL-, form-, JSON- or HTML-encoded, base64, or one line of it).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrowserCollector,
  BrowserSession,
  LoginSessions,
  launchChromium,
} from '../../functions/adapters/browser-collector.js';
import {
  type CredentialStore,
  type SecretOf,
  SecretsManagerCredentials,
  type SourceCredentials,
} from '../../functions/adapters/source-credentials.js';
import { classifyFailure, FailureWithEvidence } from '../../functions/core/classify-failure.js';
import { createPortal } from '../../local/demo-site/portal.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { SCRATCH_DIR } from '../../local/paths.js';
import type { CredentialShape } from '../../sources/define.js';
import { demoPortal } from '../../sources/demo-portal/source.js';

/** Every form a secret could take in text that carries it: as is, encoded, escaped (named or numeric), in base64. */
function disguisesOf(secret: string): string[] {
  // The secret inside a longer base64 value starts at one of three byte offsets in its 3-byte
  // groups; the groups that hold only the secret's bytes encode the same whatever surrounds them.
  const base64At = (offset: number) => {
    const encoded = Buffer.from(`${'\u0000'.repeat(offset)}${secret}`, 'utf8').toString('base64');
    return encoded.slice(offset === 0 ? 0 : 4, -4);
  };
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ p: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
    secret.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
    base64At(0),
    base64At(1),
    base64At(2),
  ].filter((form, index, all) => form.length >= 8 && all.indexOf(form) === index);
}

/** The places in `texts` where any form of any secret (or any line of one) appears. */
function leaksIn(
  texts: readonly { readonly where: string; readonly text: string }[],
  secrets: readonly string[],
) {
  const needles = secrets.flatMap((secret) => [
    ...disguisesOf(secret),
    ...secret.split(/\r?\n/).filter((line) => line !== secret && line.length >= 8),
  ]);
  return texts.flatMap(({ where, text }) =>
    needles
      .filter((needle) => text.includes(needle))
      .map((needle) => `${where} holds ${JSON.stringify(needle)}`),
  );
}

class FixedCredentials implements CredentialStore {
  forgotten = 0;
  constructor(private readonly value: SourceCredentials) {}
  async read<S extends CredentialShape>(_source: string, _shape: S): Promise<SecretOf<S>> {
    return this.value as SecretOf<S>;
  }
  forget(): void {
    this.forgotten += 1;
  }
}

describe('a password the browser collector could not type', () => {
  let portal: Server;
  let origin: string;
  let browsers: BrowserSession;

  beforeAll(async () => {
    // A portal whose sign-in form changed: the password field is no longer a text field.
    portal = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
        <main><form id="login" method="post" action="/portal/login">
          <input name="username"><input name="password" type="checkbox">
          <button type="submit">Sign in</button>
        </form></main>`);
    });
    await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
    browsers = new BrowserSession((proxyUrl) =>
      launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
    );
  });

  afterAll(async () => {
    await browsers?.close();
    await new Promise<void>((resolve) => portal?.close(() => resolve()));
  });

  it.each([
    ['one line', 'Canary-Typed-7f3a91c2e5'],
    ['a line break in it', 'Canary-Line-One-4b8d\nCanary-Line-Two-e17c'],
    ['a trailing newline, as a pasted file leaves it', 'Canary-Pasted-5e2b90aa\n'],
  ])('is in no error or snapshot when it has %s', async (_, password) => {
    const collector = new BrowserCollector(browsers, {
      navigationTimeoutMs: 10_000,
      stepTimeoutMs: 3_000,
      jobTimeoutMs: 30_000,
      originOverrides: { [demoPortal.origin]: origin },
      userAgent: 'sluice-test',
      credentials: new FixedCredentials({ username: 'sluice', password }),
    });

    if (demoPortal.kind !== 'browser') throw new Error('demo-portal is a browser source');
    const failure = await collector
      .collect(demoPortal, {
        input: { account: 'acme', period: '2026-03' },
        traceId: 'trace-typed-1',
        jobKey: 'k-typed',
      })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(FailureWithEvidence);
    const texts: { where: string; text: string }[] = [];
    for (let current: unknown = failure, depth = 0; current instanceof Error && depth < 8; depth += 1) {
      texts.push({ where: `error ${depth}`, text: `${current.message}\n${current.stack ?? ''}` });
      current = current.cause;
    }
    for (const artifact of (failure as FailureWithEvidence).evidence) {
      texts.push({ where: artifact.name, text: artifact.body.toString('utf8') });
    }
    expect(texts.map((t) => t.text).join('\n')).toMatch(/fill|password|login/i);
    expect(leaksIn(texts, [password])).toEqual([]);
  });
});

/** A portal that shows what was typed when it refuses a sign-in: in text, attributes, a field and its console. */
function echoingPortal(): Server {
  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const form = (error: string, typed: string) => `<!doctype html><title>Sign in</title>
    <main>
      ${error}
      <form id="login" method="post" action="/portal/login">
        <input name="username"><input name="password" type="password" value="${escapeHtml(typed)}">
        <input name="shown" value="${escapeHtml(typed)}" style="width: 30em">
        <button type="submit">Sign in</button>
      </form>
    </main>`;
  return createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(form('', ''));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const typed = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('password') ?? '';
      const error = `<p class="login-error" data-typed="${escapeHtml(typed)}" style="font: 24px monospace">
        Wrong password: <b>${escapeHtml(typed)}</b></p>
        <script>console.error(${JSON.stringify(`rejected ${typed}`)});</script>`;
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(form(error, typed));
    });
  });
}

describe('a portal that echoes the password it refused', () => {
  let portal: Server;
  let origin: string;
  let browsers: BrowserSession;

  beforeAll(async () => {
    portal = echoingPortal();
    await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
    browsers = new BrowserSession((proxyUrl) =>
      launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
    );
  });

  afterAll(async () => {
    await browsers?.close();
    await new Promise<void>((resolve) => portal?.close(() => resolve()));
  });

  async function rejectedWith(password: string): Promise<FailureWithEvidence> {
    const collector = new BrowserCollector(browsers, {
      navigationTimeoutMs: 10_000,
      stepTimeoutMs: 3_000,
      jobTimeoutMs: 30_000,
      originOverrides: { [demoPortal.origin]: origin },
      userAgent: 'sluice-test',
      credentials: new FixedCredentials({ username: 'sluice', password }),
    });
    if (demoPortal.kind !== 'browser') throw new Error('demo-portal is a browser source');
    const failure = await collector
      .collect(demoPortal, {
        input: { account: 'acme', period: '2026-03' },
        traceId: 'trace-echo-1',
        jobKey: 'k-echo',
      })
      .catch((error: unknown) => error);
    if (!(failure instanceof FailureWithEvidence)) throw new Error('expected a failure with evidence');
    return failure;
  }

  const artifact = (failure: FailureWithEvidence, name: string) =>
    failure.evidence.find((a) => a.name === name)?.body ?? Buffer.alloc(0);

  it('redacts it from the failure snapshot: rendered DOM, console and error', async () => {
    const password = 'Canary-Echoed-<&>-9d41"x';

    const failure = await rejectedWith(password);

    expect(classifyFailure(failure)).toMatchObject({ reason: 'login-rejected' });
    const texts = failure.evidence
      .filter((a) => a.name !== 'failure-screenshot.png')
      .map((a) => ({ where: a.name, text: a.body.toString('utf8') }));
    expect(texts.map((t) => t.where).sort()).toEqual(['failure-console.json', 'failure-rendered.html']);
    expect(leaksIn(texts, [password])).toEqual([]);
    expect(artifact(failure, 'failure-rendered.html').toString('utf8')).toMatch(
      /Wrong password: <b[^>]*>\[redacted\]<\/b>/,
    );
  });

  it('masks it in the failure screenshot: two passwords of one length leave the same picture', async () => {
    const first = await rejectedWith('Canary-Shown-11111111');
    const second = await rejectedWith('Canary-Shown-99999999');

    const [a, b] = [artifact(first, 'failure-screenshot.png'), artifact(second, 'failure-screenshot.png')];
    expect(a.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(a.equals(b)).toBe(true);
  });
});

/** The demo portal, but every page it serves once signed in shows the password, in text and markup. */
async function startOversharingPortal(password: string): Promise<{ origin: string; close(): Promise<void> }> {
  const portal = createPortal({ username: 'sluice', password });
  const shown = password.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    const end = res.end.bind(res) as (body?: unknown) => ServerResponse;
    res.end = ((body?: unknown) =>
      end(
        typeof body === 'string' && body.includes('data-signed-in')
          ? body.replace('</main>', `<p class="echo" title=${JSON.stringify(password)}>${shown}</p></main>`)
          : body,
      )) as typeof res.end;
    portal.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a portal that shows the password on the pages it serves once signed in', () => {
  let browsers: BrowserSession;

  beforeAll(() => {
    browsers = new BrowserSession((proxyUrl) =>
      launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
    );
  });

  afterAll(async () => {
    await browsers?.close();
  });

  async function collectWith(password: string) {
    const portal = await startOversharingPortal(password);
    const collector = new BrowserCollector(browsers, {
      navigationTimeoutMs: 10_000,
      stepTimeoutMs: 5_000,
      jobTimeoutMs: 30_000,
      originOverrides: { [demoPortal.origin]: portal.origin },
      userAgent: 'sluice-test',
      credentials: new FixedCredentials({ username: 'sluice', password }),
      // Each portal is a new one: its sessions are not this one's.
      sessions: new LoginSessions(),
    });
    if (demoPortal.kind !== 'browser') throw new Error('demo-portal is a browser source');
    return collector
      .collect(demoPortal, {
        input: { account: 'acme', period: '2026-03' },
        traceId: 'trace-echo-2',
        jobKey: 'k-echo-2',
      })
      .finally(() => portal.close());
  }

  it('stores no shape of it in any artifact of the collection', async () => {
    const password = 'Canary-Signed-In-"&<7e19>';

    const collection = await collectWith(password);

    const texts = collection.artifacts
      .filter((a) => a.name !== 'screenshot.png')
      .map((a) => ({ where: a.name, text: a.body.toString('utf8') }));
    expect(texts.map((t) => t.where).sort()).toEqual([
      'acknowledgement.html',
      'console.json',
      'rendered.html',
      'response.html',
    ]);
    expect(leaksIn(texts, [password])).toEqual([]);
    expect(collection.branches).toContain('secret-redacted');
    expect(collection.artifacts.find((a) => a.name === 'rendered.html')?.body.toString('utf8')).toContain(
      'data-period="2026-03"',
    );
  });

  it('masks it in the screenshot: two passwords of one length leave the same picture', async () => {
    const first = await collectWith('Canary-Signed-In-1111');
    const second = await collectWith('Canary-Signed-In-9999');

    const screenshot = (c: typeof first) => c.artifacts.find((a) => a.name === 'screenshot.png')?.body;
    expect(screenshot(first)?.equals(screenshot(second) ?? Buffer.alloc(0))).toBe(true);
  });
});

describe('a login the portal rejects, from Secrets Manager (moto)', () => {
  let emulator: Emulator;
  let secrets: SecretsManagerClient;
  let browsers: BrowserSession;

  beforeAll(async () => {
    emulator = await startEmulator({ logFile: join(SCRATCH_DIR, 'logs', 'credentials-moto.log') });
    secrets = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    browsers = new BrowserSession((proxyUrl) =>
      launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
    );
  });

  afterAll(async () => {
    await browsers?.close();
    await emulator?.stop();
  });

  it('is read again at once: an operator who fixes the secret and requeues succeeds', async () => {
    const portal = createPortal({ username: 'sluice', password: 'Fixed-Password-2' });
    const server = createServer((req, res) => portal.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { ARN } = await secrets.send(
      new CreateSecretCommand({
        Name: 'demo-portal-login-rejected',
        SecretString: JSON.stringify({ username: 'sluice', password: 'Stale-Password-1' }),
      }),
    );
    const collector = new BrowserCollector(browsers, {
      navigationTimeoutMs: 10_000,
      stepTimeoutMs: 5_000,
      jobTimeoutMs: 30_000,
      originOverrides: { [demoPortal.origin]: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
      userAgent: 'sluice-test',
      credentials: new SecretsManagerCredentials(secrets, () => ARN ?? ''),
    });
    const source = demoPortal;
    if (source.kind !== 'browser') throw new Error('demo-portal is a browser source');
    const job = (n: number) =>
      collector.collect(source, {
        input: { account: 'acme', period: '2026-04' },
        traceId: `trace-rejected-${n}`,
        jobKey: `k-rejected-${n}`,
      });

    const rejected = await job(1).catch((error: unknown) => error);
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: ARN,
        SecretString: JSON.stringify({ username: 'sluice', password: 'Fixed-Password-2' }),
      }),
    );
    const requeued = await job(2).catch((error: unknown) => error);
    await new Promise<void>((resolve) => server.close(() => resolve()));

    expect(classifyFailure(rejected)).toMatchObject({ reason: 'login-rejected' });
    expect(requeued).not.toBeInstanceOf(Error);
    expect({ refused: portal.refusedLogins, accepted: portal.logins }).toEqual({ refused: 1, accepted: 1 });
  });
});
