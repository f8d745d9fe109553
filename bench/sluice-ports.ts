/**
 * The benchmark's one seam with Sluice's code. Every Sluice constructor, option and function the
 * benchmark uses is reached through here, so when the collector, transform or replay modules
 * change shape, this file is the one to adapt. Each collector is built with the options its Lambda
 * entry point uses (functions/collector/*-handler.ts), read from the synthesized template where
 * the template holds them.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import chromium from '@sparticuz/chromium';
import type { Browser } from 'playwright-core';
import {
  BrowserCollector,
  BrowserSession,
  LoginSessions,
  launchChromium,
  safeChromiumArgs,
} from '../functions/adapters/browser-collector.js';
import { HttpCollector } from '../functions/adapters/http-collector.js';
import { DynamoJobLedger } from '../functions/adapters/job-ledger.js';
import { S3RawStore } from '../functions/adapters/raw-store.js';
import { DynamoRecordStore, dataWrite, touchWrite } from '../functions/adapters/record-store.js';
import {
  type CollectJobDeps,
  type CollectOutcome,
  collectJob,
  type JobMessage,
} from '../functions/core/collect-job.js';
import type { Collection, CollectRequest } from '../functions/core/collection.js';
import type { CollectJob } from '../functions/core/contracts.js';
import type {
  FollowUpQueue,
  JobClaims,
  JobLedger,
  RawCatalog,
  RawStore,
  RecordStore,
} from '../functions/core/ports.js';
import { recordKey } from '../functions/core/record-upsert.js';
import {
  RecentWrites,
  readObservations,
  type TransformResult,
  transformManifest,
} from '../functions/core/transform-manifest.js';
import { demoOriginOverrides } from '../local/demo-site/server.js';
import type { LocalFunctionSpec } from '../local/provision.js';
import type { SourceDefinition, SourceParser } from '../sources/define.js';
import { findParser as registeredParser } from '../sources/parsers.js';
import { findSource as registeredSource, sources } from '../sources/registry.js';

/** What the collector's core writes attempts to and claims jobs in (one table, one adapter). */
export type CollectorLedger = JobLedger & JobClaims;

export type {
  Collection,
  CollectOutcome,
  JobClaims,
  JobLedger,
  JobMessage,
  RawStore,
  RecordStore,
  TransformResult,
};

export function findSource(name: string): SourceDefinition {
  const source = registeredSource(name);
  if (source === undefined) throw new Error(`no source named ${name} in sources/registry.ts`);
  return source;
}

export function findParser(name: string): SourceParser {
  const parser = registeredParser(name);
  if (parser === undefined) throw new Error(`no parser for ${name} in sources/parsers.ts`);
  return parser;
}

/** The local profile: every demo source's production origin mapped to the running demo site. */
export function localOriginOverrides(demoSiteOrigin: string): { [origin: string]: string } {
  return demoOriginOverrides(sources, demoSiteOrigin);
}

export function rawStore(s3: S3Client, bucket: string): RawStore {
  return new S3RawStore(s3, bucket);
}

export function jobLedger(documents: DynamoDBDocumentClient, table: string): DynamoJobLedger {
  return new DynamoJobLedger(documents, table);
}

export function recordStore(documents: DynamoDBDocumentClient, table: string): RecordStore {
  return new DynamoRecordStore(documents, table);
}

/**
 * The Chromium binary both Sluice and the baseline run: `SLUICE_CHROMIUM_EXECUTABLE` when set
 * (as the collector honours it), else @sparticuz/chromium's, unpacked into TMPDIR on first call.
 */
export async function chromiumExecutable(): Promise<string> {
  return process.env.SLUICE_CHROMIUM_EXECUTABLE ?? chromium.executablePath();
}

/**
 * The launch options Sluice's collector uses (launchChromium), for a baseline to copy. Sluice also
 * routes the browser through its deny-all egress proxy (each job's context gets its own guarded
 * proxy); a baseline has no such proxy, and that cost stays in Sluice's figures.
 */
export function sluiceLaunchOptions(executablePath: string) {
  return {
    executablePath,
    args: safeChromiumArgs(chromium.args),
    headless: true,
    chromiumSandbox: false,
  } as const;
}

/** Launches Chromium exactly as the browser collector does, behind the proxy at `proxyUrl`. */
export function launchSluiceChromium(executablePath: string, proxyUrl: string): Promise<Browser> {
  return launchChromium(executablePath, proxyUrl);
}

/**
 * A browser session as the browser collector's container holds one: the first `current()` starts
 * the deny-all egress proxy and launches Chromium, as a cold container's first job does.
 */
export function browserSession(launch: (proxyUrl: string) => Promise<Browser>): BrowserSession {
  return new BrowserSession(launch);
}

function collectorEnvironment(functions: ReadonlyMap<string, LocalFunctionSpec>, entry: string) {
  const spec = [...functions.values()].find((f) => f.entry === entry);
  if (spec === undefined) throw new Error(`the template has no function built from ${entry}`);
  const variable = (name: string): number => {
    const value = Number(spec.environment[name]);
    if (!Number.isFinite(value)) throw new Error(`${entry}: ${name} is not a number in the template`);
    return value;
  };
  return variable;
}

export interface Collector {
  collect(source: SourceDefinition, request: CollectRequest): Promise<Collection>;
  close(): Promise<void>;
}

/** The browser collector with browser-handler.ts's options; `launch` may wrap the real launch. */
export function browserCollector(options: {
  readonly functions: ReadonlyMap<string, LocalFunctionSpec>;
  readonly originOverrides: { [origin: string]: string };
  readonly launch: (proxyUrl: string) => Promise<Browser>;
}): Collector {
  const setting = collectorEnvironment(options.functions, 'functions/collector/browser-handler.ts');
  const session = new BrowserSession(options.launch);
  const collector = new BrowserCollector(session, {
    navigationTimeoutMs: setting('NAVIGATION_TIMEOUT_MS'),
    stepTimeoutMs: setting('READY_TIMEOUT_MS'),
    jobTimeoutMs: setting('JOB_TIMEOUT_MS'),
    originOverrides: options.originOverrides,
    // As in browser-handler.ts (the demo sources need no credentials; resources are blocked per
    // source, by the collector itself).
    userAgent: 'Sluice/0.1 (+collector; headless)',
    sessions: new LoginSessions(),
  });
  return {
    collect: (source, request) => {
      if (source.kind !== 'browser') throw new Error(`${source.name} is not a browser source`);
      return collector.collect(source, request);
    },
    close: () => session.close(),
  };
}

/** The HTTP collector with http-handler.ts's options. */
export function httpCollector(options: {
  readonly functions: ReadonlyMap<string, LocalFunctionSpec>;
  readonly originOverrides: { [origin: string]: string };
}): Collector {
  const setting = collectorEnvironment(options.functions, 'functions/collector/http-handler.ts');
  const collector = new HttpCollector({
    timeoutMs: setting('HTTP_TIMEOUT_MS'),
    maxBodyBytes: setting('MAX_BODY_BYTES'),
    // As in http-handler.ts.
    maxRedirects: 5,
    userAgent: 'Sluice/0.1 (+collector)',
    originOverrides: options.originOverrides,
  });
  return {
    collect: (source, request) => {
      if (source.kind !== 'http') throw new Error(`${source.name} is not an HTTP source`);
      return collector.collect(source, request);
    },
    close: async () => undefined,
  };
}

/** Why a collection did not collect, in one line. */
export function outcomeProblem(outcome: Exclude<CollectOutcome, { status: 'collected' }>): string {
  switch (outcome.status) {
    case 'failed':
      return `${outcome.error.reason}: ${outcome.error.message}`;
    case 'duplicate':
      return `duplicate: already collected at ${outcome.collectedAt.toISOString()}`;
    case 'deferred':
      return `deferred by ${outcome.delaySeconds} s: another delivery holds the claim`;
    case 'scheduled':
      return `a scheduled run, not a collection (${outcome.followUps.accepted.length} job(s) started)`;
  }
}

/** A first delivery of `job`, as the SQS adapter hands it to the core. */
export function jobMessage(job: CollectJob, messageId: string): JobMessage {
  return { messageId, body: JSON.stringify(job), receiveCount: 1, sentAt: new Date(), deliveryId: messageId };
}

/**
 * The benchmark sends only first deliveries of new jobs, and the collector lists raw storage only
 * when it takes over from a delivery that died (or is past its budget): if that ever happens here,
 * the measurement is wrong, so the job fails loudly instead of listing.
 */
const FIRST_DELIVERIES_LIST_NOTHING: RawCatalog = {
  listKeys: () => {
    throw new Error('a benchmark delivery tried to list raw storage: only first deliveries are measured');
  },
};

/** The benchmark's jobs ask for no follow-ups from the collector; one that did would be measured wrong. */
const NO_FOLLOW_UPS: FollowUpQueue = {
  enqueue: async (followUps) => {
    if (followUps.length > 0) throw new Error('a benchmark collection asked for follow-ups');
  },
};

/** At least the longest collector timeout (the browser's, 120 s): a claim outlives its collection. */
const CLAIM_LEASE_MS = 3 * 60_000;

/**
 * One collection through the collector's core: claim, fetch, raw artifacts, manifest last,
 * ledger. The ledger is also the claims store, as in collector-entry.ts.
 */
export function collectOne(
  message: JobMessage,
  deps: {
    readonly collect: CollectJobDeps['collect'];
    readonly rawStore: RawStore;
    readonly ledger: CollectorLedger;
  },
): Promise<CollectOutcome> {
  return collectJob(message, {
    ...deps,
    claims: deps.ledger,
    catalog: FIRST_DELIVERIES_LIST_NOTHING,
    leaseUntil: () => new Date(Date.now() + CLAIM_LEASE_MS),
    findSource: registeredSource,
    clock: () => new Date(),
    followUpQueue: NO_FOLLOW_UPS,
  });
}

export { dataWrite, RecentWrites, recordKey, touchWrite };

/**
 * One transform through the transform's core: manifest, raw body, parse, validate, upserts. The
 * handler's ledger attempt and freshness mark after it are not included. `recentWrites` is what a
 * transform container keeps across the manifests it handles (manifest-batch-handler.ts makes one
 * per container): pass one per simulated container, never a new one per call.
 */
export function transformOne(
  manifestKey: string,
  deps: {
    readonly rawStore: RawStore;
    readonly recordStore: RecordStore;
    readonly recentWrites: RecentWrites;
  },
): Promise<TransformResult> {
  return transformManifest(manifestKey, { ...deps, findParser: registeredParser });
}

/** The transform's reading half alone (manifest, raw body, parse, validate), for what-ifs of the writes. */
export function observationsOf(manifestKey: string, rawStore: RawStore) {
  return readObservations(manifestKey, { rawStore, findParser: registeredParser });
}
