/**
 * In-memory fakes of the collector core's ports for the collection unit tests: they keep the
 * contracts the real adapters keep (append-only raw storage; a claim granted to one delivery at a
 * time and refused inside the dedupe window) and record the order of calls across ports.
 */
import { PermanentError } from '../../../functions/core/errors.js';
import type {
  AttemptEntry,
  ClaimRequest,
  ClaimResult,
  JobClaims,
  JobLedger,
  PutResult,
  RawCatalog,
  RawStore,
  StoredObject,
} from '../../../functions/core/ports.js';

/** Calls across every fake, in order, e.g. `claim`, `put raw/...`, `record collected`, `release`. */
export type CallLog = string[];

export class FakeRawStore implements RawStore, RawCatalog {
  readonly objects = new Map<string, StoredObject>();
  failWith: Error | undefined;

  constructor(private readonly calls: CallLog = []) {}

  async put(
    key: string,
    body: Buffer,
    options: { contentType: string; metadata: { [key: string]: string } },
  ): Promise<PutResult> {
    this.calls.push(`put ${key}`);
    if (this.failWith !== undefined) throw this.failWith;
    if (this.objects.has(key))
      throw new PermanentError(`raw object already exists: ${key}`, { reason: 'raw-key-exists' });
    this.objects.set(key, { body, contentType: options.contentType, metadata: options.metadata });
    return { size: body.byteLength, sha256: '0'.repeat(64) };
  }

  async *listKeys(prefix: string): AsyncIterable<readonly string[]> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    if (keys.length > 0) yield keys;
  }

  async get(key: string): Promise<StoredObject> {
    const object = this.objects.get(key);
    if (object === undefined) throw new Error(`no object ${key}`);
    return object;
  }
}

export class FakeLedger implements JobLedger {
  readonly attempts: AttemptEntry[] = [];

  constructor(private readonly calls: CallLog = []) {}

  async recordAttempt(entry: AttemptEntry): Promise<void> {
    this.calls.push(`record ${entry.outcome}`);
    this.attempts.push(entry);
  }

  async history(jobKey: string): Promise<{ [key: string]: unknown }[]> {
    return this.attempts.filter((a) => a.jobKey === jobKey).map((a) => ({ ...a }));
  }
}

/** Claims with the real rules: a live lease or a collection inside the window refuses a claim. */
export class FakeClaims implements JobClaims {
  readonly requests: ClaimRequest[] = [];
  private readonly state = new Map<
    string,
    { owner?: string; until?: Date; collectedAt?: Date; claimedAt?: Date }
  >();

  constructor(private readonly calls: CallLog = []) {}

  /** Marks a job collected at `at`, as recording a collection does. */
  collected(jobKey: string, at: Date): void {
    this.state.set(jobKey, { ...this.state.get(jobKey), collectedAt: at });
  }

  /** Records that an earlier delivery claimed the job at `at` (and holds it no longer). */
  claimedBefore(jobKey: string, at: Date): void {
    this.state.set(jobKey, { ...this.state.get(jobKey), claimedAt: at });
  }

  /** Makes another delivery hold the job until `until`. */
  heldBy(jobKey: string, owner: string, until: Date): void {
    this.state.set(jobKey, { ...this.state.get(jobKey), owner, until });
  }

  holder(jobKey: string): string | undefined {
    return this.state.get(jobKey)?.owner;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.calls.push('claim');
    this.requests.push(request);
    const current = this.state.get(request.jobKey) ?? {};
    if (current.collectedAt !== undefined && current.collectedAt >= request.collectedSince) {
      return { status: 'already-collected', collectedAt: current.collectedAt };
    }
    if (current.until !== undefined && current.until >= request.now) {
      return { status: 'held-elsewhere', until: current.until, owner: current.owner ?? 'unknown' };
    }
    this.state.set(request.jobKey, {
      ...current,
      owner: request.owner,
      until: request.leaseUntil,
      claimedAt: request.now,
    });
    return { status: 'claimed', previouslyClaimed: current.claimedAt !== undefined };
  }

  async release(jobKey: string, owner: string): Promise<void> {
    this.calls.push('release');
    const current = this.state.get(jobKey);
    if (current?.owner === owner) {
      const { owner: _owner, until: _until, ...rest } = current;
      this.state.set(jobKey, rest);
    }
  }
}
