/**
 * In-memory fakes of Sluice's own ports (RawStore, JobLedger, RecordStore), shared by the unit
 * tests of the collector and transform cores. They keep the contracts the real adapters keep
 * (append-only raw storage, the conditional upsert rules of DESIGN.md decision 4) so tests can
 * assert on stored outcomes rather than on calls.
 */
import { createHash } from 'node:crypto';
import { PermanentError } from '../../../functions/core/errors.js';
import type {
  AttemptEntry,
  JobLedger,
  PutResult,
  RawCatalog,
  RawStore,
  StoredObject,
} from '../../../functions/core/ports.js';
import type { Observation } from '../../../functions/core/record-upsert.js';

export function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface RawWrite {
  readonly key: string;
  readonly contentType: string;
  readonly metadata: { readonly [key: string]: string };
  /** Keys already stored when this write started: shows what a reader of this key could rely on. */
  readonly keysStoredBefore: ReadonlySet<string>;
}

export class MemoryRawStore implements RawStore, RawCatalog {
  readonly objects = new Map<string, StoredObject>();
  readonly writes: RawWrite[] = [];

  async put(
    key: string,
    body: Buffer,
    options: { contentType: string; metadata: { [key: string]: string } },
  ): Promise<PutResult> {
    this.writes.push({
      key,
      contentType: options.contentType,
      metadata: { ...options.metadata },
      keysStoredBefore: new Set(this.objects.keys()),
    });
    // Commit on a later turn, like a network write, so a caller that does not await one write
    // before starting the next is visible in `keysStoredBefore`.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.objects.has(key)) {
      throw new PermanentError(`raw object already exists: ${key}`, { reason: 'raw-key-exists' });
    }
    this.objects.set(key, {
      body: Buffer.from(body),
      contentType: options.contentType,
      metadata: { ...options.metadata },
    });
    return { size: body.byteLength, sha256: sha256Hex(body) };
  }

  async *listKeys(prefix: string): AsyncIterable<readonly string[]> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    if (keys.length > 0) yield keys;
  }

  async get(key: string): Promise<StoredObject> {
    const object = this.objects.get(key);
    if (object === undefined) throw new Error(`no raw object at ${key}`);
    return object;
  }

  /** Stores an object directly, for tests that start from existing raw data. */
  seed(key: string, body: Buffer, contentType: string): void {
    this.objects.set(key, { body, contentType, metadata: {} });
  }
}

export class MemoryJobLedger implements JobLedger {
  readonly attempts: AttemptEntry[] = [];

  async recordAttempt(entry: AttemptEntry): Promise<void> {
    this.attempts.push(entry);
  }

  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    return this.attempts.filter((a) => a.jobKey === jobKey).map((a) => ({ ...a }));
  }
}

export interface StoredRecord {
  readonly observation: Observation;
  readonly version: number;
  readonly lastSeenAt: string;
  readonly lastObservationId: string;
}
