/**
 * The transform's core: a manifest key in, validated records conditionally upserted out.
 * Touches nothing but raw storage and the records table (DESIGN.md decision 1).
 */
import { createHash } from 'node:crypto';
import type { SourceParser } from '../../sources/define.js';
import type { JobLedger } from '../adapters/job-ledger.js';
import type { RawStore } from '../adapters/raw-store.js';
import type { RecordStore, UpsertOutcome } from '../adapters/record-store.js';
import { RawManifest } from './contracts.js';
import { HandoffRequiredError, PermanentError } from './errors.js';
import { canonicalJson } from './job-key.js';

export interface TransformDeps {
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
  readonly findParser: (source: string) => SourceParser | undefined;
  readonly ledger: JobLedger;
  readonly clock: () => Date;
  /** Conditional writes in flight at once for one raw object. */
  readonly writeConcurrency?: number;
}

export type RecordCounts = { [outcome in UpsertOutcome]: number };

export interface TransformResult {
  readonly manifest: RawManifest;
  readonly counts: RecordCounts;
}

/**
 * The parser's output cannot be trusted (no records, or records failing their schema). Nothing is
 * written; a person decides whether the source changed or the rules must, with the raw key to hand.
 */
export class InvalidOutputError extends HandoffRequiredError {
  readonly rawKey: string;
  constructor(message: string, options: { reason: 'no-records' | 'records-invalid'; rawKey: string }) {
    super(message, { reason: options.reason });
    this.rawKey = options.rawKey;
  }
}

export function contentHashOf(data: unknown): string {
  return createHash('sha256').update(canonicalJson(data)).digest('hex');
}

export async function loadManifest(rawStore: RawStore, manifestKey: string): Promise<RawManifest> {
  const object = await rawStore.get(manifestKey);
  let json: unknown;
  try {
    json = JSON.parse(object.body.toString('utf8'));
  } catch (cause) {
    throw new PermanentError(`manifest ${manifestKey} is not JSON`, { reason: 'manifest-invalid', cause });
  }
  const parsed = RawManifest.safeParse(json);
  if (!parsed.success) {
    throw new PermanentError(`manifest ${manifestKey} is not a RawManifest: ${parsed.error.message}`, {
      reason: 'manifest-invalid',
      cause: parsed.error,
    });
  }
  return parsed.data;
}

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  }
  return results;
}

export async function transformManifest(manifestKey: string, deps: TransformDeps): Promise<TransformResult> {
  const manifest = await loadManifest(deps.rawStore, manifestKey);
  const parser = deps.findParser(manifest.source);
  if (parser === undefined) {
    throw new PermanentError(`no parser is registered for source ${manifest.source}`, {
      reason: 'unknown-source',
    });
  }
  const primary = manifest.artifacts.find((a) => a.name === manifest.primaryArtifact);
  if (primary === undefined) {
    throw new PermanentError(`manifest names no artifact ${manifest.primaryArtifact}`, {
      reason: 'manifest-invalid',
    });
  }
  const raw = await deps.rawStore.get(primary.key);
  const sha256 = createHash('sha256').update(raw.body).digest('hex');
  if (sha256 !== primary.sha256) {
    throw new PermanentError(`raw object ${primary.key} does not match its manifest checksum`, {
      reason: 'raw-checksum-mismatch',
    });
  }

  const candidates = parser.parse(raw.body, {
    finalUrl: manifest.response.finalUrl,
    contentType: manifest.response.contentType,
  });
  // An empty result is how a changed page usually shows itself: never let it pass silently.
  if (candidates.length === 0) {
    throw new InvalidOutputError(`parser for ${manifest.source} found no records in ${primary.key}`, {
      reason: 'no-records',
      rawKey: primary.key,
    });
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const valid = candidates.flatMap((candidate, index) => {
    if (seen.has(candidate.entityId)) {
      problems.push(`#${index} (${candidate.entityId}): the same entity appears twice in one observation`);
      return [];
    }
    seen.add(candidate.entityId);
    const result = parser.record.safeParse(candidate.data);
    if (result.success && candidate.entityId !== '')
      return [{ entityId: candidate.entityId, data: result.data }];
    const issues = result.success
      ? 'entityId is empty'
      : result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    problems.push(`#${index} (${candidate.entityId || 'no id'}): ${issues}`);
    return [];
  });
  if (problems.length > 0) {
    throw new InvalidOutputError(
      `${problems.length} of ${candidates.length} records from ${primary.key} failed validation: ${problems.slice(0, 5).join(' | ')}`,
      { reason: 'records-invalid', rawKey: primary.key },
    );
  }

  const observedAt = new Date(manifest.observedAt);
  const outcomes = await inBatches(valid, deps.writeConcurrency ?? 8, (record) =>
    deps.recordStore.upsert({
      source: manifest.source,
      entityId: record.entityId,
      data: record.data,
      contentHash: contentHashOf(record.data),
      observedAt,
      observationId: manifest.fetchId,
      rawKey: primary.key,
      traceId: manifest.traceId,
    }),
  );
  const counts: RecordCounts = { created: 0, updated: 0, unchanged: 0, stale: 0 };
  for (const outcome of outcomes) counts[outcome] += 1;
  return { manifest, counts };
}
