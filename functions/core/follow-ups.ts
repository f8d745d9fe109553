/**
 * Follow-up jobs: what a collection (or its records) asks to collect next — the next page, the
 * detail page of each row — turned into jobs within the asking source's bounds. Pure: whoever
 * enqueues (the collector for what it saw, the transform for the parser's links, the collector
 * again for a scheduled run's inputs) plans here, then hands the accepted jobs to a FollowUpQueue.
 *
 * Every follow-up carries its parent, the root of its tree and its depth, and the root's trace ID,
 * so one `sluice job <traceId>` shows the whole tree. Its key is derived from the parent's key,
 * its source and its input (followUpJobKey): a parent handled twice asks for the same children
 * under the same keys, and their claims make the second ask collect nothing.
 */
import type { FollowUpRequest, SourceDefinition } from '../../sources/define.js';
import type { CollectJob, FollowUpOf } from './contracts.js';
import { canonicalJson, followUpJobKey } from './job-key.js';

/** The job asking for follow-ups, as far as its follow-ups need to know. */
export interface FollowUpParent {
  readonly jobKey: string;
  /** The root's trace ID, which every job of the tree carries. */
  readonly traceId: string;
  readonly source: SourceDefinition;
  /** Where the parent itself came from; undefined for a job sent by upstream (the root, depth 0). */
  readonly followUpOf: FollowUpOf | undefined;
}

/** A follow-up accepted: its key and the message body to send to its source's jobs queue. */
export interface PlannedFollowUp {
  readonly jobKey: string;
  readonly job: CollectJob;
}

export type RefusalReason =
  | 'not-a-target'
  | 'unknown-source'
  | 'input-invalid'
  | 'too-deep'
  | 'too-many-follow-ups';

export interface RefusedFollowUp {
  readonly source: string;
  readonly reason: RefusalReason;
  readonly message: string;
}

export interface FollowUpPlan {
  readonly accepted: readonly PlannedFollowUp[];
  readonly refused: readonly RefusedFollowUp[];
}

export const EMPTY_PLAN: FollowUpPlan = { accepted: [], refused: [] };

function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * The follow-ups `parent` may enqueue out of `requests`: each to a source its policy names, with
 * an input that source accepts, no deeper than its `maxDepth`, at most `maxFollowUps` of them;
 * the same source and input asked twice is one job. The rest are refused, each with its reason.
 */
export function planFollowUps(
  parent: FollowUpParent,
  requests: readonly FollowUpRequest[],
  findSource: (name: string) => SourceDefinition | undefined,
  requestedAt: Date,
): FollowUpPlan {
  if (requests.length === 0) return EMPTY_PLAN;
  const policy = parent.source.followUps;
  const refused: RefusedFollowUp[] = [];
  const accepted: PlannedFollowUp[] = [];
  const depth = (parent.followUpOf?.depth ?? 0) + 1;
  const seen = new Set<string>();
  for (const request of requests) {
    const refuse = (reason: RefusalReason, message: string) =>
      refused.push({ source: String(request.source), reason, message });
    if (policy === undefined || !policy.targets.includes(request.source)) {
      refuse(
        'not-a-target',
        `${parent.source.name} may not ask for ${String(request.source)} jobs (followUps.targets: ${policy?.targets.join(', ') ?? 'none'})`,
      );
      continue;
    }
    if (depth > policy.maxDepth) {
      refuse(
        'too-deep',
        `a follow-up at depth ${depth} is past ${parent.source.name}'s maxDepth ${policy.maxDepth}`,
      );
      continue;
    }
    const target = findSource(request.source);
    if (target === undefined) {
      refuse('unknown-source', `no source ${JSON.stringify(request.source)} is registered`);
      continue;
    }
    const input = target.input.safeParse(request.input);
    if (!input.success) {
      refuse('input-invalid', `the input is not valid for ${target.name}: ${issuesOf(input.error)}`);
      continue;
    }
    const identity = `${target.name}\n${canonicalJson(input.data)}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    if (accepted.length >= policy.maxFollowUps) {
      refuse(
        'too-many-follow-ups',
        `${parent.source.name} allows ${policy.maxFollowUps} follow-up(s) per job; this one asked for more`,
      );
      continue;
    }
    accepted.push(
      followUpJob(parent, target.name, input.data as { [key: string]: unknown }, depth, requestedAt),
    );
  }
  return { accepted, refused };
}

/** A follow-up job of `parent`, at `depth`. */
export function followUpJob(
  parent: Pick<FollowUpParent, 'jobKey' | 'traceId' | 'followUpOf'>,
  source: string,
  input: { readonly [key: string]: unknown },
  depth: number,
  requestedAt: Date,
): PlannedFollowUp {
  const followUpOf: FollowUpOf = {
    parentJobKey: parent.jobKey,
    rootJobKey: parent.followUpOf?.rootJobKey ?? parent.jobKey,
    depth,
  };
  return {
    jobKey: followUpJobKey(parent.jobKey, source, input),
    job: {
      source,
      input: { ...input },
      traceId: parent.traceId,
      requestedAt: requestedAt.toISOString(),
      priority: 'normal',
      followUpOf,
    },
  };
}

/** What the ledger keeps of a plan: the children's keys and sources, and every refusal. */
export function ledgerFollowUps(plan: FollowUpPlan): {
  readonly followUps?: readonly { readonly jobKey: string; readonly source: string }[];
  readonly followUpsRefused?: readonly RefusedFollowUp[];
} {
  return {
    ...(plan.accepted.length === 0
      ? {}
      : { followUps: plan.accepted.map((f) => ({ jobKey: f.jobKey, source: f.job.source })) }),
    ...(plan.refused.length === 0 ? {} : { followUpsRefused: plan.refused }),
  };
}
