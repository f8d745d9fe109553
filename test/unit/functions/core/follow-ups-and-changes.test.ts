/**
 * The pure cores of issue 15: follow-ups planned within their source's bounds and keyed from their
 * parent; a scheduled run keyed by its time; the change a records-table write becomes (or not),
 * with the source's meaningful-change rule and priority; publications that never hold two
 * changes of one record.
 */
import { describe, expect, it } from 'vitest';
import { parseJobMessage, scheduledInputs } from '../../../../functions/core/collect-job.js';
import { planFollowUps } from '../../../../functions/core/follow-ups.js';
import { followUpJobKey } from '../../../../functions/core/job-key.js';
import {
  changeOf,
  MAX_DETAIL_BYTES,
  publications,
  type RecordWrite,
} from '../../../../functions/core/record-changes.js';
import { findChangeRules } from '../../../../sources/change-rules.js';
import { defineSource } from '../../../../sources/define.js';
import { demoShipments } from '../../../../sources/demo-shipments/source.js';
import { findSource } from '../../../../sources/registry.js';

const root = { jobKey: 'id-root', traceId: 'trace-root-1', source: demoShipments, followUpOf: undefined };
const at = new Date('2026-11-27T08:00:00Z');

describe('planFollowUps', () => {
  it('keys a follow-up from its parent, source and input, and carries the root and the trace', () => {
    const plan = planFollowUps(root, [{ source: 'demo-shipments', input: { page: 2 } }], findSource, at);

    expect(plan.refused).toEqual([]);
    expect(plan.accepted).toEqual([
      {
        jobKey: followUpJobKey('id-root', 'demo-shipments', { page: 2 }),
        job: expect.objectContaining({
          source: 'demo-shipments',
          input: { page: 2 },
          traceId: 'trace-root-1',
          followUpOf: { parentJobKey: 'id-root', rootJobKey: 'id-root', depth: 1 },
        }),
      },
    ]);
    // Asked again (a redelivered parent), the same key: the child's claim collects it once.
    expect(
      planFollowUps(root, [{ source: 'demo-shipments', input: { page: 2 } }], findSource, at).accepted[0]
        ?.jobKey,
    ).toBe(plan.accepted[0]?.jobKey);
  });

  it('refuses what the policy does not allow, each with its reason, and asks for the same job once', () => {
    const plan = planFollowUps(
      root,
      [
        { source: 'demo-shipments', input: { page: 2 } },
        { source: 'demo-shipments', input: { page: 2 } },
        { source: 'demo-shipments', input: { page: 3 } },
        { source: 'demo-catalog', input: { category: 'tools', page: 1 } },
        { source: 'demo-shipments', input: { page: 'two' } },
      ],
      findSource,
      at,
    );

    expect(plan.accepted).toHaveLength(1);
    expect(plan.refused.map((r) => r.reason)).toEqual([
      'too-many-follow-ups',
      'not-a-target',
      'input-invalid',
    ]);
  });

  it('refuses a follow-up past maxDepth', () => {
    const deep = { ...root, followUpOf: { parentJobKey: 'x', rootJobKey: 'id-root', depth: 50 } };

    const plan = planFollowUps(deep, [{ source: 'demo-shipments', input: { page: 52 } }], findSource, at);

    expect(plan.accepted).toEqual([]);
    expect(plan.refused[0]?.reason).toBe('too-deep');
  });
});

describe('scheduled runs', () => {
  const message = (body: unknown) => ({
    messageId: 'm-1',
    body: JSON.stringify(body),
    receiveCount: 1,
    sentAt: at,
    deliveryId: 'd-1',
    queueSource: 'demo-shipments',
  });

  it('gives every firing for one scheduled time the same key, and another time another key', () => {
    const run = (scheduledAt: string) =>
      parseJobMessage(message({ source: 'demo-shipments', scheduledRun: { scheduledAt } }), findSource);
    const first = run('2026-11-27T08:00:00Z');
    const again = run('2026-11-27T08:00:00Z');
    const next = run('2026-11-27T09:00:00Z');

    expect(first.ok && again.ok && next.ok).toBe(true);
    if (!first.ok || !again.ok || !next.ok) return;
    expect(again.value.identity).toEqual(first.value.identity);
    expect(next.value.identity.jobKey).not.toBe(first.value.identity.jobKey);
  });

  it('takes the inputs as a function of the scheduled time, validated and deduplicated', () => {
    const daily = defineSource({
      ...demoShipments,
      schedule: {
        expression: 'rate(1 hour)',
        inputs: (t: Date) => [{ page: t.getUTCHours() + 1 }, { page: 1 }, { page: 1 }],
      },
    });

    expect(scheduledInputs(daily, at)).toEqual([{ page: 9 }, { page: 1 }]);
  });
});

describe('changeOf', () => {
  const item = (version: number, data: { [key: string]: unknown }) => ({
    pk: 'demo-shipments#SHP-000001',
    source: 'demo-shipments',
    entityId: 'SHP-000001',
    data,
    observedAt: '2026-11-27T08:00:00.000Z',
    observationId: `obs-${version}`,
    parserRevision: 1,
    contentHash: String(version).repeat(64).slice(0, 64),
    rawKey: 'raw/x/response.json',
    traceId: 'trace-0001',
    version,
    firstSeenAt: '2026-11-27T08:00:00.000Z',
    lastSeenAt: '2026-11-27T08:00:00.000Z',
    lastObservationId: `obs-${version}`,
    lastParserRevision: 1,
  });
  const shipment = (status: string, eta: string | null = null) => ({
    shipmentId: 'SHP-000001',
    status,
    carrier: 'DHL',
    weightGrams: 1000,
    destinationCountry: 'DE',
    destinationCity: 'Berlin',
    eta,
    updatedAt: '2026-11-27T07:00:00.000Z',
  });
  const write = (eventName: RecordWrite['eventName'], oldImage: unknown, newImage: unknown): RecordWrite => ({
    eventName,
    sequenceNumber: '1',
    oldImage: oldImage as RecordWrite['oldImage'],
    newImage: newImage as RecordWrite['newImage'],
  });

  it('publishes a created record as version 1, meaningful, every field a change', () => {
    const decision = changeOf(write('INSERT', undefined, item(1, shipment('in_transit'))), findChangeRules);

    expect(decision).toMatchObject({
      kind: 'change',
      detail: {
        eventId: 'demo-shipments#SHP-000001#1',
        change: 'created',
        previousVersion: 0,
        meaningful: true,
        priority: 'normal',
        previousData: null,
      },
    });
  });

  it('publishes an update with the diff, meaningful and priority by the source rules', () => {
    const meaningful = changeOf(
      write('MODIFY', item(1, shipment('in_transit')), item(2, shipment('exception'))),
      findChangeRules,
    );
    const minor = changeOf(
      write(
        'MODIFY',
        item(2, shipment('exception')),
        item(3, { ...shipment('exception'), destinationCity: 'Potsdam' }),
      ),
      findChangeRules,
    );

    expect(meaningful).toMatchObject({
      kind: 'change',
      detail: {
        change: 'updated',
        version: 2,
        previousVersion: 1,
        meaningful: true,
        priority: 'high',
        changes: [{ field: 'status', before: 'in_transit', after: 'exception' }],
      },
    });
    expect(minor).toMatchObject({ kind: 'change', detail: { meaningful: false, version: 3 } });
  });

  it('publishes nothing for a touch (same version), a removal, and refuses a write that is no Record', () => {
    const touched = { ...item(1, shipment('in_transit')), lastSeenAt: '2026-11-27T09:00:00.000Z' };

    expect(changeOf(write('MODIFY', item(1, shipment('in_transit')), touched), findChangeRules)).toEqual({
      kind: 'none',
      why: 'unchanged',
    });
    expect(changeOf(write('REMOVE', item(1, shipment('in_transit')), undefined), findChangeRules).kind).toBe(
      'none',
    );
    expect(changeOf(write('INSERT', undefined, { pk: 'demo-shipments#x' }), findChangeRules).kind).toBe(
      'invalid',
    );
  });

  it('treats a rule that throws as meaningful and says so', () => {
    const failures: string[] = [];
    const throwing = () => ({
      source: 'demo-shipments',
      meaningful: {
        description: 'x',
        test: () => {
          throw new Error('boom');
        },
      },
    });

    const decision = changeOf(write('INSERT', undefined, item(1, shipment('in_transit'))), throwing, (f) =>
      failures.push(f.rule),
    );

    expect(decision).toMatchObject({ kind: 'change', detail: { meaningful: true } });
    expect(failures).toEqual(['meaningful']);
  });

  it('leaves the data out of an event too large for EventBridge, and says so', () => {
    const big = { ...shipment('in_transit'), destinationCity: 'x'.repeat(MAX_DETAIL_BYTES) };

    const decision = changeOf(write('INSERT', undefined, item(1, big)), findChangeRules);

    expect(decision).toMatchObject({ kind: 'change', detail: { truncated: true, data: null } });
  });
});

describe('publications', () => {
  it('never puts two changes of one record in one call, and at most ten in any', () => {
    const changes = [...'aabcdefghijklm'].map((pk, i) => ({ pk, i }));

    const calls = publications(changes);

    expect(calls.map((c) => c.map((x) => x.pk).join(''))).toEqual(['a', 'abcdefghij', 'klm']);
    expect(calls.flat().map((c) => c.i)).toEqual(changes.map((c) => c.i));
  });
});
