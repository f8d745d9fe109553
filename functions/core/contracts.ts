/**
 * The three contracts Sluice's stages agree on. Every boundary parses with these schemas;
 * nothing inside the pipeline casts untyped JSON.
 */
import { z } from 'zod';
import { MAX_FOLLOW_UP_DEPTH } from '../../sources/define.js';

/** Source names are used in queue names, S3 partitions and record keys, so they are kept plain. */
export const SourceName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,40}$/, 'source must be lowercase letters, digits and dashes (2..41 chars)');

/** Upstream job IDs become part of S3 keys and ledger keys, so only URL- and key-safe characters pass. */
export const JobId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'jobId must be 1..128 of A-Z a-z 0-9 . _ - (not starting with . _ -)',
  );

export const TraceId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'traceId must be 8..64 of A-Z a-z 0-9 -');

/** A job's job key, as the ledger files it: `id-<jobId>`, `h-<hash>`, `fu-<hash>`, `run-<source>-<time>`. */
export const JobKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$/, 'a job key');

/** Where a follow-up job comes from. */
export const FollowUpOf = z
  .object({
    parentJobKey: JobKey.describe('The job whose collection or records asked for this one.'),
    rootJobKey: JobKey.describe('The job that started the tree: sent by upstream, or a scheduled run.'),
    depth: z
      .number()
      .int()
      .min(0)
      .max(MAX_FOLLOW_UP_DEPTH)
      .describe('Follow-up hops from the first job the tree collected (which is depth 0).'),
  })
  .strict();
export type FollowUpOf = z.infer<typeof FollowUpOf>;

/** The SQS message body an upstream system sends to a source's jobs queue. */
export const CollectJob = z
  .object({
    source: SourceName.describe('Name of the registered source that should collect this job.'),
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Source-specific input, validated against the source's own input schema. May be left out for a source that takes no parameters.",
      ),
    jobId: JobId.optional().describe(
      'Upstream idempotency key. When absent Sluice derives one from source + canonical input + dedupe window.',
    ),
    traceId: TraceId.optional().describe('Trace ID carried end to end; generated when absent.'),
    requestedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        'When the upstream system asked for the job (ISO 8601), no later than 5 minutes after the message is sent. Defaults to the SQS sent time.',
      ),
    priority: z.enum(['low', 'normal', 'high']).default('normal').describe('Informational priority.'),
    followUpOf: FollowUpOf.optional().describe(
      'Set by Sluice on a follow-up job (the next page, a detail page) that a collection asked for: its parent, the root of its tree and its depth. The job key is derived from the parent key, the source and the input.',
    ),
  })
  .strict()
  .describe(
    'A request to collect data from one source. Sent as the body of an SQS message. A message with a __proto__ key, a NUL character or a lone surrogate anywhere is refused.',
  );
export type CollectJob = z.infer<typeof CollectJob>;

/**
 * What a source's EventBridge Scheduler schedule sends to its jobs queue each time it fires: not
 * a job yet, but a run, which the collector turns into the jobs the source's schedule names for
 * that time (follow-ups of the run). Scheduler fills in the time (`<aws.scheduler.scheduled-time>`),
 * so the run's key — and every job key under it — is the same however often it fires for that time.
 */
export const ScheduledRun = z
  .object({
    source: SourceName,
    scheduledRun: z
      .object({
        scheduledAt: z.iso
          .datetime({ offset: true })
          .describe('The time the schedule fired for, as Scheduler names it (e.g. 2026-11-27T08:00:00Z).'),
      })
      .strict(),
  })
  .strict()
  .describe('A scheduled run of one source, sent by its EventBridge Scheduler schedule.');
export type ScheduledRun = z.infer<typeof ScheduledRun>;

export const ArtifactRole = z.enum(['body', 'rendered-dom', 'screenshot', 'console-log', 'failure-dom']);
export type ArtifactRole = z.infer<typeof ArtifactRole>;

export const Artifact = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    key: z.string().min(1),
    role: ArtifactRole,
    contentType: z.string().min(1),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[a-f0-9]{64}$/),
  })
  .strict();
export type Artifact = z.infer<typeof Artifact>;

/** What one collection produced. Written last, so its existence means every artifact exists. */
export const RawManifest = z
  .object({
    manifestVersion: z.literal(1),
    source: SourceName,
    jobKey: z.string().min(1),
    fetchId: z.string().min(1),
    traceId: TraceId,
    job: CollectJob,
    attempt: z.number().int().positive(),
    collector: z.enum(['http', 'browser']),
    request: z.object({ url: z.url(), method: z.enum(['GET', 'POST']) }).strict(),
    response: z
      .object({
        status: z.number().int(),
        finalUrl: z.url(),
        contentType: z.string().optional(),
      })
      .strict(),
    observedAt: z.iso.datetime(),
    timings: z
      .object({
        startedAt: z.iso.datetime(),
        finishedAt: z.iso.datetime(),
        durationMs: z.number().nonnegative(),
      })
      .strict(),
    artifacts: z.array(Artifact).min(1),
    /** Name of the artifact the transform parses. */
    primaryArtifact: z.string().min(1),
    /** Which branch or fallback the collection took, in order. */
    branches: z.array(z.string()),
    /**
     * Follow-up jobs the collector asked for from what it saw (the parser's come from the raw
     * body), kept so that a delivery that recovers this collection enqueues them too.
     */
    followUps: z.array(z.object({ jobKey: JobKey, job: CollectJob }).strict()).optional(),
  })
  .strict()
  .refine((m) => m.artifacts.some((a) => a.name === m.primaryArtifact), {
    message: 'primaryArtifact must name one of the artifacts',
    path: ['primaryArtifact'],
  });
export type RawManifest = z.infer<typeof RawManifest>;

/** A record as stored in the records table. `data` is validated by the source's own schema. */
export const RecordItem = z
  .object({
    pk: z.string().regex(/^[a-z][a-z0-9-]*#.+$/),
    source: SourceName,
    entityId: z.string().min(1),
    data: z.record(z.string(), z.unknown()),
    /** Observation time of the fetch that produced the current data. */
    observedAt: z.iso.datetime(),
    /** Tie-breaker for two observations at the same instant: the fetch ID. */
    observationId: z.string().min(1),
    /** Revision of the parser rules that produced the current data from that observation. */
    parserRevision: z.number().int().positive(),
    contentHash: z.string().regex(/^[a-f0-9]{64}$/),
    rawKey: z.string().min(1),
    traceId: TraceId,
    /** 1 when created, plus one for every content change the record went through (see record-upsert.ts). */
    version: z.number().int().positive(),
    firstSeenAt: z.iso.datetime(),
    /** Newest observation of this entity, whether or not its content changed. */
    lastSeenAt: z.iso.datetime(),
    lastObservationId: z.string().min(1),
    lastParserRevision: z.number().int().positive(),
  })
  .strict();
export type RecordItem = z.infer<typeof RecordItem>;

/** DESIGN.md calls this contract `Record`; `RecordItem` avoids shadowing TypeScript's `Record<K, V>`. */
export { RecordItem as Record };
