/**
 * What moto itself costs per call on this machine, one call at a time: the floor under every
 * figure that stores something. Sluice's adapters make the calls (S3RawStore, DynamoRecordStore,
 * DynamoJobLedger), so the figures are the ones Sluice's measurements pay.
 */
import { randomUUID } from 'node:crypto';
import type { CollectorLedger, RawStore, RecordStore } from './sluice-ports.js';
import { now, type Spread, spread } from './stats.js';

export interface MotoCalibration {
  readonly calls: number;
  readonly s3PutMs: Spread;
  readonly s3GetMs: Spread;
  readonly recordUpsertMs: Spread;
  readonly ledgerTransactionEmptyMs: Spread;
  readonly ledgerTransactionFullMs: Spread;
  /**
   * A collection's claim and its release: two conditional UpdateItems on the claim item. Only in
   * runs made before the release went into the collection's ledger transaction.
   */
  readonly ledgerClaimAndReleaseMs?: Spread;
  /** A collection's claim: one conditional UpdateItem (its release rides in the ledger transaction). */
  readonly ledgerClaimMs?: Spread;
  /** Items in the ledger table when ledgerTransactionFullMs was taken. */
  readonly ledgerItemsWhenFull: number;
}

async function timeEach(count: number, call: (index: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = now();
    await call(index);
    samples.push(now() - started);
  }
  return samples;
}

export async function calibrateMoto(options: {
  readonly rawStore: RawStore;
  readonly recordStore: RecordStore;
  readonly ledger: CollectorLedger;
  readonly calls: number;
  readonly fillLedgerAttempts: number;
}): Promise<MotoCalibration> {
  const { rawStore, recordStore, ledger, calls } = options;
  const tag = randomUUID().slice(0, 8);
  const body = Buffer.alloc(8 * 1024, 'x');
  const meta = { contentType: 'text/html', metadata: { 'trace-id': tag } };
  const key = (i: number) => `raw/calibration/${tag}/${i}/response.html`;
  const attempt = (i: number) => ({
    jobKey: `calibration-${tag}-${i}`,
    source: 'demo-catalog',
    traceId: randomUUID(),
    attempt: 1,
    stage: 'collect' as const,
    startedAt: new Date(),
    finishedAt: new Date(),
    outcome: 'collected' as const,
    manifestKey: key(i),
    artifactKeys: [key(i)],
  });

  await timeEach(10, (i) => rawStore.put(key(-1 - i), body, meta)); // warm-up
  const s3PutMs = await timeEach(calls, (i) => rawStore.put(key(i), body, meta));
  const s3GetMs = await timeEach(calls, (i) => rawStore.get(key(i)));
  const recordUpsertMs = await timeEach(calls, (i) =>
    recordStore.upsert({
      source: 'demo-catalog',
      entityId: `CAL-${tag}-${i}`,
      data: { sku: `CAL-${i}`, name: 'Calibration', priceCents: 100, inStock: true },
      contentHash: `${i}`,
      observedAt: new Date(),
      observationId: `${i}`,
      parserRevision: 1,
      rawKey: key(i),
      traceId: tag,
    }),
  );
  const ledgerClaimMs: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const jobKey = `calibration-claim-${tag}-${i}`;
    const owner = randomUUID();
    const claimedAt = new Date();
    const started = now();
    await ledger.claim({
      jobKey,
      source: 'demo-catalog',
      traceId: tag,
      owner,
      now: claimedAt,
      leaseUntil: new Date(claimedAt.getTime() + 60_000),
      collectedSince: new Date(claimedAt.getTime() - 3_600_000),
    });
    ledgerClaimMs.push(now() - started);
    await ledger.release(jobKey, owner);
  }
  const ledgerTransactionEmptyMs = await timeEach(calls, (i) => ledger.recordAttempt(attempt(i)));
  await timeEach(options.fillLedgerAttempts, (i) => ledger.recordAttempt(attempt(calls + i)));
  const ledgerTransactionFullMs = await timeEach(calls, (i) =>
    ledger.recordAttempt(attempt(calls + options.fillLedgerAttempts + i)),
  );
  return {
    calls,
    s3PutMs: spread(s3PutMs),
    s3GetMs: spread(s3GetMs),
    recordUpsertMs: spread(recordUpsertMs),
    ledgerTransactionEmptyMs: spread(ledgerTransactionEmptyMs),
    ledgerTransactionFullMs: spread(ledgerTransactionFullMs),
    ledgerClaimMs: spread(ledgerClaimMs),
    ledgerItemsWhenFull: 2 * (calls + options.fillLedgerAttempts),
  };
}
