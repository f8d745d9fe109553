import { createHash } from 'node:crypto';
import type { CollectJob } from './contracts.js';

/**
 * JSON with object keys sorted at every depth, so two inputs that differ only in key order
 * produce the same text (and the same job key).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`canonicalJson cannot encode ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as { [key: string]: unknown })
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface JobKeyOptions {
  /** The source's dedupe window; identical jobs requested inside one window share a key. */
  readonly dedupeWindowSeconds: number;
  /** When the job was requested, used when the job carries no `requestedAt` (the SQS sent time). */
  readonly fallbackRequestedAt: Date;
}

/** The key of a job that carries an upstream `jobId`. */
export function jobKeyFromJobId(jobId: string): string {
  return `id-${jobId}`;
}

/**
 * The deterministic key of a unit of work (DESIGN.md decision 3): the upstream `jobId` when given,
 * else a hash of source + canonical input + the dedupe window the request falls in.
 */
export function deriveJobKey(
  job: Pick<CollectJob, 'source' | 'input' | 'jobId' | 'requestedAt' | 'followUpOf'>,
  options: JobKeyOptions,
): string {
  if (job.jobId !== undefined) return jobKeyFromJobId(job.jobId);
  if (job.followUpOf !== undefined) return followUpJobKey(job.followUpOf.parentJobKey, job.source, job.input);
  if (!Number.isInteger(options.dedupeWindowSeconds) || options.dedupeWindowSeconds <= 0) {
    throw new RangeError(
      `dedupeWindowSeconds must be a positive integer, got ${options.dedupeWindowSeconds}`,
    );
  }
  const requestedAt = job.requestedAt === undefined ? options.fallbackRequestedAt : new Date(job.requestedAt);
  const requestedMs = requestedAt.getTime();
  if (Number.isNaN(requestedMs))
    throw new RangeError(`requestedAt is not a valid time: ${String(job.requestedAt)}`);
  const windowIndex = Math.floor(requestedMs / (options.dedupeWindowSeconds * 1000));
  const digest = createHash('sha256')
    .update(`${job.source}\n${canonicalJson(job.input)}\n${options.dedupeWindowSeconds}:${windowIndex}`)
    .digest('hex');
  return `h-${digest.slice(0, 32)}`;
}

/**
 * The key of a follow-up job: a hash of its parent's key, its source and its canonical input. A
 * parent delivered (or transformed) twice asks for the same children under the same keys, so
 * their claims make the second ask collect nothing; two parents asking for the same page get a
 * job each, as two upstream requests would.
 */
export function followUpJobKey(parentJobKey: string, source: string, input: unknown): string {
  const digest = createHash('sha256')
    .update(`follow-up\n${parentJobKey}\n${source}\n${canonicalJson(input)}`)
    .digest('hex');
  return `fu-${digest.slice(0, 32)}`;
}

/** `2026-11-27T08:00:00Z` → `20261127T080000Z`: a scheduled time as a key-safe word. */
export function compactTime(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('compactTime needs a valid time');
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * The key of a source's scheduled run for one scheduled time: the same however often the
 * schedule fires for that time, so a second firing is a duplicate delivery, not a second run.
 */
export function scheduledRunKey(source: string, scheduledAt: Date): string {
  return `run-${source}-${compactTime(scheduledAt)}`;
}
