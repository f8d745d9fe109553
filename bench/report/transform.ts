/** ## 3: the transform against the bare parser, in a first load and a re-collection, with its write what-ifs. */
import { formatSpread } from '../stats.js';
import type { PhaseFigure, TransformBenchResult, TransformPhase } from '../transform.js';
import { kb, ms, ratio, table } from './markdown.js';

/** The two phases of a source the transform part measures, as RESULTS.md names them. */
export const PHASES: readonly (readonly [TransformPhase, string])[] = [
  ['firstLoad', 'first load'],
  ['recollection', 're-collection'],
];

/** `1.00 (20 UpdateItem, 0 refused)` per record, or the transactions' share. */
export function writesPerRecord(figure: PhaseFigure, records: number): string {
  const w = figure.writes;
  const per = (count: number) => (count / Math.max(1, records)).toFixed(2);
  const parts = [`${per(w.updates)} UpdateItem (${per(w.failedUpdates)} refused)`];
  if (w.transactions > 0)
    parts.push(
      `${per(w.transactions)} transactions (${per(w.cancelledTransactions)} cancelled) of ${per(w.committedTransactionItems)} items committed`,
    );
  return parts.join(' + ');
}

export function transformSection(t: TransformBenchResult): string {
  const records = t.recordsPerRepeat * t.repeats;
  return `## 3. Transform

${t.manifestsPerRepeat} stored demo-catalog observations per repeat (${t.recordsPerRepeat} records,
${kb(t.rawBytesPerRepeat)} of raw HTML), ${t.concurrency} manifests at a time (a transform Lambda's
batch, whose records Powertools processes in parallel), ${t.repeats} repeats. Each repeat of each
variant is one simulated container on a fresh records table, going through the two phases a source
goes through:

- **first load**: every observation has products no earlier one had, so every record is created;
- **re-collection**: the same pages observed again later, same content, so every record is unchanged
  (its last-seen observation advances).

The transform as it runs is \`transformManifest\` with one \`RecentWrites\` per container, as the
transform handler keeps one: read the manifest and the raw body from S3 (moto), check the
checksum, parse (cheerio), validate (zod), hash, and upsert each record conditionally into DynamoDB
(moto, 8 writes in flight). The ledger write and freshness mark the handler adds are not included.
DynamoDB writes are counted at the SDK: every UpdateItem, refused ones included (DynamoDB bills a
refused conditional write a unit too), and every transaction. Write units assume items under 1 KB
(a record is about 0.7 KB): one per UpdateItem, two per item of a committed transaction.

${table(
  ['what', 'records/s', 'raw MiB/s'],
  [t.floor, t.parseAndValidate].map((f) => [
    f.label,
    formatSpread(f.recordsPerSecond),
    formatSpread(f.rawMBPerSecond),
  ]),
)}

The transform and its what-ifs, interleaved (the order rotates each repeat); ÷ is each repeat's
records/s over the transform as it runs in the same repeat:

${table(
  [
    'variant',
    ...PHASES.flatMap(([, name]) => [
      `${name}: records/s`,
      '÷ as it runs',
      'writes per record',
      'WRU per record',
    ]),
  ],
  t.variants.map((v) => [
    v.name,
    ...PHASES.flatMap(([phase]) => {
      const f = v.phases[phase];
      return [
        formatSpread(f.recordsPerSecond),
        ratio(f.ratioToCurrent),
        writesPerRecord(f, records),
        f.writeUnitsPerRecord.toFixed(2),
      ];
    }),
  ]),
)}

Failures: ${t.variants.map((v) => `${v.name} ${v.failures}`).join(', ')}.

Per manifest, one at a time, a first load (the upserts overlap, so their sum exceeds their wall time):

${table(
  ['step', 'median', 'p95'],
  t.steps.map((s) => [s.step, ms(s.medianMs), ms(s.p95Ms)]),
)}
`;
}
