/**
 * A new user's own sources, collected by the real collectors against a supplier site on this
 * machine (local/demo-site/supplier.ts): a JSON price list behind a bearer token or basic auth,
 * a CSV export behind a login form (a session cookie) over HTTP, and the same export downloaded
 * in Chromium. Credentials come from a store standing in for the source's secret; none of them
 * may show up in an artifact or an error, and a refused one is dropped from the cache at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrowserCollector,
  BrowserSession,
  launchChromium,
} from '../../functions/adapters/browser-collector.js';
import { HttpCollector } from '../../functions/adapters/http-collector.js';
import { HttpSessions } from '../../functions/adapters/http-sign-in.js';
import type { CredentialStore, SecretOf } from '../../functions/adapters/source-credentials.js';
import { classifyFailure } from '../../functions/core/classify-failure.js';
import type { Collection } from '../../functions/core/collection.js';
import { TransientError } from '../../functions/core/errors.js';
import { nextStepWithin } from '../../functions/core/retry-policy.js';
import {
  createSupplierSite,
  SUPPLIER_INVOICES_CSV,
  type SupplierSite,
} from '../../local/demo-site/supplier.js';
import {
  type BrowserSourceDefinition,
  type CredentialShape,
  defineSource,
  type HttpSourceDefinition,
} from '../../sources/define.js';
import { sourceWorkflow } from '../../sources/workflow.js';

const TOKEN = 'tok-Canary-5d1f0c9a7e';
const LOGIN = { username: 'sluice-ops', password: 'Canary-Pw-8e41b2f7c3' };

/** The source's secret, as a store that caches until told to forget (like Powertools' provider). */
class SecretStore implements CredentialStore {
  reads = 0;
  forgotten = 0;
  private cached: { [shape: string]: unknown } | undefined;
  constructor(public secret: { token?: string; username?: string; password?: string }) {}
  async read<S extends CredentialShape>(_source: string, shape: S): Promise<SecretOf<S>> {
    this.reads += 1;
    this.cached ??= { ...this.secret };
    const value = this.cached;
    if (shape === 'token') return { token: String(value.token) } as SecretOf<S>;
    return { username: String(value.username), password: String(value.password) } as SecretOf<S>;
  }
  forget(): void {
    this.forgotten += 1;
    this.cached = undefined;
  }
}

const common = {
  title: 'Supplier',
  description: 'a supplier site',
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-data',
  },
  freshnessSlaMinutes: 24 * 60,
  dedupeWindowSeconds: 3600,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 2,
  batchSize: 1,
  origin: 'https://supplier.example',
  allowedHosts: ['supplier.example'],
};
const httpWorkflow = (signInStep?: string) =>
  sourceWorkflow({
    kind: 'http',
    ...(signInStep === undefined ? {} : { signInStep }),
    collect: [{ id: 'fetch', does: 'GET it', owner: 'collection', stage: 'collect' }],
    transform: {
      parses: 'rows',
      noRecordsDecidedBy: 'transformation',
      invalidRecordsDecidedBy: 'businessRules',
    },
  });

function httpSource(name: string, path: string, auth?: HttpSourceDefinition['auth']): HttpSourceDefinition {
  const source = defineSource({
    ...common,
    name,
    kind: 'http',
    ...(auth === undefined ? {} : { auth }),
    workflow: httpWorkflow(auth === undefined ? undefined : 'fetch'),
    request: () => ({ path, accept: path.endsWith('.csv') ? 'text/csv' : 'application/json' }),
  });
  if (source.kind !== 'http') throw new Error('an http source');
  return source;
}

const FORM = {
  kind: 'form',
  path: '/supplier/login',
  usernameField: 'username',
  passwordField: 'password',
} as const;

let server: Server;
let site: SupplierSite;
let origin: string;

beforeAll(async () => {
  site = createSupplierSite({ token: TOKEN, ...LOGIN, bigBytes: 1024 * 1024 });
  server = createServer((req, res) => {
    if (!site.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function httpCollector(credentials: CredentialStore, sessions = new HttpSessions()) {
  return new HttpCollector({
    timeoutMs: 10_000,
    maxBodyBytes: 5 * 1024 * 1024,
    maxRedirects: 5,
    userAgent: 'sluice-test',
    originOverrides: { 'https://supplier.example': origin },
    credentials,
    sessions,
  });
}

const request = (n: number) => ({ input: {}, traceId: `trace-own-${n}`, jobKey: `k-own-${n}` });

/** Every text a collection or failure could carry into raw storage, the ledger or a log. */
function textsOf(outcome: Collection | unknown): string {
  if (outcome instanceof Error) {
    const parts: string[] = [];
    for (let current: unknown = outcome, depth = 0; current instanceof Error && depth < 8; depth += 1) {
      parts.push(current.message, current.stack ?? '');
      current = current.cause;
    }
    const evidence = (outcome as { evidence?: { body: Buffer }[] }).evidence ?? [];
    return [...parts, ...evidence.map((a) => a.body.toString('utf8'))].join('\n');
  }
  const collection = outcome as Collection;
  return [
    JSON.stringify(collection.branches),
    ...collection.artifacts.map((a) => a.body.toString('utf8')),
  ].join('\n');
}

describe('an HTTP source with a bearer token', () => {
  const prices = httpSource('supplier-prices', '/supplier/api/prices', { kind: 'bearer' });

  it('sends the token from its secret and keeps the JSON exactly, with no token in it', async () => {
    const store = new SecretStore({ token: TOKEN });
    const collection = await httpCollector(store).collect(prices, request(1));

    expect(collection.response.status).toBe(200);
    const [body] = collection.artifacts;
    expect(JSON.parse(body?.body.toString('utf8') ?? '')).toEqual({
      data: [
        { id: 'P-1', name: 'Kaffeebohnen, 1 kg' },
        { id: 'P-2', name: 'Thé vert — Sencha' },
      ],
    });
    expect(textsOf(collection)).not.toContain(TOKEN);
  });

  it('reads the secret again once when the token is refused (rotated), and then succeeds', async () => {
    const store = new SecretStore({ token: TOKEN });
    const collector = httpCollector(store);
    await collector.collect(prices, request(2));
    site.rotateToken('tok-Rotated-77aa0e');
    store.secret = { token: 'tok-Rotated-77aa0e' };

    try {
      const collection = await collector.collect(prices, request(3));

      expect(collection.branches).toContain('credentials-refreshed');
      expect(store.forgotten).toBe(1);
    } finally {
      site.rotateToken(TOKEN);
    }
  });

  it('is login-rejected when the refreshed token is refused too: dropped from the cache, in no error', async () => {
    const store = new SecretStore({ token: 'tok-Wrong-Canary-31c9' });
    const failure = await httpCollector(store)
      .collect(prices, request(4))
      .catch((error: unknown) => error);
    const classified = classifyFailure(failure);

    expect(classified.reason).toBe('login-rejected');
    expect(store.forgotten).toBe(2);
    expect(textsOf(failure)).not.toContain('tok-Wrong-Canary-31c9');
  });
});

describe('an HTTP source with basic auth', () => {
  it('signs every request with the login from its secret', async () => {
    const source = httpSource('supplier-basic', '/supplier/basic/prices', { kind: 'basic' });
    const collection = await httpCollector(new SecretStore(LOGIN)).collect(source, request(5));

    expect(collection.response.status).toBe(200);
    expect(textsOf(collection)).not.toContain(LOGIN.password);
  });
});

describe('a CSV export behind a login form, over HTTP', () => {
  const invoices = httpSource('supplier-invoices', '/supplier/invoices/export.csv', FORM);

  it('signs in once, reuses the session, and signs in again once it has expired', async () => {
    const store = new SecretStore(LOGIN);
    const collector = httpCollector(store);
    const logins = site.counts.logins;

    const first = await collector.collect(invoices, request(6));
    const second = await collector.collect(invoices, request(7));
    site.expireSessions();
    const third = await collector.collect(invoices, request(8));

    expect(first.artifacts[0]?.body.toString('utf8')).toBe(SUPPLIER_INVOICES_CSV);
    expect(first.branches).toContain('logged-in');
    expect(second.branches).toContain('session-reused');
    expect(third.branches).toEqual(
      expect.arrayContaining(['session-reused', 'credentials-refreshed', 'logged-in']),
    );
    expect(site.counts.logins - logins).toBe(2);
    for (const collection of [first, second, third]) {
      expect(collection.artifacts[0]?.contentType).toBe('text/csv; charset=utf-8');
      expect(textsOf(collection)).not.toContain(LOGIN.password);
    }
  });

  it('is login-rejected on a wrong password, which is dropped from the cache at once and shown nowhere', async () => {
    const store = new SecretStore({ ...LOGIN, password: 'Canary-Wrong-Pw-0b7d' });
    const failure = await httpCollector(store)
      .collect(invoices, request(9))
      .catch((error: unknown) => error);

    expect(classifyFailure(failure).reason).toBe('login-rejected');
    expect(store.forgotten).toBeGreaterThanOrEqual(1);
    expect(textsOf(failure)).not.toContain('Canary-Wrong-Pw-0b7d');
  });

  it('without credentials, is login-required: retried once, then handed to a person, never stored', async () => {
    const unsigned = httpSource('supplier-unsigned', '/supplier/invoices/export.csv');
    const failure = await httpCollector(new SecretStore({}))
      .collect(unsigned, request(10))
      .catch((error: unknown) => error);
    const classified = classifyFailure(failure);

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('login-required');
    expect(classified.message).toMatch(/supplier\/login .*login|password/);
    expect(nextStepWithin(unsigned.retry, classified, 1, { random: () => 0.5 }).kind).toBe('retry');
    expect(nextStepWithin(unsigned.retry, classified, 2, { random: () => 0.5 }).kind).toBe('hand-off');
  });
});

describe('a browser source whose artifact is a CSV download', () => {
  let browsers: BrowserSession;

  beforeAll(() => {
    browsers = new BrowserSession((proxyUrl) =>
      launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl),
    );
  });

  afterAll(async () => {
    await browsers?.close();
  });

  function exportSource(
    name: string,
    download: { click: string } | { url: string },
  ): BrowserSourceDefinition {
    const source = defineSource({
      ...common,
      name,
      kind: 'browser',
      login: {
        path: '/supplier/login',
        usernameField: 'form#login input[name="username"]',
        passwordField: 'form#login input[name="password"]',
        submit: 'form#login button[type="submit"]',
        signedInWhen: 'main[data-signed-in="true"]',
        rejectedWhen: '.login-error',
        formWhen: 'form#login',
        secretDescription: 'the supplier login',
      },
      workflow: sourceWorkflow({
        kind: 'browser',
        signInStep: 'render',
        collect: [{ id: 'render', does: 'download it', owner: 'collection', stage: 'collect' }],
        transform: {
          parses: 'rows',
          noRecordsDecidedBy: 'transformation',
          invalidRecordsDecidedBy: 'businessRules',
        },
      }),
      browse: () => ({ path: '/supplier/invoices', readyWhen: 'a#export', download }),
    });
    if (source.kind !== 'browser') throw new Error('a browser source');
    return source;
  }

  function browserCollector(maxJobBytes?: number) {
    return new BrowserCollector(browsers, {
      navigationTimeoutMs: 10_000,
      stepTimeoutMs: 5_000,
      jobTimeoutMs: 60_000,
      originOverrides: { 'https://supplier.example': origin },
      userAgent: 'sluice-test',
      credentials: new SecretStore(LOGIN),
      ...(maxJobBytes === undefined ? {} : { maxJobBytes }),
    });
  }

  it.each([
    ['clicking the export link', { click: 'a#export' }],
    ['opening the export URL', { url: '/supplier/invoices/export.csv' }],
  ] as const)(
    'captures the file by %s, with its content type and name, and parses it as CSV',
    async (_, download) => {
      const source = exportSource(`supplier-export-${'click' in download ? 'click' : 'url'}`, download);
      const collection = await browserCollector().collect(source, request(11));

      const file = collection.artifacts.find((a) => a.name === collection.primaryArtifact);
      expect(file).toMatchObject({
        name: 'invoices-2026-03.csv',
        role: 'body',
        contentType: 'text/csv; charset=utf-8',
      });
      expect(file?.body.toString('utf8')).toBe(SUPPLIER_INVOICES_CSV);
      expect(collection.branches).toEqual(expect.arrayContaining(['logged-in', 'downloaded']));
      expect(parse(file?.body ?? Buffer.alloc(0), { columns: true, bom: true })).toEqual([
        { id: 'INV-1001', name: 'Bolts, zinc' },
        { id: 'INV-1002', name: 'Rondelle ø8 — Müller GmbH' },
        { id: 'INV-1003', name: 'Écrous inox' },
      ]);
      expect(textsOf(collection)).not.toContain(LOGIN.password);
    },
  );

  it('refuses a download past the job byte limit (body-too-large), like an HTTP body', async () => {
    const source = exportSource('supplier-export-big', { click: 'a#export-big' });
    const failure = await browserCollector(256 * 1024)
      .collect(source, request(12))
      .catch((error: unknown) => error);

    expect(classifyFailure(failure).reason).toBe('body-too-large');
  });
});
