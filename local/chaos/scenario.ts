/**
 * The chaos scenario, shared by `npm run chaos` and test/integration/chaos.test.ts: plans the
 * run from its seed, starts the local pipeline with faults injected from the outside (the demo
 * site, a proxy in front of the emulator, the pollers, the Lambda containers), sends the jobs,
 * the poison and the duplicates, copies S3 events, drains everything, reads the ground truth and
 * checks it.
 *
 * Nothing here reaches into the functions: they run their real bundles with their real
 * configuration; only the world around them misbehaves.
 */
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { parseJobMessage } from '../../functions/core/collect-job.js';
import { parseRawKey } from '../../functions/core/raw-layout.js';
import { findSource } from '../../sources/registry.js';
import { SITE_FAULT_KINDS, type SiteFaultKind } from '../demo-site/site-faults.js';
import { type LocalEnvironment, startLocalEnvironment } from '../environment.js';
import { workInQueues } from '../run-tracker.js';
import { type AfterCall, AWS_FAULT_KINDS, type AwsCall, type AwsFaultKind } from './aws-fault-proxy.js';
import { type ChaosCheck, checkChaosRun, type HarnessLog } from './checker.js';
import { drawInt } from './draw.js';
import { gatherChaosFacts } from './facts.js';
import {
  type ChaosPlan,
  type ChaosRates,
  type CrashPoint,
  harnessDraw,
  type PlannedJob,
  planChaosRun,
} from './plan.js';

export interface ChaosRunOptions {
  readonly jobs: number;
  readonly seed: string;
  readonly rates: ChaosRates;
  /** Run `cdk synth` first. @default true */
  readonly synth?: boolean;
  /** Plan collector crashes for browser jobs too. @default true */
  readonly crashBrowserJobs?: boolean;
  /** Plan collector crashes among this first share of each source's jobs. @default 0.3 */
  readonly crashWindow?: number;
  /** Give up waiting for the drain after this long; the checker then counts what is missing. */
  readonly drainTimeoutMs: number;
  readonly onProgress?: (line: string) => void;
}

export interface ChaosFaultCounts {
  readonly site: { readonly [kind in SiteFaultKind]: number };
  /** Jobs whose pages showed a changed layout. */
  readonly layoutChangedJobs: number;
  readonly aws: { readonly [kind in AwsFaultKind]: number };
  /** Of the 500s, those answered after the emulator applied the request. */
  readonly awsAppliedBeforeError: number;
  readonly awsCalls: { readonly [service: string]: number };
  readonly duplicateDeliveries: { readonly concurrent: number; readonly after: number };
  readonly duplicateJobMessages: number;
  readonly duplicatedS3Events: number;
  readonly poison: { readonly jobsQueues: number; readonly transformQueue: number };
  readonly collectorCrashes: { readonly [point in CrashPoint]: number };
  /** Containers killed (a crash takes the whole batch of its container with it). */
  readonly containersKilled: number;
  /** Not injected, but met: invocations the local runtime stopped at their function timeout, by function. */
  readonly invocationTimeouts: { readonly [functionLogicalId: string]: number };
}

export interface ChaosReport {
  readonly seed: string;
  readonly jobs: number;
  readonly jobsBySource: { readonly [source: string]: number };
  readonly rates: ChaosRates;
  readonly runId: string;
  readonly faults: ChaosFaultCounts;
  readonly check: ChaosCheck;
  /** True when every queue emptied before the drain timeout. */
  readonly drained: boolean;
  readonly timings: {
    readonly wallTimeMs: number;
    readonly startMs: number;
    readonly sendMs: number;
    readonly drainMs: number;
    readonly checkMs: number;
  };
  readonly logDir: string;
}

/** The SQS event the local runtime hands a collector, as far as the harness needs to see it. */
const SqsEventBodies = z.object({
  Records: z.array(
    z.object({
      messageId: z.string(),
      body: z.string(),
      attributes: z.object({ SentTimestamp: z.string() }).partial().optional(),
    }),
  ),
});

/** The job key the collector files an SQS message under: the collector's own parse decides it. */
function jobKeyOfMessage(record: z.infer<typeof SqsEventBodies>['Records'][number]): string {
  const parsed = parseJobMessage(
    {
      messageId: record.messageId,
      body: record.body,
      receiveCount: 1,
      sentAt: new Date(Number(record.attributes?.SentTimestamp ?? 0)),
      deliveryId: 'chaos-harness',
    },
    findSource,
  );
  return parsed.ok ? parsed.value.identity.jobKey : parsed.identity.jobKey;
}

/** The part of a DynamoDB TransactWriteItems request (as JSON text) that says a collection was recorded. */
const LedgerTransaction = JSONStringified(
  z.object({
    TransactItems: z.array(
      z.object({
        Put: z
          .object({
            Item: z.object({
              jobKey: z.object({ S: z.string() }).optional(),
              stage: z.object({ S: z.string() }).optional(),
              outcome: z.object({ S: z.string() }).optional(),
            }),
          })
          .optional(),
      }),
    ),
  }),
);

const S3EventBody = JSONStringified(
  z.object({
    Records: z.array(z.object({ eventSource: z.string(), eventName: z.string() })).min(1),
  }),
);

/** Where the collector of a job just did something the crash plan cares about, if it did. */
function crashPointOf(call: AwsCall): { jobKey: string; point: CrashPoint } | undefined {
  if (call.status >= 300) return undefined;
  if (call.service === 's3' && call.operation === 'PUT' && call.key.endsWith('/manifest.json')) {
    const parsed = parseRawKey(call.key);
    return parsed === undefined ? undefined : { jobKey: parsed.jobKey, point: 'after-raw' };
  }
  if (call.service === 'dynamodb' && call.operation === 'TransactWriteItems') {
    const transaction = LedgerTransaction.safeParse(call.requestBody.toString('utf8')).data;
    const collected = transaction?.TransactItems.find(
      (item) => item.Put?.Item.stage?.S === 'collect' && item.Put.Item.outcome?.S === 'collected',
    );
    const jobKey = collected?.Put?.Item.jobKey?.S;
    return jobKey === undefined ? undefined : { jobKey, point: 'after-ledger' };
  }
  return undefined;
}

/** The part of an SQS SendMessageBatch request (AWS JSON protocol) that carries job messages. */
const SentBatch = JSONStringified(z.object({ Entries: z.array(z.object({ MessageBody: z.string() })) }));

/** The job keys of the follow-up jobs an SQS call the emulator applied sent, if it sent any. */
export function followUpsSentBy(call: AwsCall): readonly string[] {
  if (call.service !== 'sqs' || call.status >= 300) return [];
  const batch = SentBatch.safeParse(call.requestBody.toString('utf8')).data;
  return (batch?.Entries ?? [])
    .filter((entry) => entry.MessageBody.includes('"followUpOf"'))
    .map((entry) =>
      jobKeyOfMessage({
        messageId: 'chaos-harness',
        body: entry.MessageBody,
        attributes: { SentTimestamp: String(Date.now()) },
      }),
    );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaosScenario(options: ChaosRunOptions): Promise<ChaosReport> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const { seed, rates } = options;

  // The plan's poison S3 events name the raw bucket, which exists once the environment does;
  // the demo site asks for changed layouts only once jobs arrive, by then the plan is made.
  let plan: ChaosPlan | undefined;
  let layoutTraces: ReadonlySet<string> = new Set();
  let env: LocalEnvironment | undefined;
  const jobsByKey = new Map<string, PlannedJob>();
  const crashes = new Map<string, CrashPoint>();
  const redeliveredAfterCrash = new Map<string, number>();
  let containersKilled = 0;
  const duplicateDeliveries = new Map<string, number>();
  const duplicateModes = { concurrent: 0, after: 0 };
  const pending = new Set<Promise<unknown>>();
  const copiedEvents = new Set<string>();
  const poisonBodies = new Set<string>();
  let duplicatedS3Events = 0;
  let transformMapping: string | undefined;

  const track = (promise: Promise<unknown>) => {
    const tracked = promise
      .catch((error: unknown) => progress(`a delayed send failed: ${(error as Error).message}`))
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  };

  const followUpSends = new Map<string, number>();
  async function watchCall(call: AwsCall): Promise<AfterCall> {
    for (const key of followUpsSentBy(call)) followUpSends.set(key, (followUpSends.get(key) ?? 0) + 1);
    return crashIfPlanned(call);
  }

  async function crashIfPlanned(call: AwsCall): Promise<AfterCall> {
    const at = crashPointOf(call);
    if (at === undefined || env === undefined || crashes.has(at.jobKey)) return 'answer';
    const planned = jobsByKey.get(at.jobKey);
    if (planned?.crash !== at.point) return 'answer';
    const needle = `"jobId":${JSON.stringify(planned.job.jobId)}`;
    const runsTheJob = (event: unknown) => {
      const parsed = SqsEventBodies.safeParse(event);
      if (!parsed.success || !parsed.data.Records.some((r) => r.body.includes(needle))) return false;
      // Its batch-mates die with it and come back too: each is delivered once more.
      for (const record of parsed.data.Records) {
        const key = jobKeyOfMessage(record);
        redeliveredAfterCrash.set(key, (redeliveredAfterCrash.get(key) ?? 0) + 1);
      }
      return true;
    };
    let killed = 0;
    for (const fn of env.functions.values()) killed += await fn.crashContainersRunning(runsTheJob);
    if (killed === 0) return 'answer';
    crashes.set(at.jobKey, at.point);
    containersKilled += killed;
    progress(`killed ${killed} collector container(s) ${at.point} of ${at.jobKey}`);
    return 'drop';
  }

  function copyS3Events(mapping: string, records: readonly SQSRecord[]): void {
    if (mapping !== transformMapping || env === undefined || plan === undefined) return;
    const queueUrl = env.transformQueues.jobs.url;
    for (const record of records) {
      if (record.attributes.ApproximateReceiveCount !== '1') continue;
      if (poisonBodies.has(record.body) || copiedEvents.has(record.body)) continue;
      if (!S3EventBody.safeParse(record.body).success) continue;
      if (harnessDraw(plan, 's3-copy', record.body) >= rates.duplicateS3Event) continue;
      copiedEvents.add(record.body);
      duplicatedS3Events += 1;
      // Up to half a minute late: newer collections of the same entities are transformed meanwhile.
      const delay = drawInt(1, 30, plan.seed, 's3-copy-delay', record.body);
      track(
        env.clients.sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body, DelaySeconds: delay }),
        ),
      );
    }
  }

  progress(`starting the local pipeline (seed ${seed})`);
  env = await startLocalEnvironment({
    synth: options.synth ?? true,
    // The figures are the pipeline's own; evaluating alarms would share moto with it.
    alarms: false,
    onReceive: copyS3Events,
    chaos: {
      demoSite: { seed, rates: rates.site, layoutChanged: (traceId) => layoutTraces.has(traceId) },
      aws: { seed, rates: rates.aws, afterCall: watchCall },
      duplicateDeliveries: {
        rate: rates.duplicateDelivery,
        seed,
        onDuplicate: (_mapping, records, mode) => {
          duplicateModes[mode] += records.length;
          for (const record of records) {
            const key = jobKeyOfMessage(record);
            duplicateDeliveries.set(key, (duplicateDeliveries.get(key) ?? 0) + 1);
          }
        },
      },
    },
  });
  const running = env;
  try {
    transformMapping = running.pollers.find(
      (p) => p.mapping.queueLogicalId === running.transformQueues.jobs.logicalId,
    )?.mapping.logicalId;
    plan = planChaosRun({
      jobs: options.jobs,
      seed,
      rates,
      rawBucket: running.rawBucket,
      ...(options.crashBrowserJobs === undefined ? {} : { crashBrowserJobs: options.crashBrowserJobs }),
      ...(options.crashWindow === undefined ? {} : { crashWindow: options.crashWindow }),
    });
    layoutTraces = new Set(plan.jobs.filter((j) => j.layoutChanged).map((j) => j.job.traceId));
    for (const job of plan.jobs) jobsByKey.set(job.jobKey, job);
    for (const poison of plan.poison) poisonBodies.add(poison.body);
    const startMs = Date.now() - started;

    // ---- Send: jobs, poison, and upstream's duplicates (delayed by SQS itself) ------------------
    const sendStarted = Date.now();
    const bySource = new Map<string, PlannedJob[]>();
    for (const job of plan.jobs) bySource.set(job.source, [...(bySource.get(job.source) ?? []), job]);
    for (const [source, jobs] of bySource) {
      const queueUrl = running.sourceQueues(source).jobs.url;
      for (let start = 0; start < jobs.length; start += 10) {
        const chunk = jobs.slice(start, start + 10);
        const response = await running.clients.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((j, i) => ({ Id: String(i), MessageBody: JSON.stringify(j.job) })),
          }),
        );
        if ((response.Failed ?? []).length > 0)
          throw new Error(`sending jobs failed: ${JSON.stringify(response.Failed)}`);
      }
      for (const job of jobs) {
        if (job.resendAfterSeconds === undefined) continue;
        await running.clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: JSON.stringify(job.job),
            DelaySeconds: job.resendAfterSeconds,
          }),
        );
      }
    }
    for (const poison of plan.poison) {
      const queueUrl =
        poison.queue.stage === 'transform'
          ? running.transformQueues.jobs.url
          : running.sourceQueues(poison.queue.source).jobs.url;
      await running.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: poison.body }),
      );
    }
    const sendMs = Date.now() - sendStarted;
    progress(`sent ${plan.jobs.length} jobs and ${plan.poison.length} poison messages; draining…`);

    // ---- Drain: every queue empty (nothing waiting, in flight or delayed) several times in a row --
    const drainStarted = Date.now();
    const deadline = drainStarted + options.drainTimeoutMs;
    let quiet = 0;
    let lastReport = 0;
    let drained = false;
    while (Date.now() < deadline) {
      await Promise.all([...pending]);
      // The change feed trails the records: its stream must be read to the end as well.
      const work = (await workInQueues(running)) + running.streamPollers.reduce((n, p) => n + p.pending, 0);
      quiet = work === 0 && pending.size === 0 ? quiet + 1 : 0;
      if (quiet >= 3) {
        drained = true;
        break;
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        progress(
          `  ${Math.round((Date.now() - started) / 1000)} s: ${work} message(s) in the work queues; ` +
            `${running.demoSite.siteFaults?.injected().length ?? 0} site faults, ` +
            `${running.awsFaultProxy?.injected().length ?? 0} AWS errors, ${crashes.size} crashes so far`,
        );
      }
      await sleep(2_000);
    }
    const drainMs = Date.now() - drainStarted;
    progress(drained ? 'drained; reading the ground truth…' : 'the drain timed out; checking what is there…');

    // ---- Check ----------------------------------------------------------------------------------
    const checkStarted = Date.now();
    const facts = await gatherChaosFacts(running);
    const captchaServed = new Set(
      (running.demoSite.siteFaults?.injected() ?? [])
        .filter((f) => f.kind === 'captcha')
        .map((f) => f.traceId),
    );
    const log: HarnessLog = {
      duplicateDeliveries,
      crashes,
      redeliveredAfterCrash,
      followUpSends,
      captchaServed,
    };
    const check = checkChaosRun(plan, log, facts);
    const checkMs = Date.now() - checkStarted;

    const siteCounts = Object.fromEntries(SITE_FAULT_KINDS.map((k) => [k, 0])) as {
      [kind in SiteFaultKind]: number;
    };
    for (const fault of running.demoSite.siteFaults?.injected() ?? []) siteCounts[fault.kind] += 1;
    const awsCounts = Object.fromEntries(AWS_FAULT_KINDS.map((k) => [k, 0])) as {
      [kind in AwsFaultKind]: number;
    };
    const awsInjected = running.awsFaultProxy?.injected() ?? [];
    for (const fault of awsInjected) awsCounts[fault.kind] += 1;
    const crashCounts = { 'after-raw': 0, 'after-ledger': 0 };
    for (const point of crashes.values()) crashCounts[point] += 1;
    const jobsBySource = Object.fromEntries([...bySource].map(([source, jobs]) => [source, jobs.length]));
    return {
      seed,
      jobs: plan.jobs.length,
      jobsBySource,
      rates,
      runId: running.runId,
      faults: {
        site: siteCounts,
        layoutChangedJobs: new Set(
          (running.demoSite.siteFaults?.injected() ?? [])
            .filter((f) => f.kind === 'layout-changed')
            .map((f) => f.traceId),
        ).size,
        aws: awsCounts,
        awsAppliedBeforeError: awsInjected.filter((f) => f.applied).length,
        awsCalls: Object.fromEntries(running.awsFaultProxy?.calls() ?? []),
        duplicateDeliveries: duplicateModes,
        duplicateJobMessages: plan.jobs.filter((j) => j.resendAfterSeconds !== undefined).length,
        duplicatedS3Events,
        poison: {
          jobsQueues: plan.poison.filter((p) => p.queue.stage === 'collect').length,
          transformQueue: plan.poison.filter((p) => p.queue.stage === 'transform').length,
        },
        collectorCrashes: crashCounts,
        containersKilled,
        invocationTimeouts: Object.fromEntries(
          [...running.functions].map(([logicalId, fn]) => [logicalId, fn.stats.timeouts]),
        ),
      },
      check,
      drained,
      timings: { wallTimeMs: Date.now() - started, startMs, sendMs, drainMs, checkMs },
      logDir: running.logDir,
    };
  } finally {
    await running.stop();
  }
}
