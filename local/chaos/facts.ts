/**
 * The ground truth a chaos run is checked against, read from the emulator after the drain:
 * every ledger attempt, every record, every hand-off task, every dead-lettered message (with its
 * `sluice-*` attributes), every manifest in raw storage with the observations its raw object
 * holds and the follow-ups its parser reads in it, every job summary's lineage, every
 * RecordChanged event in the change log, and the demo portal's own count of submitted forms. Nothing here trusts a summary the
 * pipeline wrote about itself when the underlying artifact can be read instead.
 */
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type PublishedChange, readChangeLog } from '../../cli/change-log.js';
import { S3RawStore } from '../../functions/adapters/raw-store.js';
import { DeadLetterAttribute } from '../../functions/adapters/work-queues.js';
import { type FollowUpOf, RecordItem } from '../../functions/core/contracts.js';
import { PermanentError } from '../../functions/core/errors.js';
import { MANIFEST_NAME, RAW_PREFIX } from '../../functions/core/raw-layout.js';
import {
  InvalidOutputError,
  loadManifest,
  readObservations,
} from '../../functions/core/transform-manifest.js';
import type { FollowUpRequest } from '../../sources/define.js';
import { findParser } from '../../sources/parsers.js';
import type { LocalEnvironment } from '../environment.js';

export const LedgerAttempt = z.object({
  jobKey: z.string(),
  source: z.string().nullish(),
  stage: z.enum(['collect', 'transform']),
  attempt: z.number(),
  outcome: z.string(),
  reason: z.string().nullish(),
  manifestKey: z.string().nullish(),
});
export type LedgerAttempt = z.infer<typeof LedgerAttempt>;

/** A job's summary item: how it ended so far and, for a follow-up, its parent. */
export const LedgerJob = z.object({
  jobKey: z.string(),
  source: z.string().nullish(),
  status: z.string(),
  parentJobKey: z.string().nullish(),
});
export type LedgerJob = z.infer<typeof LedgerJob>;

export const HandoffTaskItem = z.object({ jobKey: z.string(), stage: z.string(), reason: z.string() });
export type HandoffTaskItem = z.infer<typeof HandoffTaskItem>;

export interface DeadLetter {
  /** `transform`, or the source whose jobs queue it came from. */
  readonly queue: string;
  readonly body: string;
  readonly reason: string | undefined;
  readonly jobKey: string | undefined;
}

export interface ObservedEntity {
  readonly entityId: string;
  readonly data: { readonly [key: string]: unknown };
  readonly contentHash: string;
}

export interface ManifestFacts {
  readonly key: string;
  readonly source: string;
  readonly jobKey: string;
  readonly fetchId: string;
  readonly observedAt: string;
  readonly parserRevision: number;
  /** What its raw object yields; empty when the parser's output cannot be trusted. */
  readonly entities: readonly ObservedEntity[];
  /** Why it yields nothing, when it does not (e.g. `no-records` for a captcha page). */
  readonly invalid?: string;
  readonly traceId: string;
  /** Where its job came from, when it is a follow-up. */
  readonly followUpOf?: FollowUpOf;
  /** The follow-ups its parser reads in its raw object (before any bound). */
  readonly followUps: readonly FollowUpRequest[];
}

export interface ChaosFacts {
  readonly attempts: readonly LedgerAttempt[];
  /** Every job summary in the ledger. @default - none (the checker's own tests) */
  readonly jobs?: readonly LedgerJob[];
  /** Every publication of a RecordChanged event, oldest first. @default - none */
  readonly changeEvents?: readonly PublishedChange[];
  readonly records: readonly RecordItem[];
  /** Items of the records table that do not match the Record contract. */
  readonly malformedRecords: readonly string[];
  readonly tasks: readonly HandoffTaskItem[];
  readonly deadLetters: readonly DeadLetter[];
  readonly manifests: readonly ManifestFacts[];
  readonly portalSubmissions: readonly {
    readonly account: string;
    readonly period: string;
    readonly count: number;
  }[];
  /** The reference the portal holds for `account|period`. */
  readonly portalReferences: ReadonlyMap<string, string>;
}

async function scanAll(env: LocalEnvironment, table: string): Promise<{ [key: string]: unknown }[]> {
  const items: { [key: string]: unknown }[] = [];
  for await (const page of paginateScan(
    { client: env.clients.documents },
    { TableName: table, ConsistentRead: true },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

/** Reads every message of a DLQ, hiding each for long enough that none is read twice. */
async function drainDeadLetterQueue(
  env: LocalEnvironment,
  url: string,
  queue: string,
): Promise<DeadLetter[]> {
  const messages: DeadLetter[] = [];
  for (let empty = 0; empty < 2; ) {
    const response = await env.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 900,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const received = response.Messages ?? [];
    if (received.length === 0) {
      empty += 1;
      continue;
    }
    empty = 0;
    for (const message of received) {
      const attributes = message.MessageAttributes ?? {};
      messages.push({
        queue,
        body: message.Body ?? '',
        reason: attributes[DeadLetterAttribute.Reason]?.StringValue,
        jobKey: attributes[DeadLetterAttribute.JobKey]?.StringValue,
      });
    }
  }
  return messages;
}

async function manifestKeys(env: LocalEnvironment): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: env.clients.s3 },
    { Bucket: env.rawBucket, Prefix: RAW_PREFIX },
  )) {
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith(`/${MANIFEST_NAME}`) === true) keys.push(object.Key);
    }
  }
  return keys;
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
    }),
  );
  return results;
}

async function manifestFacts(env: LocalEnvironment, key: string): Promise<ManifestFacts> {
  const rawStore = new S3RawStore(env.clients.s3, env.rawBucket);
  const manifest = await loadManifest(rawStore, key);
  const common = {
    key,
    source: manifest.source,
    jobKey: manifest.jobKey,
    fetchId: manifest.fetchId,
    observedAt: manifest.observedAt,
    traceId: manifest.traceId,
    ...(manifest.job.followUpOf === undefined ? {} : { followUpOf: manifest.job.followUpOf }),
  };
  try {
    const { observations, followUps } = await readObservations(key, { rawStore, findParser });
    return {
      ...common,
      parserRevision: observations[0]?.parserRevision ?? 1,
      entities: observations.map((o) => ({ entityId: o.entityId, data: o.data, contentHash: o.contentHash })),
      followUps,
    };
  } catch (error) {
    // A raw object the transform must not turn into records (a captcha page, a changed layout).
    if (!(error instanceof InvalidOutputError || error instanceof PermanentError)) throw error;
    return { ...common, parserRevision: 1, entities: [], invalid: error.reason, followUps: [] };
  }
}

export async function gatherChaosFacts(env: LocalEnvironment): Promise<ChaosFacts> {
  const ledger = await scanAll(env, env.ledgerTable);
  const attempts = ledger.flatMap((item) => {
    if (item.kind !== 'attempt') return [];
    const parsed = LedgerAttempt.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  const jobs = ledger.flatMap((item) => {
    if (item.kind !== 'job') return [];
    const parsed = LedgerJob.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });

  const records: RecordItem[] = [];
  const malformedRecords: string[] = [];
  for (const item of await scanAll(env, env.recordsTable)) {
    const parsed = RecordItem.safeParse(item);
    if (parsed.success) records.push(parsed.data);
    else malformedRecords.push(String(item.pk));
  }

  const tasks = (await scanAll(env, env.tasksTable)).flatMap((item) => {
    const parsed = HandoffTaskItem.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });

  const deadLetters: DeadLetter[] = [];
  for (const [logicalId, queue] of env.provisioned.queues) {
    const tags = env.provisioned.tags.get(logicalId) ?? {};
    if (tags['sluice:role'] !== 'dead-letter') continue;
    const name = tags['sluice:stage'] === 'transform' ? 'transform' : (tags['sluice:source'] ?? logicalId);
    deadLetters.push(...(await drainDeadLetterQueue(env, queue.url, name)));
  }

  const manifests = await mapLimited(await manifestKeys(env), 8, (key) => manifestFacts(env, key));

  const portal = env.demoSite.portal;
  const portalSubmissions = portal.submittedRequests();
  const portalReferences = new Map<string, string>();
  for (const { account, period } of portalSubmissions) {
    const statement = portal.statement(account, period);
    if (statement !== undefined) portalReferences.set(`${account}|${period}`, statement.reference);
  }
  const changeEvents = await readChangeLog(env.clients.logs, env.changeLogGroup);
  return {
    attempts,
    jobs,
    changeEvents,
    records,
    malformedRecords,
    tasks,
    deadLetters,
    manifests,
    portalSubmissions,
    portalReferences,
  };
}
