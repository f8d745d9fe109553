/**
 * What a chaos run sends and which faults it plans, all derived from the seed: the jobs (a mix
 * of every demo source), the jobs whose pages change their layout, the collectors that die,
 * the job messages upstream sends twice, and the poison messages. The checker holds the outcome
 * to this plan.
 */
import type { CollectJob } from '../../functions/core/contracts.js';
import { jobKeyFromJobId } from '../../functions/core/job-key.js';
import { sources } from '../../sources/registry.js';
import { SHIPMENT_PAGES } from '../demo-site/api.js';
import { CATALOG_CATEGORIES, CATALOG_PAGES, RATE_BOARDS } from '../demo-site/data.js';
import { BROKEN_WAREHOUSE, INVENTORY_WAREHOUSES } from '../demo-site/exports.js';
import type { SiteFaultRates } from '../demo-site/site-faults.js';
import type { AwsFaultRates } from './aws-fault-proxy.js';
import { draw, drawInt, drawUuid, pickShare } from './draw.js';

export interface ChaosRates {
  /** Per request to the demo site's normal routes. */
  readonly site: SiteFaultRates;
  /** Share of jobs whose pages show a changed layout on every request. */
  readonly layoutChanged: number;
  /** Per call from a function to S3 or DynamoDB. */
  readonly aws: AwsFaultRates;
  /** Share of received messages the local event source mapping delivers twice. */
  readonly duplicateDelivery: number;
  /** Share of jobs upstream sends twice (the same body, a little later). */
  readonly duplicateJobMessage: number;
  /** Share of S3 notifications that arrive twice, the copy delayed (so out of order). */
  readonly duplicateS3Event: number;
  /** Poison messages, as a share of the job count. */
  readonly poison: number;
  /** Share of jobs whose collector dies after writing raw data, before the message is acknowledged. */
  readonly collectorCrash: number;
}

/** The `npm run chaos` defaults: every fault present, at rates a busy real week might show. */
export const DEFAULT_CHAOS_RATES: ChaosRates = {
  site: { serverError: 0.05, throttle: 0.04, hang: 0.01, captcha: 0.01 },
  layoutChanged: 0.02,
  aws: {
    s3SlowDown: 0.04,
    s3InternalError: 0.02,
    dynamoThroughputExceeded: 0.03,
    dynamoThrottling: 0.02,
    dynamoInternalError: 0.02,
  },
  duplicateDelivery: 0.03,
  duplicateJobMessage: 0.03,
  duplicateS3Event: 0.05,
  poison: 0.03,
  collectorCrash: 0.02,
};

export const DEFAULT_CHAOS_SEED = 'sluice-chaos-1';

export type CrashPoint = 'after-raw' | 'after-ledger';

/** What the plan says must become of a job, whatever transient faults it meets on the way. */
export type PlannedEnd = 'records' | 'hand-off' | 'dead-letter';

export interface PlannedJob {
  readonly index: number;
  readonly job: CollectJob & { readonly jobId: string; readonly traceId: string };
  readonly jobKey: string;
  readonly source: string;
  readonly layoutChanged: boolean;
  /** Where its collector dies, once, if it does. */
  readonly crash?: CrashPoint;
  /** Upstream sends the job again after this many seconds. */
  readonly resendAfterSeconds?: number;
  /**
   * `records` unless a permanent fault was planned: a changed layout (a hand-off after the
   * transform finds nothing, or a DLQ entry when the browser's ready selector never shows), the
   * legacy export (records fail validation: hand-off), a portal account that needs approval.
   * Transient faults can still end a job in its DLQ (budget spent) or with a person (a captcha).
   */
  readonly permanent?: { readonly end: Exclude<PlannedEnd, 'records'>; readonly why: string };
}

export const POISON_KINDS = [
  'not-json',
  'not-a-job',
  'unknown-source',
  'invalid-input',
  'oversized',
  'wrong-queue',
  'transform-not-json',
  'transform-not-s3-event',
  'transform-bad-key',
  'transform-missing-manifest',
] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

export interface PlannedPoison {
  readonly id: string;
  readonly kind: PoisonKind;
  /** A source's jobs queue, or the transform queue. */
  readonly queue: { readonly stage: 'collect'; readonly source: string } | { readonly stage: 'transform' };
  readonly body: string;
  /** The `sluice-reason` its DLQ entry must carry. */
  readonly expectedReason: string;
  /** For poison that names a jobId: the key it must never produce records or tasks under. */
  readonly jobKey?: string;
}

export interface ChaosPlan {
  readonly seed: string;
  readonly rates: ChaosRates;
  readonly jobs: readonly PlannedJob[];
  readonly poison: readonly PlannedPoison[];
}

export interface PlanOptions {
  readonly jobs: number;
  readonly seed: string;
  readonly rates: ChaosRates;
  /**
   * Collector crashes are planned among the first share of each source's jobs, so that the
   * wait for their messages to come back (the visibility timeout, at least the collector's
   * function timeout) overlaps the rest of the run instead of extending its tail. @default 0.3
   */
  readonly crashWindow?: number;
  /** Plan crashes for browser jobs too (their visibility timeout is 120 s locally). @default true */
  readonly crashBrowserJobs?: boolean;
  /** For the bucket name in poison S3 events. */
  readonly rawBucket?: string;
}

/** In every 20 jobs: 8 catalogue pages, 4 shipments pages, 3 inventory exports, 3 rate boards, 2 portal requests. */
const MIX: readonly string[] = [
  'demo-catalog',
  'demo-shipments',
  'demo-catalog',
  'demo-inventory',
  'demo-rates',
  'demo-catalog',
  'demo-shipments',
  'demo-portal',
  'demo-catalog',
  'demo-inventory',
  'demo-catalog',
  'demo-rates',
  'demo-shipments',
  'demo-catalog',
  'demo-inventory',
  'demo-catalog',
  'demo-portal',
  'demo-shipments',
  'demo-rates',
  'demo-catalog',
];

const PORTAL_ACCOUNTS = 8;
const PORTAL_PERIODS = 6;

function inputFor(
  source: string,
  nth: number,
): { input: { [key: string]: unknown }; permanent?: PlannedJob['permanent'] } {
  switch (source) {
    case 'demo-catalog': {
      const combo = nth % (CATALOG_CATEGORIES.length * CATALOG_PAGES);
      return {
        input: {
          category: CATALOG_CATEGORIES[combo % CATALOG_CATEGORIES.length] ?? 'tools',
          page: Math.floor(combo / CATALOG_CATEGORIES.length) + 1,
        },
      };
    }
    case 'demo-shipments':
      // Each job follows the next pages to the last by itself (follow-up jobs); starting near the
      // end keeps the trees small. Every fourth asks for the page past the last: no-such-page.
      return nth % 4 === 3
        ? {
            input: { page: SHIPMENT_PAGES + 1 },
            permanent: { end: 'dead-letter', why: 'the page past the last does not exist (no-such-page)' },
          }
        : { input: { page: SHIPMENT_PAGES - (nth % 3) } };
    case 'demo-inventory':
      // Every 25th export is the legacy warehouse's, which has a row no rule can read.
      return nth % 25 === 24
        ? {
            input: { warehouse: BROKEN_WAREHOUSE },
            permanent: { end: 'hand-off', why: 'the legacy export has an unreadable row' },
          }
        : { input: { warehouse: INVENTORY_WAREHOUSES[nth % INVENTORY_WAREHOUSES.length] ?? 'north' } };
    case 'demo-rates':
      return { input: { board: RATE_BOARDS[nth % RATE_BOARDS.length] ?? 'majors' } };
    case 'demo-portal': {
      const period = `2026-${String((Math.floor(nth / PORTAL_ACCOUNTS) % PORTAL_PERIODS) + 1).padStart(2, '0')}`;
      // Every 20th request is for an account whose requests need approval: a person decides.
      return nth % 20 === 19
        ? {
            input: { account: `needs-approval-${(nth % 3) + 1}`, period },
            permanent: { end: 'hand-off', why: 'the portal wants the request approved' },
          }
        : { input: { account: `acme-${(nth % PORTAL_ACCOUNTS) + 1}`, period } };
    }
    default:
      throw new Error(`no chaos inputs for source ${source}`);
  }
}

function poisonFor(
  kind: PoisonKind,
  n: number,
  seed: string,
  rawBucket: string,
): Omit<PlannedPoison, 'id' | 'kind'> {
  const jobId = `chaos-poison-${n}`;
  const httpSources = ['demo-catalog', 'demo-shipments', 'demo-inventory'];
  const anySource = sources[n % sources.length]?.name ?? 'demo-catalog';
  const httpSource = httpSources[n % httpSources.length] ?? 'demo-catalog';
  const s3Event = (key: string) =>
    JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { s3SchemaVersion: '1.0', bucket: { name: rawBucket }, object: { key, size: 512 } },
        },
      ],
    });
  switch (kind) {
    case 'not-json':
      return {
        queue: { stage: 'collect', source: anySource },
        body: `{"source": "${anySource}", oops ${n}`,
        expectedReason: 'message-not-json',
      };
    case 'not-a-job':
      return {
        queue: { stage: 'collect', source: anySource },
        body: JSON.stringify({ hello: 'world', n }),
        expectedReason: 'message-invalid',
      };
    case 'unknown-source':
      return {
        queue: { stage: 'collect', source: anySource },
        body: JSON.stringify({ source: 'no-such-source', input: { n }, jobId }),
        expectedReason: 'unknown-source',
        jobKey: jobKeyFromJobId(jobId),
      };
    case 'invalid-input':
      return {
        queue: { stage: 'collect', source: 'demo-catalog' },
        body: JSON.stringify({ source: 'demo-catalog', input: { category: 'DROP TABLE', page: -n }, jobId }),
        expectedReason: 'input-invalid',
        jobKey: jobKeyFromJobId(jobId),
      };
    case 'oversized':
      return {
        queue: { stage: 'collect', source: httpSource },
        body: JSON.stringify({ source: httpSource, input: { page: 1 }, jobId, padding: 'x'.repeat(100_000) }),
        expectedReason: 'message-too-large',
      };
    case 'wrong-queue':
      // A browser source's job on an HTTP source's queue: the queue says whose job it is, so the
      // collector refuses it before anything is fetched.
      return {
        queue: { stage: 'collect', source: httpSource },
        body: JSON.stringify({ source: 'demo-rates', input: { board: 'majors' }, jobId }),
        expectedReason: 'wrong-queue',
        jobKey: jobKeyFromJobId(jobId),
      };
    case 'transform-not-json':
      return {
        queue: { stage: 'transform' },
        body: `<Event>not json ${n}</Event>`,
        expectedReason: 'message-not-json',
      };
    case 'transform-not-s3-event':
      return {
        queue: { stage: 'transform' },
        body: JSON.stringify({ Records: [{ eventName: 42, n }] }),
        expectedReason: 'message-invalid',
      };
    case 'transform-bad-key':
      return {
        queue: { stage: 'transform' },
        body: s3Event(`raw/source=demo-catalog/dt=2026-11-27/id-${jobId}/x/%ZZ${n}/manifest.json`),
        expectedReason: 'message-invalid',
      };
    case 'transform-missing-manifest':
      // Names a manifest that was never written: reading it fails until the budget is spent.
      return {
        queue: { stage: 'transform' },
        body: s3Event(
          `raw/source=demo-catalog/dt=2026-11-27/id-${jobId}/${drawUuid(seed, 'missing', n)}/manifest.json`,
        ),
        expectedReason: 'retries-exhausted',
      };
  }
}

export function planChaosRun(options: PlanOptions): ChaosPlan {
  const { seed, rates } = options;
  if (!Number.isInteger(options.jobs) || options.jobs < 1) {
    throw new RangeError(`job count must be a positive integer, got ${options.jobs}`);
  }
  const perSource = new Map<string, number>();
  const drafts = Array.from({ length: options.jobs }, (_, index) => {
    const source = MIX[index % MIX.length] ?? 'demo-catalog';
    const nth = perSource.get(source) ?? 0;
    perSource.set(source, nth + 1);
    const { input, permanent } = inputFor(source, nth);
    const jobId = `chaos-${String(index + 1).padStart(5, '0')}`;
    const job = {
      source,
      input,
      jobId,
      traceId: drawUuid(seed, 'trace', index),
      priority: 'normal' as const,
    };
    return { index, nth, source, job, jobKey: jobKeyFromJobId(jobId), permanent };
  });

  const kindOf = (source: string) => sources.find((s) => s.name === source)?.kind;
  const ordinary = drafts.filter((d) => d.permanent === undefined);
  const layoutChanged = pickShare(ordinary, rates.layoutChanged, seed, 'layout', (d) => d.job.jobId);
  const crashWindow = options.crashWindow ?? 0.3;
  const crashCandidates = ordinary.filter(
    (d) =>
      !layoutChanged.has(d) &&
      d.nth < Math.max(1, Math.ceil(crashWindow * (perSource.get(d.source) ?? 0))) &&
      (options.crashBrowserJobs !== false || kindOf(d.source) === 'http'),
  );
  const crashCount = rates.collectorCrash <= 0 ? 0 : Math.ceil(rates.collectorCrash * options.jobs);
  const crashes = pickShare(
    crashCandidates,
    crashCandidates.length === 0 ? 0 : Math.min(1, crashCount / crashCandidates.length),
    seed,
    'crash',
    (d) => d.job.jobId,
  );
  const resent = pickShare(drafts, rates.duplicateJobMessage, seed, 'resend', (d) => d.job.jobId);

  let crashNumber = 0;
  const jobs = drafts.map((d): PlannedJob => {
    const crash: CrashPoint | undefined = crashes.has(d)
      ? crashNumber++ % 2 === 0
        ? 'after-raw'
        : 'after-ledger'
      : undefined;
    const changed = layoutChanged.has(d);
    const browser = kindOf(d.source) === 'browser';
    const permanent: PlannedJob['permanent'] = changed
      ? browser
        ? { end: 'dead-letter', why: "the page's layout changed: the ready selector never shows" }
        : { end: 'hand-off', why: "the page's layout changed: the parser finds no valid records" }
      : d.permanent;
    return {
      index: d.index,
      job: d.job,
      jobKey: d.jobKey,
      source: d.source,
      layoutChanged: changed,
      ...(crash === undefined ? {} : { crash }),
      ...(resent.has(d) ? { resendAfterSeconds: drawInt(1, 30, seed, 'resend-delay', d.index) } : {}),
      ...(permanent === undefined ? {} : { permanent }),
    };
  });

  const poisonCount =
    rates.poison <= 0 ? 0 : Math.max(POISON_KINDS.length, Math.ceil(rates.poison * options.jobs));
  const poison = Array.from({ length: poisonCount }, (_, n): PlannedPoison => {
    const kind = POISON_KINDS[n % POISON_KINDS.length] ?? 'not-json';
    return {
      id: `poison-${n + 1}`,
      kind,
      ...poisonFor(kind, n + 1, seed, options.rawBucket ?? 'raw-bucket'),
    };
  });
  return { seed, rates, jobs, poison };
}

/** Whether the demo site must serve a job a changed layout (by its trace ID). */
export function layoutChangedTraces(plan: ChaosPlan): ReadonlySet<string> {
  return new Set(plan.jobs.filter((j) => j.layoutChanged).map((j) => j.job.traceId));
}

/** A stable draw for things the harness decides as the run goes (which S3 event to copy). */
export function harnessDraw(plan: ChaosPlan, ...parts: readonly (string | number)[]): number {
  return draw(plan.seed, 'harness', ...parts);
}

/** Every rate `--rates` can set, by its dotted name (`site.serverError`, `collectorCrash`, ...). */
export function rateNames(rates: ChaosRates = DEFAULT_CHAOS_RATES): string[] {
  return Object.entries(rates).flatMap(([name, value]) =>
    typeof value === 'number' ? [name] : Object.keys(value as object).map((inner) => `${name}.${inner}`),
  );
}

/**
 * Applies `name=value,name=value` (dotted names, values in [0, 1]) to `base`. Refuses unknown
 * names and values out of range, naming them.
 */
export function parseRates(text: string, base: ChaosRates = DEFAULT_CHAOS_RATES): ChaosRates {
  const rates = structuredClone(base) as unknown as { [name: string]: number | { [name: string]: number } };
  const known = new Set(rateNames(base));
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const [name = '', value = ''] = part.split('=').map((p) => p.trim());
    if (!known.has(name)) {
      throw new RangeError(`unknown rate ${JSON.stringify(name)}; expected one of ${[...known].join(', ')}`);
    }
    const rate = Number(value);
    if (value === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new RangeError(`rate ${name} must be a number in [0, 1], got ${JSON.stringify(value)}`);
    }
    const [outer = '', inner] = name.split('.');
    const group = rates[outer];
    if (inner === undefined) rates[outer] = rate;
    else if (typeof group === 'object') group[inner] = rate;
  }
  return rates as unknown as ChaosRates;
}
