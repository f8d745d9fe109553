/** What `sluice changes` and the follow-up tree of `sluice job` print. */
import { describe, expect, it } from 'vitest';
import { renderChanges } from '../../../cli/commands/changes.js';
import { renderTree } from '../../../cli/commands/job.js';

describe('renderChanges', () => {
  const detail = {
    eventId: 'demo-shipments#SHP-000001#2',
    source: 'demo-shipments',
    entityId: 'SHP-000001',
    version: 2,
    previousVersion: 1,
    change: 'updated' as const,
    observedAt: '2026-11-27T08:00:00.000Z',
    observationId: 'obs-2',
    traceId: 'trace-0001',
    rawKey: 'raw/x/response.json',
    data: { status: 'exception' },
    previousData: { status: 'in_transit' },
    changes: [{ field: 'status', before: 'in_transit', after: 'exception' }],
    meaningful: true,
    priority: 'high' as const,
  };

  it('shows each change once with its version, flags, publications and what changed', () => {
    const text = renderChanges(
      {
        logGroup: '/sluice/Sluice/record-changes',
        publications: 2,
        changes: [
          { publicationId: 'p1', time: '2026-11-27T08:00:05Z', loggedAt: 1, detail, publications: 2 },
        ],
      },
      'demo-shipments',
    );

    expect(text).toContain(
      '1 change(s) of demo-shipments (from 2 publication(s) in /sluice/Sluice/record-changes)',
    );
    expect(text).toContain(
      'demo-shipments#SHP-000001#2  updated v1→v2  meaningful, HIGH priority, published 2×',
    );
    expect(text).toContain('status: "in_transit" → "exception"');
  });

  it('says so when there is nothing', () => {
    expect(renderChanges({ logGroup: '/g', publications: 0, changes: [] }, undefined)).toBe(
      'no RecordChanged events in /g',
    );
  });
});

describe('renderTree', () => {
  it('indents each follow-up under its parent with how it ended', () => {
    const lines = renderTree(
      [
        {
          jobKey: 'fu-a',
          summary: {
            source: 'demo-shipments',
            status: 'transformed',
            lastCounts: { created: 25, unchanged: 0 },
          },
          children: [
            {
              jobKey: 'fu-b',
              summary: { source: 'demo-shipments', status: 'dead-lettered', lastReason: 'no-such-page' },
              children: [],
            },
          ],
        },
        { jobKey: 'fu-c', summary: undefined, children: [] },
      ],
      '  ',
    );

    expect(lines).toEqual([
      '  └ fu-a  demo-shipments  transformed · created 25',
      '    └ fu-b  demo-shipments  dead-lettered · no-such-page',
      '  └ fu-c  ?  queued (no attempt recorded yet)',
    ]);
  });
});
