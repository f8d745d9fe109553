/**
 * `sluice job <jobKey|traceId>`: everything the job ledger knows about a job — its summary,
 * every attempt at either stage with its error and the raw and snapshot keys it produced,
 * operator notes, its hand-off tasks, and the tree of follow-up jobs it started (the next
 * pages, detail pages) with how each of them ended.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, paginateQuery, type QueryCommand } from '@aws-sdk/lib-dynamodb';
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
  /** The follow-up jobs it started, and theirs, as the ledger's job summaries hold them. */
  readonly followUps: readonly FollowUpNode[];
}

/** A follow-up job in a tree: its summary (undefined while no attempt of it is recorded) and its own follow-ups. */
export interface FollowUpNode {
  readonly jobKey: string;
  readonly summary: Item | undefined;
  readonly children: readonly FollowUpNode[];
}

/** The most follow-up jobs `sluice job` reads under one job: a tree this big is summarised, not listed. */
export const MAX_TREE_JOBS = 500;

function followUpKeysOf(summary: Item | undefined): string[] {
  const keys = summary?.followUpKeys;
  if (keys instanceof Set) return [...keys].map(String).sort();
  return Array.isArray(keys) ? keys.map(String).sort() : [];
}

/** Reads the tree of follow-ups under `summary`, breadth first, at most MAX_TREE_JOBS jobs. */
async function followUpTree(target: SluiceTarget, summary: Item | undefined): Promise<FollowUpNode[]> {
  const read = new Map<string, Item | undefined>();
  let level = followUpKeysOf(summary);
  while (level.length > 0 && read.size < MAX_TREE_JOBS) {
    const todo = level.filter((k) => !read.has(k)).slice(0, MAX_TREE_JOBS - read.size);
    const items = await Promise.all(
      todo.map(async (key) => {
        const { Item: item } = await target.clients.documents.send(
          new GetCommand({
            TableName: target.resources.ledgerTable,
            Key: { pk: jobPartitionKey(key), sk: 'job' },
          }),
        );
        return [key, item] as const;
      }),
    );
    for (const [key, item] of items) read.set(key, item);
    level = items.flatMap(([, item]) => followUpKeysOf(item));
  }
  const build = (keys: readonly string[], path: ReadonlySet<string>): FollowUpNode[] =>
    keys
      .filter((key) => read.has(key) && !path.has(key))
      .map((key) => {
        const item = read.get(key);
        return { jobKey: key, summary: item, children: build(followUpKeysOf(item), new Set([...path, key])) };
      });
  return build(followUpKeysOf(summary), new Set());
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
  const summary = items.find((i) => i.kind === 'job');
  return {
    jobKey,
    summary,
    followUps: await followUpTree(target, summary),
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
  const all = histories.filter((h): h is JobHistory => h !== undefined);
  // A tree shares its root's trace ID: show the jobs whose parent is not among them, with their trees.
  const keys = new Set(all.map((h) => h.jobKey));
  const found = all.filter((h) => {
    const parent = h.summary?.parentJobKey;
    return typeof parent !== 'string' || !keys.has(parent);
  });
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
    if (field(s, 'parentJobKey') !== undefined) {
      lines.push(
        `  follow-up of  ${field(s, 'parentJobKey')} (depth ${field(s, 'followUpDepth') ?? '?'}, root ${field(s, 'rootJobKey') ?? '?'})`,
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
    if (job.followUps.length > 0) {
      const tally = treeTally(job.followUps);
      lines.push(
        `  follow-ups    ${tally.jobs} job(s): ${Object.entries(tally.byStatus)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([status, n]) => `${status} ${n}`)
          .join(', ')}`,
        ...renderTree(job.followUps, '    '),
      );
    }
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

function treeTally(nodes: readonly FollowUpNode[]): { jobs: number; byStatus: { [status: string]: number } } {
  const tally = { jobs: 0, byStatus: {} as { [status: string]: number } };
  const visit = (node: FollowUpNode) => {
    tally.jobs += 1;
    const status = field(node.summary ?? {}, 'status') ?? 'queued';
    tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
    node.children.forEach(visit);
  };
  nodes.forEach(visit);
  return tally;
}

/** One line per follow-up, indented under its parent: key, source, how it ended and why. */
export function renderTree(nodes: readonly FollowUpNode[], indent: string): string[] {
  return nodes.flatMap((node) => {
    const s = node.summary ?? {};
    const counts = s.lastCounts as { [name: string]: number } | undefined | null;
    const outcome = [
      field(s, 'status') ?? 'queued (no attempt recorded yet)',
      field(s, 'lastReason'),
      counts === undefined || counts === null
        ? undefined
        : Object.entries(counts)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', '),
    ]
      .filter((part) => part !== undefined && part !== '')
      .join(' · ');
    return [
      `${indent}└ ${node.jobKey}  ${field(s, 'source') ?? '?'}  ${outcome}`,
      ...renderTree(node.children, `${indent}  `),
    ];
  });
}
