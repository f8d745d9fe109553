/**
 * local-report.html: the local run as charts (per-source outcomes, latency distribution,
 * freshness, retries and hand-offs), self-contained — inline SVG and CSS, nothing fetched.
 * Every figure shown carries `data-figure="<path in local-report.json>"`, and every bar
 * `data-bar="<path>"`, so a test can check the page against the JSON it was made from.
 */
import type { LocalReport } from './run-report.js';

const COLORS = {
  succeeded: '#2e7d32',
  deadLettered: '#c62828',
  handedOff: '#ef6c00',
  unaccounted: '#757575',
  retries: '#6a1b9a',
  openHandoffTasks: '#f9a825',
  age: '#1565c0',
  sla: '#37474f',
} as const;

/** Every chart is this wide in SVG units, so text has the same size in all of them. */
const CHART_WIDTH = 800;

const SOURCE_PALETTE = ['#1565c0', '#00897b', '#8e24aa', '#f4511e', '#6d4c41', '#3949ab'];

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** How a figure is written on the page; the test formats the JSON value the same way. */
export function formatFigure(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function figure(path: string, value: number | null | undefined): string {
  return `<span class="figure" data-figure="${escapeHtml(path)}">${formatFigure(value)}</span>`;
}

function svgFigure(path: string, value: number | null | undefined, x: number, y: number, anchor = 'start') {
  return `<text x="${x}" y="${y}" text-anchor="${anchor}" data-figure="${escapeHtml(path)}">${formatFigure(value)}</text>`;
}

function bar(
  path: string,
  value: number,
  x: number,
  y: number,
  width: number,
  height: number,
  color: string,
) {
  return `<rect data-bar="${escapeHtml(path)}" data-value="${value}" x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(0, width).toFixed(2)}" height="${Math.max(0, height).toFixed(2)}" fill="${color}"/>`;
}

function legend(items: readonly (readonly [string, string])[]): string {
  return `<p class="legend">${items
    .map(([label, color]) => `<span><i style="background:${color}"></i>${escapeHtml(label)}</span>`)
    .join('')}</p>`;
}

function humanSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Stacked horizontal bars: one row per source, one segment per outcome. */
function outcomesChart(report: LocalReport, names: readonly string[]): string {
  const outcomes = ['succeeded', 'deadLettered', 'handedOff', 'unaccounted'] as const;
  const labelWidth = 130;
  const chartWidth = 500;
  const rowHeight = 34;
  const columnX = (i: number) => labelWidth + chartWidth + 20 + i * 40;
  const most = Math.max(1, ...names.map((n) => report.sources[n]?.jobs ?? 0));
  const header = ['ok', 'DLQ', 'h/o', 'lost']
    .map((h, i) => `<text x="${columnX(i)}" y="12" class="column">${h}</text>`)
    .join('');
  const rows = names.map((name, row) => {
    const figures = report.sources[name];
    if (figures === undefined) return '';
    const y = 22 + row * rowHeight;
    let x = labelWidth;
    const segments = outcomes.map((outcome) => {
      const value = figures[outcome];
      const width = (value / most) * chartWidth;
      const segment = bar(`sources.${name}.${outcome}`, value, x, y, width, 20, COLORS[outcome]);
      x += width;
      return segment;
    });
    const labels = outcomes.map((o, i) => svgFigure(`sources.${name}.${o}`, figures[o], columnX(i), y + 15));
    return `<text x="0" y="${y + 15}">${escapeHtml(name)}</text>${segments.join('')}${labels.join('')}`;
  });
  const height = 32 + names.length * rowHeight;
  return `<svg viewBox="0 0 ${CHART_WIDTH} ${height}" width="100%" role="img" aria-label="job outcomes per source">${header}${rows.join('')}</svg>
${legend([
  ['succeeded', COLORS.succeeded],
  ['dead-lettered', COLORS.deadLettered],
  ['handed off', COLORS.handedOff],
  ['unaccounted', COLORS.unaccounted],
])}`;
}

/** Grouped vertical bars: one group per latency bucket, one bar per source. */
function latencyChart(report: LocalReport, names: readonly string[]): string {
  const { upperBoundsMs, counts } = report.latencyHistogram;
  const groupWidth = (CHART_WIDTH - 20) / upperBoundsMs.length;
  const chartHeight = 160;
  const top = 20;
  const most = Math.max(1, ...names.flatMap((n) => counts[n] ?? []));
  const barWidth = Math.max(6, (groupWidth - 16) / Math.max(1, names.length));
  const groups = upperBoundsMs.map((bound, bucket) => {
    const x0 = 10 + bucket * groupWidth;
    const bars = names.map((name, i) => {
      const value = counts[name]?.[bucket] ?? 0;
      const height = (value / most) * chartHeight;
      const x = x0 + i * barWidth;
      const y = top + chartHeight - height;
      const color = SOURCE_PALETTE[i % SOURCE_PALETTE.length] ?? '#000';
      return `${bar(`latencyHistogram.counts.${name}.${bucket}`, value, x, y, barWidth - 2, height, color)}${svgFigure(`latencyHistogram.counts.${name}.${bucket}`, value, x + (barWidth - 2) / 2, y - 4, 'middle')}`;
    });
    const previous = bucket === 0 ? 0 : (upperBoundsMs[bucket - 1] ?? 0);
    const label = bound === null ? `> ${previous / 1000} s` : `≤ ${bound / 1000} s`;
    return `${bars.join('')}<text x="${x0 + (groupWidth - 16) / 2}" y="${top + chartHeight + 16}" text-anchor="middle">${escapeHtml(label)}</text>`;
  });
  return `<svg viewBox="0 0 ${CHART_WIDTH} ${top + chartHeight + 26}" width="100%" role="img" aria-label="latency distribution">${groups.join('')}</svg>
${legend(names.map((n, i) => [n, SOURCE_PALETTE[i % SOURCE_PALETTE.length] ?? '#000'] as const))}`;
}

/** One bar per source: data age against the freshness SLA (the dark line). */
function freshnessChart(report: LocalReport, names: readonly string[]): string {
  const labelWidth = 130;
  const chartWidth = 460;
  const rowHeight = 34;
  const rows = names.map((name, row) => {
    const figures = report.sources[name];
    if (figures === undefined) return '';
    const y = 10 + row * rowHeight;
    const sla = figures.freshnessSlaMinutes * 60;
    const age = figures.dataAgeSeconds;
    // The SLA sits at 80% of the width, so an age past it still shows.
    const scale = (chartWidth * 0.8) / sla;
    const ageBar =
      age === null
        ? `<text x="${labelWidth}" y="${y + 15}" fill="${COLORS.deadLettered}">no records yet</text>`
        : bar(
            `sources.${name}.dataAgeSeconds`,
            age,
            labelWidth,
            y,
            Math.min(chartWidth, age * scale),
            20,
            COLORS.age,
          );
    const slaX = labelWidth + sla * scale;
    return `<text x="0" y="${y + 15}">${escapeHtml(name)}</text>${ageBar}<line x1="${slaX}" x2="${slaX}" y1="${y - 4}" y2="${y + 24}" stroke="${COLORS.sla}" stroke-width="2"/>${svgFigure(`sources.${name}.dataAgeSeconds`, age, labelWidth + chartWidth + 12, y + 15)}<text x="${labelWidth + chartWidth + 60}" y="${y + 15}">s (SLA ${escapeHtml(humanSeconds(sla))})</text>`;
  });
  return `<svg viewBox="0 0 ${CHART_WIDTH} ${20 + names.length * rowHeight}" width="100%" role="img" aria-label="data age per source">${rows.join('')}</svg>
${legend([
  ['data age', COLORS.age],
  ['freshness SLA', COLORS.sla],
])}`;
}

/** Grouped horizontal bars: retries, jobs handed off and open hand-off tasks per source. */
function retriesChart(report: LocalReport, names: readonly string[]): string {
  const series = ['retries', 'handedOff', 'openHandoffTasks'] as const;
  const labelWidth = 130;
  const chartWidth = 420;
  const barHeight = 12;
  const groupHeight = series.length * (barHeight + 3) + 14;
  const most = Math.max(1, ...names.flatMap((n) => series.map((s) => report.sources[n]?.[s] ?? 0)));
  const groups = names.map((name, group) => {
    const figures = report.sources[name];
    if (figures === undefined) return '';
    const y0 = 10 + group * groupHeight;
    const bars = series.map((s, i) => {
      const value = figures[s];
      const y = y0 + i * (barHeight + 3);
      return `${bar(`sources.${name}.${s}`, value, labelWidth, y, (value / most) * chartWidth, barHeight, COLORS[s])}${svgFigure(`sources.${name}.${s}`, value, labelWidth + chartWidth + 12, y + barHeight - 1)}`;
    });
    return `<text x="0" y="${y0 + barHeight + 4}">${escapeHtml(name)}</text>${bars.join('')}`;
  });
  return `<svg viewBox="0 0 ${CHART_WIDTH} ${20 + names.length * groupHeight}" width="100%" role="img" aria-label="retries and hand-offs per source">${groups.join('')}</svg>
${legend([
  ['retried attempts', COLORS.retries],
  ['jobs handed off', COLORS.handedOff],
  ['hand-off tasks still open', COLORS.openHandoffTasks],
])}`;
}

/** Every alarm at the end of the run, ALARM first, with its reason; and what the scenario expected. */
function alarmsSection(report: LocalReport): string {
  const inAlarm = report.alarms.filter((a) => a.state === 'ALARM').length;
  const rows = report.alarms
    .map(
      (a) =>
        `<tr data-alarm="${escapeHtml(a.name)}" data-state="${escapeHtml(a.state)}"><th>${escapeHtml(a.name)}</th><td class="state state-${escapeHtml(a.state)}">${escapeHtml(a.state)}</td><td class="reason">${escapeHtml(a.reason)}</td></tr>`,
    )
    .join('');
  const { scenario } = report;
  const expected =
    scenario.expectedAlarms.length === 0 ? 'none' : scenario.expectedAlarms.map(escapeHtml).join(', ');
  const verdict =
    scenario.unexpectedAlarms.length === 0 && scenario.missingAlarms.length === 0
      ? 'as expected'
      : `not as expected: in ALARM unexpectedly ${scenario.unexpectedAlarms.map(escapeHtml).join(', ') || 'none'}; expected but not in ALARM ${scenario.missingAlarms.map(escapeHtml).join(', ') || 'none'}`;
  return `<p>Evaluated as CloudWatch would, every minute of local time, from the metrics the run published: <span data-alarms-in-alarm="${inAlarm}">${inAlarm}</span> of ${report.alarms.length} in ALARM. Scenario <code>${escapeHtml(scenario.name)}</code> expects in ALARM: ${expected} — ${verdict}.</p>
<table class="alarms">
  <thead><tr><th>alarm</th><th>state</th><th>reason</th></tr></thead>
  <tbody>${rows}</tbody>
</table>`;
}

export function renderReportHtml(report: LocalReport): string {
  const names = Object.keys(report.sources).sort();
  const latencyRows = names
    .map((name) => {
      const l = report.sources[name]?.latencyMs;
      return `<tr><th>${escapeHtml(name)}</th><td>${figure(`sources.${name}.latencyMs.p50`, l?.p50)}</td><td>${figure(`sources.${name}.latencyMs.p95`, l?.p95)}</td><td>${figure(`sources.${name}.latencyMs.max`, l?.max)}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sluice local run ${escapeHtml(report.runId)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #212121; padding: 0 1rem; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
  dl.totals { display: grid; grid-template-columns: repeat(4, 1fr); gap: .5rem 1rem; }
  dl.totals div { background: #f5f5f5; padding: .5rem .75rem; border-radius: 4px; }
  dt { color: #616161; font-size: .85rem; } dd { margin: 0; font-size: 1.3rem; }
  table { border-collapse: collapse; } th, td { padding: .25rem .75rem; text-align: right; } th:first-child { text-align: left; }
  svg text { font: 12px system-ui, sans-serif; fill: #212121; } svg text.column { fill: #757575; }
  .legend span { margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
  .muted { color: #757575; }
  table.alarms th, table.alarms td { text-align: left; vertical-align: top; } td.reason { font-size: .85rem; color: #424242; }
  td.state-ALARM { color: #c62828; font-weight: 600; } td.state-INSUFFICIENT_DATA { color: #757575; }
</style>
</head>
<body>
<h1>Sluice local run <code>${escapeHtml(report.runId)}</code></h1>
<p class="muted">Finished ${escapeHtml(report.finishedAt)} · wall time ${figure('wallTimeMs', report.wallTimeMs)} ms · time scale ${figure('timeScale', report.timeScale)} · ${escapeHtml(report.emulator.name)} ${escapeHtml(report.emulator.version)} · demo site requests ${figure('demoSiteRequests', report.demoSiteRequests)}</p>
<dl class="totals">
  <div><dt>jobs</dt><dd>${figure('jobs', report.jobs)}</dd></div>
  <div><dt>succeeded</dt><dd>${figure('succeeded', report.succeeded)}</dd></div>
  <div><dt>dead-lettered</dt><dd>${figure('deadLettered', report.deadLettered)}</dd></div>
  <div><dt>handed off</dt><dd>${figure('handedOff', report.handedOff)}</dd></div>
  <div><dt>unaccounted</dt><dd>${figure('unaccounted', report.unaccounted)}</dd></div>
  <div><dt>records created / updated</dt><dd>${figure('records.created', report.records.created)} / ${figure('records.updated', report.records.updated)}</dd></div>
  <div><dt>enqueue → record p50 (ms)</dt><dd>${figure('latencyMs.p50', report.latencyMs.p50)}</dd></div>
  <div><dt>enqueue → record p95 (ms)</dt><dd>${figure('latencyMs.p95', report.latencyMs.p95)}</dd></div>
</dl>

<h2>Outcomes per source</h2>
${outcomesChart(report, names)}

<h2>Latency: enqueue → records written</h2>
${latencyChart(report, names)}
<table>
  <thead><tr><th>source</th><th>p50 (ms)</th><th>p95 (ms)</th><th>max (ms)</th></tr></thead>
  <tbody>${latencyRows}</tbody>
</table>

<h2>Freshness: data age against the SLA</h2>
${freshnessChart(report, names)}

<h2>Retries and hand-offs</h2>
${retriesChart(report, names)}

<h2>Alarms</h2>
${alarmsSection(report)}
</body>
</html>
`;
}
