/** ## 0: what moto costs per call, and what its unpatched transactions cost in memory. */
import { formatSpread, formatNumber as n } from '../stats.js';
import { ms, table } from './markdown.js';
import type { BenchRun } from './run-file.js';

export function calibrationSection(run: BenchRun): string | undefined {
  if (run.calibration === undefined) return undefined;
  const c = run.calibration;
  return `## 0. Calibration: what moto costs per call

Every figure that stores something stores it in moto, a Python emulator serving all of S3, SQS and
DynamoDB from one process (one core at most). One call at a time, ${c.calls} calls each, through
Sluice's own adapters:

${table(
  ['call', 'median (min–max)'],
  [
    ['S3 PutObject, 8 KiB, If-None-Match + SHA-256 (S3RawStore.put)', formatSpread(c.s3PutMs, 'ms')],
    ['S3 GetObject, 8 KiB (S3RawStore.get)', formatSpread(c.s3GetMs, 'ms')],
    [
      'DynamoDB conditional UpdateItem, new record (DynamoRecordStore.upsert)',
      formatSpread(c.recordUpsertMs, 'ms'),
    ],
    [
      'DynamoDB TransactWriteItems, 2 items, empty ledger (DynamoJobLedger.recordAttempt)',
      formatSpread(c.ledgerTransactionEmptyMs, 'ms'),
    ],
    [
      `… the same with ${c.ledgerItemsWhenFull} items in the ledger table`,
      formatSpread(c.ledgerTransactionFullMs, 'ms'),
    ],
    ...(c.ledgerClaimMs === undefined
      ? []
      : [
          [
            "A job's claim: a conditional UpdateItem (DynamoJobLedger.claim)",
            formatSpread(c.ledgerClaimMs, 'ms'),
          ],
        ]),
    ...(c.ledgerClaimAndReleaseMs === undefined
      ? []
      : [
          [
            "A job's claim and release: 2 conditional UpdateItems (DynamoJobLedger.claim, .release)",
            formatSpread(c.ledgerClaimAndReleaseMs, 'ms'),
          ],
        ]),
  ],
)}

${memorySection(run)}`;
}

function memorySection(run: BenchRun): string {
  const m = run.motoTransactionMemory;
  if (m === undefined) return '';
  return `Unpatched, moto 5.2's TransactWriteItems deep-copies each table it touches, once per item, and
keeps the copies; concurrent transactions can also fail with HTTP 500 ("dictionary changed size
during iteration"). The job ledger writes one transaction per attempt, so memory grows with the
square of the jobs run. Measured in this run on a fresh moto, ${m.transactions} ledger transactions one at a time:

${table(
  ['moto', 'resident memory before → after', 'time'],
  [
    ['as installed', `${n(m.unpatched.beforeMiB)} → ${n(m.unpatched.afterMiB)} MiB`, ms(m.unpatched.ms)],
    ['with bench/moto-patch', `${n(m.patched.beforeMiB)} → ${n(m.patched.afterMiB)} MiB`, ms(m.patched.ms)],
  ],
)}

On this machine, \`npm start -- --jobs 1000\` with moto as installed got moto killed by the kernel's
OOM killer at 21.7 GB resident after about 950 jobs (found while writing this benchmark). Every moto
the benchmark starts therefore loads \`bench/moto-patch/sitecustomize.py\`: no table copy. (One
DynamoDB request at a time, which moto's threaded server needs for atomic conditional writes, is
now the local emulator's own launcher, \`local/emulator.ts\`, for every moto including these.)
Nothing in Sluice changes; the patch keeps the emulator alive and its transaction cost flat.
`;
}
