/** The summary table `npm run bench` prints, and RESULTS.md opens with. */
import { PRICES, PRICES_AS_OF, totalPerMillionJobs } from '../cost-model.js';
import { formatSpread, formatNumber as n } from '../stats.js';
import { costBySource, splitCost } from './cost.js';
import { kb, mb, msOrDash, ratio, table } from './markdown.js';
import { parseRun } from './run-file.js';
import { PHASES } from './transform.js';

/** The summary table: one row per measurement, Sluice against its baseline where it has one. */
export function renderTable(json: unknown): string {
  const run = parseRun(json);
  const rows: string[][] = [];
  for (const c of [run.browser, run.http]) {
    if (c === undefined) continue;
    const what = c.kind === 'browser' ? 'Browser collection' : 'HTTP collection';
    rows.push([
      `${what} (${c.source}, ${c.settings.concurrency} at a time), pages/min`,
      formatSpread(c.sluice),
      `${c.baselineName}: ${formatSpread(c.baseline)}`,
      ratio(c.ratio),
    ]);
    rows.push([
      `  … Sluice's collector alone (nothing stored), pages/min`,
      formatSpread(c.sluiceFetchOnly),
      '',
      `${(c.sluiceFetchOnly.median / c.baseline.median).toFixed(2)}×`,
    ]);
  }
  if (run.transform !== undefined) {
    const t = run.transform;
    const current = t.variants[0];
    for (const [phase, phaseName] of PHASES) {
      const figure = current?.phases[phase];
      if (figure === undefined) continue;
      rows.push([
        `Transform (demo-catalog), ${phaseName}, ${t.concurrency} manifests at a time: records/s · writes per record`,
        `${formatSpread(figure.recordsPerSecond)} · ${figure.writeUnitsPerRecord.toFixed(2)}`,
        `bare parser: ${formatSpread(t.floor.recordsPerSecond)}`,
        `${(figure.recordsPerSecond.median / t.floor.recordsPerSecond.median).toPrecision(2)}× of the floor`,
      ]);
    }
    rows.push([
      '  … parse + validate + hash, in memory: records/s',
      formatSpread(t.parseAndValidate.recordsPerSecond),
      '',
      `${(t.parseAndValidate.recordsPerSecond.median / t.floor.recordsPerSecond.median).toFixed(2)}× of the floor`,
    ]);
  }
  if (run.replay !== undefined) {
    const r = run.replay;
    rows.push([
      `Replay over ${r.objectsInPrefix.toLocaleString('en-US')} raw objects (${r.manifests} fetches), ${r.concurrency} at a time`,
      `${n((r.objectsInPrefix / r.wallMs) * 1000)} stored objects/s · ${n(r.objectsPerSecond)} read/s · ${n(r.recordsPerSecond)} records/s`,
      '',
      `tenths: ${formatSpread(r.objectsPerSecondByTenth)} read/s`,
    ]);
  }
  if (run.coldStart !== undefined) {
    for (const f of run.coldStart.functions) {
      rows.push([
        `Cold start ${f.entry}`,
        `init ${formatSpread(f.initMs, 'ms')}`,
        `bundle ${kb(f.bundleBytes)}, asset dir ${mb(f.assetDirBytes)}`,
        '',
      ]);
    }
    const b = run.coldStart.browser;
    rows.push([
      'Chromium: unpack into empty TMPDIR · first launch · warm launch',
      `${formatSpread(b.unpackMs, 'ms')} · ${formatSpread(b.firstLaunchMs, 'ms')} · ${formatSpread(b.warmLaunchMs, 'ms')}`,
      '',
      '',
    ]);
  }
  if (run.pipeline !== undefined) {
    const p = run.pipeline;
    rows.push([
      `Pipeline capacity: ${p.jobs} jobs enqueued at once${p.followUpJobs === undefined ? '' : ` (${p.followUpJobs.jobs} follow-up jobs within them)`}, drained locally: jobs/min`,
      n(p.jobsPerMinute),
      `${p.succeeded} succeeded, ${p.deadLettered} dead-lettered, ${p.handedOff} handed off, ${p.unaccounted} unaccounted`,
      '',
    ]);
    for (const s of p.steady) {
      rows.push([
        `Pipeline latency at ${n(s.arrivalsPerMinute)} jobs/min (${Math.round(s.utilisation * 100)} % of capacity), ${s.name}: enqueue→record p50 / p95`,
        `${msOrDash(s.latencyMs.p50)} / ${msOrDash(s.latencyMs.p95)}`,
        `${s.succeeded} of ${s.jobs} succeeded; p50 by third ${s.p50ByThirdMs.map((v) => n(v)).join(' → ')} ms`,
        '',
      ]);
    }
  }
  const cost = costBySource(run);
  for (const [source, lines] of cost ?? []) {
    const { compute, requests } = splitCost(lines);
    rows.push([
      `Cost, ${source}: $ per million jobs (${PRICES.region}, list prices of ${PRICES_AS_OF})`,
      `$${n(totalPerMillionJobs(lines))}`,
      `Lambda compute $${n(compute)} (local durations: an upper bound) + requests and bytes $${n(requests)}`,
      '',
    ]);
  }
  return table(['measure', 'Sluice', 'baseline / detail', 'Sluice ÷ baseline'], rows);
}
