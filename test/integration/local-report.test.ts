/**
 * local-report.html rendered in real Chromium: every figure the page shows is the figure in the
 * JSON it was made from, every chart bar is as long as its value says, and nothing is missing.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../functions/adapters/browser-collector.js';
import { EgressGuard } from '../../functions/adapters/egress-guard.js';
import { EgressProxy } from '../../functions/adapters/egress-proxy.js';
import type { CollectJob } from '../../functions/core/contracts.js';
import { formatFigure, renderReportHtml } from '../../local/report-html.js';
import { type LocalReport, reportDetails } from '../../local/run-report.js';
import { type LedgerSummary, summarizeRun, type TrackedJob } from '../../local/run-tracker.js';
import { sources } from '../../sources/registry.js';

const ENQUEUED_AT = new Date('2026-11-27T08:00:00.000Z');

/** A run with every kind of outcome, and a source without records (no data age). */
function exampleReport(): LocalReport {
  const outcomes: [string, string, LedgerSummary['status'] | undefined, number][] = [
    ['a1', 'demo-catalog', 'transformed', 420],
    ['a2', 'demo-catalog', 'transformed', 1800],
    ['a3', 'demo-catalog', 'transformed', 2600],
    ['a4', 'demo-catalog', 'transformed', 45_000],
    ['a5', 'demo-catalog', 'dead-lettered', 0],
    ['a6', 'demo-catalog', 'handed-off', 0],
    ['b1', 'demo-rates', 'dead-lettered', 0],
    ['b2', 'demo-rates', undefined, 0],
  ];
  const tracked: TrackedJob[] = outcomes.map(([jobKey, source]) => {
    const job: CollectJob = { source, input: {}, jobId: jobKey, priority: 'normal' };
    return { jobKey, job, enqueuedAt: ENQUEUED_AT };
  });
  const summaries = new Map(
    outcomes.flatMap(([jobKey, source, status, latency]): [string, LedgerSummary][] =>
      status === undefined
        ? []
        : [
            [
              jobKey,
              {
                jobKey,
                source,
                status,
                traceId: `trace-${jobKey}`,
                updatedAt: new Date(ENQUEUED_AT.getTime() + latency).toISOString(),
                attempts: 2,
                lastStage: 'transform',
                lastReason: status === 'dead-lettered' ? 'http-404' : null,
                lastCounts:
                  status === 'transformed' ? { created: 20, updated: 1, unchanged: 2, stale: 0 } : null,
              },
            ],
          ],
    ),
  );
  return {
    runId: '20261127T080000-abc123',
    finishedAt: '2026-11-27T08:01:00.000Z',
    wallTimeMs: 61_234,
    timeScale: 1 / 60,
    emulator: { name: 'moto', version: '5.2.1' },
    demoSiteRequests: 9,
    ...summarizeRun(tracked, summaries),
    ...reportDetails({
      sources,
      tracked,
      summaries,
      retries: new Map([
        ['a2', 2],
        ['b1', 3],
      ]),
      dataAgeSeconds: new Map([['demo-catalog', 37]]),
      openHandoffTasks: new Map([['demo-catalog', 1]]),
    }),
    alarms: [
      {
        name: 'Sluice-demo-catalog-dead-letters',
        state: 'ALARM',
        reason:
          '1 of the last 1 datapoint(s) [1] was greater than or equal to the threshold (1); 1 needed for ALARM.',
        firing: true,
        since: '2026-11-27T08:00:40.000Z',
      },
      {
        name: 'Sluice-demo-rates-success-rate',
        state: 'INSUFFICIENT_DATA',
        reason:
          'no datapoint in the last 3 period(s); missing data is ignored: the state stays INSUFFICIENT_DATA.',
        firing: false,
        since: '2026-11-27T08:00:00.000Z',
      },
      {
        name: 'Sluice-demo-catalog-data-age',
        state: 'OK',
        reason:
          '0 of the last 1 datapoint(s) [37] was greater than the threshold (86400); 1 needed for ALARM.',
        firing: false,
        since: '2026-11-27T08:00:05.000Z',
      },
    ],
    scenario: {
      name: 'healthy',
      expectedAlarms: [],
      unexpectedAlarms: ['Sluice-demo-catalog-dead-letters'],
      missingAlarms: [],
      poison: [],
    },
  };
}

function valueAt(report: LocalReport, path: string): unknown {
  // Source names contain dashes, never dots, so a dotted path is unambiguous.
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value as { [key: string]: unknown } | null)?.[key], report);
}

let browser: Browser;
let page: Page;
let denyAll: EgressProxy;
const report = exampleReport();

beforeAll(async () => {
  // The report needs nothing from the network: Chromium's only way out refuses everything.
  denyAll = await EgressProxy.start(new EgressGuard({ allowedHosts: new Set(), loopbackHosts: new Set() }));
  browser = await launchChromium(process.env.SLUICE_CHROMIUM_EXECUTABLE, denyAll.url);
  page = await browser.newPage();
  // Offline on purpose: the report must not need anything from the network.
  await page.route('**/*', (route) => route.abort());
  await page.setContent(renderReportHtml(report), { waitUntil: 'load' });
});

afterAll(async () => {
  await browser?.close();
  await denyAll?.close();
});

describe('local-report.html', () => {
  it('shows every figure exactly as the JSON has it', async () => {
    const shown = await page.$$eval('[data-figure]', (elements) =>
      elements.map((e) => [e.getAttribute('data-figure') ?? '', e.textContent ?? ''] as const),
    );

    expect(shown.length).toBeGreaterThan(40);
    for (const [path, text] of shown) {
      const value = valueAt(report, path);
      expect(value, `${path} is not in the JSON`).not.toBeUndefined();
      expect(text, path).toBe(formatFigure(value as number | null));
    }
  });

  it('shows each source’s outcomes, retries, hand-offs, freshness and latency', async () => {
    const paths = new Set(
      await page.$$eval('[data-figure]', (es) => es.map((e) => e.getAttribute('data-figure'))),
    );
    for (const source of sources) {
      for (const figure of [
        'succeeded',
        'deadLettered',
        'handedOff',
        'unaccounted',
        'retries',
        'openHandoffTasks',
        'dataAgeSeconds',
        'latencyMs.p50',
        'latencyMs.p95',
        'latencyMs.max',
      ]) {
        expect(paths.has(`sources.${source.name}.${figure}`), `${source.name} ${figure}`).toBe(true);
      }
      for (let bucket = 0; bucket < report.latencyHistogram.upperBoundsMs.length; bucket += 1) {
        expect(paths.has(`latencyHistogram.counts.${source.name}.${bucket}`)).toBe(true);
      }
    }
    for (const total of ['jobs', 'succeeded', 'deadLettered', 'handedOff', 'unaccounted', 'latencyMs.p50']) {
      expect(paths.has(total), total).toBe(true);
    }
  });

  it('draws every bar in proportion to its value, within each chart', async () => {
    const charts = await page.$$eval('svg', (svgs) =>
      svgs.map((chart) => ({
        label: chart.getAttribute('aria-label') ?? '',
        bars: Array.from(chart.querySelectorAll('rect[data-bar]')).map((rect) => ({
          path: rect.getAttribute('data-bar') ?? '',
          value: Number(rect.getAttribute('data-value')),
          // Horizontal charts encode values as widths, the histogram as heights.
          size:
            chart.getAttribute('aria-label') === 'latency distribution'
              ? (rect as SVGGraphicsElement).getBBox().height
              : (rect as SVGGraphicsElement).getBBox().width,
        })),
      })),
    );

    expect(charts.map((c) => c.label)).toEqual([
      'job outcomes per source',
      'latency distribution',
      'data age per source',
      'retries and hand-offs per source',
    ]);
    for (const { label, bars: chart } of charts) {
      for (const bar of chart) expect(bar.value, bar.path).toBe(valueAt(report, bar.path));
      // Each source's data age is drawn against its own SLA, so those bars share no scale.
      if (label === 'data age per source') continue;
      const largest = chart.reduce((a, b) => (b.value > a.value ? b : a));
      for (const bar of chart) {
        if (largest.value > 0)
          expect(bar.size / largest.size, bar.path).toBeCloseTo(bar.value / largest.value, 2);
      }
    }
  });

  it('lists every alarm with its state and reason, and says which the scenario did not expect', async () => {
    const rows = await page.$$eval('tr[data-alarm]', (trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-alarm'),
        state: tr.getAttribute('data-state'),
        reason: tr.querySelector('td.reason')?.textContent,
      })),
    );
    const text = await page.$eval('table.alarms', (table) => table.previousElementSibling?.textContent ?? '');

    expect(rows).toEqual(report.alarms.map(({ name, state, reason }) => ({ name, state, reason })));
    expect(text).toContain('1 of 3 in ALARM');
    expect(text).toContain('in ALARM unexpectedly Sluice-demo-catalog-dead-letters');
  });

  it('says a source without records has no data age instead of drawing one', async () => {
    const rates = await page.$eval('[data-figure="sources.demo-rates.dataAgeSeconds"]', (e) => e.textContent);
    const freshness = await page.$eval(
      'svg[aria-label="data age per source"]',
      (svg) => svg.textContent ?? '',
    );

    expect(rates).toBe('—');
    expect(freshness).toContain('no records yet');
  });
});
