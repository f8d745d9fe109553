/**
 * `sluice job <jobKey|traceId>`: everything the job ledger knows about a job — its summary,
 * every attempt at either stage with its error and the raw and snapshot keys it produced,
 * operator notes, and its hand-off tasks.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { paginateQuery, type QueryCommand } from '@aws-sdk/lib-dynamodb';
import { taskIdOf } from '../../functions/adapters/handoff-desk.js';
import { DynamoHandoffTaskList, type StoredTask } from '../../functions/adapters/handoff-tasks.js';
import { jobPartitionKey } from '../../functions/adapters/job-ledger.js';
import { RawManifest } from '../../functions/core/contracts.js';
import { duration } from '../format.js';
import { CliError, type SluiceTarget } from '../target.js';

type Item = { readonly [key: string]: unknown };

export interface JobHistory {
  readonly jobKey: string;
  readonly summary: Item | undefined;
  /** Attempts in the order they started. */
  readonly attempts: readonly Item[];
  readonly notes: readonly Item[];
  readonly tasks: readonly StoredTask[];
  /** The newest manifest of the job: what was asked for and what the fetch did. */
  readonly manifest: RawManifest | undefined;
}

/** Reads a manifest from raw storage; a job's history is still worth showing when it cannot. */
async function readManifest(target: SluiceTarget, key: string | undefined): Promise<RawManifest | undefined> {
  if (key === undefined) return undefined;
  try {
    const object = await target.clients.s3.send(
      new GetObjectCommand({ Bucket: target.resources.rawBucket, Key: key }),
    );
    const parsed = RawManifest.safeParse(JSON.parse((await object.Body?.transformToString()) ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function queryAll(target: SluiceTarget, input: ConstructorParameters<typeof QueryCommand>[0]) {
  const items: Item[] = [];
  for await (const page of paginateQuery({ client: target.clients.documents }, { ...input })) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

async function historyOf(target: SluiceTarget, jobKey: string): Promise<JobHistory | undefined> {
  const items = await queryAll(target, {
    TableName: target.resources.ledgerTable,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': jobPartitionKey(jobKey) },
  });
  if (items.length === 0) return undefined;
  const startedAt = (item: Item) => String(item.startedAt ?? item.at ?? '');
  const tasks = new DynamoHandoffTaskList(target.clients.documents, target.resources.tasksTable);
  const found = await Promise.all(
    (['collect', 'transform'] as const).map((stage) => tasks.get(taskIdOf({ stage, jobKey }))),
  );
  const attempts = items
    .filter((i) => i.kind === 'attempt')
    .sort((a, b) => startedAt(a).localeCompare(startedAt(b)));
  const manifestKey = attempts
    .map((a) => a.manifestKey)
    .filter((k): k is string => typeof k === 'string')
    .at(-1);
  return {
    jobKey,
    summary: items.find((i) => i.kind === 'job'),
    attempts,
    manifest: await readManifest(target, manifestKey),
    notes: items
      .filter((i) => i.kind === 'operator-note')
      .sort((a, b) => startedAt(a).localeCompare(startedAt(b))),
    tasks: found.filter((t): t is StoredTask => t !== undefined),
  };
}

/** The histories of the job with this key, or of every job carrying this trace ID. */
export async function findJobs(target: SluiceTarget, keyOrTrace: string): Promise<JobHistory[]> {
  const byKey = await historyOf(target, keyOrTrace);
  if (byKey !== undefined) return [byKey];
  const traced = await queryAll(target, {
    TableName: target.resources.ledgerTable,
    IndexName: 'byTrace',
    KeyConditionExpression: 'traceId = :traceId',
    ExpressionAttributeValues: { ':traceId': keyOrTrace },
  });
  const jobKeys = [...new Set(traced.map((i) => String(i.jobKey)))];
  const histories = await Promise.all(jobKeys.map((key) => historyOf(target, key)));
  const found = histories.filter((h): h is JobHistory => h !== undefined);
  if (found.length === 0) {
    throw new CliError(
      `no job with key or trace ID ${JSON.stringify(keyOrTrace)} in the job ledger ` +
        '(job keys look like id-<jobId> or h-<hash>; a DLQ message names its job in sluice-job-key)',
    );
  }
  return found;
}

function field(item: Item, name: string): string | undefined {
  const value = item[name];
  return value === undefined || value === null ? undefined : String(value);
}

/**
 * Whether `key` is the exact raw artifact rather than a snapshot: the manifest's primary artifact
 * (a download's file name is the site's), else — for an attempt the manifest does not describe —
 * the collectors' `response.<ext>`.
 */
function isRawArtifact(key: string, manifest: JobHistory['manifest']): boolean {
  const described = manifest?.artifacts.find((artifact) => artifact.key === key);
  if (described !== undefined) return described.name === manifest?.primaryArtifact;
  return /\/response\.[a-z]+$/.test(key);
}

export function renderJobs(histories: readonly JobHistory[]): string {
  const lines: string[] = [];
  for (const job of histories) {
    const s = job.summary ?? {};
    lines.push(
      `job ${job.jobKey}`,
      `  source        ${field(s, 'source') ?? '?'}`,
      `  trace ID      ${field(s, 'traceId') ?? '?'}`,
      `  status        ${field(s, 'status') ?? '?'} after ${field(s, 'attempts') ?? '?'} attempt(s); first seen ${field(s, 'firstSeenAt') ?? '?'}, last update ${field(s, 'updatedAt') ?? '?'}`,
    );
    const m = job.manifest;
    if (m !== undefined) {
      lines.push(
        `  input         ${JSON.stringify(m.job.input)}${m.job.requestedAt === undefined ? '' : ` (requested ${m.job.requestedAt})`}`,
        `  fetched       ${m.request.method} ${m.request.url} → ${m.response.status} ${m.response.finalUrl} at ${m.observedAt}`,
        `  branches      ${m.branches.join(' → ') || '—'}`,
      );
    }
    if (field(s, 'lastReason') !== undefined) {
      lines.push(`  last error    ${field(s, 'lastReason')}: ${field(s, 'lastMessage') ?? ''}`);
    }
    lines.push('  attempts');
    job.attempts.forEach((a, index) => {
      const counts = a.counts as { [name: string]: number } | undefined;
      lines.push(
        `    ${index + 1}. ${field(a, 'stage')?.padEnd(9)} receive #${field(a, 'attempt')}  ${field(a, 'startedAt')}  ${duration(Number(a.durationMs))}  ${field(a, 'outcome')}`,
      );
      if (field(a, 'reason') !== undefined) {
        lines.push(
          `         error     ${field(a, 'errorClass')} / ${field(a, 'reason')}: ${field(a, 'message') ?? ''}`,
        );
      }
      const artifacts = (a.artifactKeys as string[] | undefined) ?? [];
      for (const key of artifacts) {
        lines.push(`         ${isRawArtifact(key, m) ? 'raw     ' : 'snapshot'}  ${key}`);
      }
      if (field(a, 'manifestKey') !== undefined) lines.push(`         manifest  ${field(a, 'manifestKey')}`);
      if (counts !== undefined && counts !== null) {
        lines.push(
          `         records   ${Object.entries(counts)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
      }
    });
    for (const task of job.tasks) {
      lines.push(
        `  hand-off      ${task.taskId} (${task.status}) ${task.reason}: ${task.message}`,
        ...task.evidenceKeys.map((key) => `                evidence ${key}`),
      );
      if (task.status === 'resolved') {
        lines.push(`                resolved ${task.resolvedAt} by ${task.resolvedBy}: ${task.resolution}`);
      }
    }
    for (const note of job.notes) {
      lines.push(
        `  operator      ${field(note, 'at')} ${field(note, 'by')} ${field(note, 'action')}: ${field(note, 'note')}`,
      );
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}
