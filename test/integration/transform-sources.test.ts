/**
 * The transform end to end on the real bundles, moto and the demo site: the CSV export and the
 * rate-limited JSON API become validated records; output that fails its schema is handed to a
 * person and never written; S3 events are decoded as S3 (and moto) encode keys, the test event is
 * ignored, and the same event delivered twice makes one version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import { type CollectJob, RawManifest, RecordItem } from '../../functions/core/contracts.js';
import { encodeS3Key } from '../../functions/core/s3-notification.js';
import { SHIPMENTS_PER_PAGE, shipmentsPage } from '../../local/demo-site/api.js';
import { BROKEN_WAREHOUSE, INVENTORY_ROWS, inventoryRows } from '../../local/demo-site/exports.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { stockStatus } from '../../sources/demo-inventory/normalize.js';
import { eventually, peekMessages } from './support.js';

let env: LocalEnvironment;
const transformLog: string[] = [];

beforeAll(async () => {
  env = await startLocalEnvironment({
    synth: false,
    onLogLine: (functionLogicalId, line) => {
      if (/(^|\.)Transform/.test(functionLogicalId)) transformLog.push(line);
    },
  });
});

afterAll(async () => {
  await env?.stop();
});

const runId = randomUUID().slice(0, 8);

async function send(job: CollectJob): Promise<string> {
  await env.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: env.sourceQueues(job.source).jobs.url,
      MessageBody: JSON.stringify(job),
    }),
  );
  return `id-${job.jobId}`;
}

async function recordFor(pk: string): Promise<RecordItem | undefined> {
  const { Item } = await env.clients.documents.send(
    new GetCommand({ TableName: env.recordsTable, Key: { pk }, ConsistentRead: true }),
  );
  return Item === undefined ? undefined : RecordItem.parse(Item);
}

const ledger = () => new DynamoJobLedger(env.clients.documents, env.ledgerTable);

async function transformAttempts(jobKey: string) {
  const history = await ledger().history(jobKey);
  return history.filter((item) => item.kind === 'attempt' && item.stage === 'transform');
}

function tableTagged(role: string): string {
  const id = [...env.provisioned.tables.keys()].find(
    (logicalId) => env.provisioned.tags.get(logicalId)?.['sluice:role'] === role,
  );
  const name = id === undefined ? undefined : env.provisioned.tables.get(id);
  if (name === undefined) throw new Error(`no table tagged sluice:role=${role}`);
  return name;
}

/** The transform's own log lines for a manifest (the ledger keys attempts by start time, so two
 * deliveries started in the same millisecond share one attempt item). */
function transformedLines(manifestKey: string): { counts?: unknown }[] {
  return transformLog
    .filter((line) => line.includes('"manifest transformed"'))
    .map((line) => JSON.parse(line) as { manifestKey?: string; counts?: unknown })
    .filter((entry) => entry.manifestKey === manifestKey);
}

async function transformQueueDepth(): Promise<number> {
  const { Attributes } = await env.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: env.transformQueues.jobs.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

describe('new sources through the whole pipeline', () => {
  it('turns a CSV inventory export into one validated record per row', async () => {
    await send({
      source: 'demo-inventory',
      input: { warehouse: 'east' },
      jobId: `it-inv-${runId}`,
      priority: 'normal',
    });
    const rows = inventoryRows('east');

    for (const row of [rows[0], rows.at(-1)]) {
      if (row === undefined) throw new Error('demo export has no rows');
      const record = await eventually(`inventory record ${row.sku}`, () =>
        recordFor(`demo-inventory#east:${row.sku}`),
      );
      const available = row.onHand - row.reserved;
      expect(record.data).toEqual({
        sku: row.sku,
        warehouse: 'east',
        description: row.description,
        onHand: row.onHand,
        reserved: row.reserved,
        available,
        reorderPoint: row.reorderPoint,
        unitCostCents: row.unitCostCents,
        currency: 'EUR',
        stockStatus: stockStatus(available, row.reorderPoint),
        lastCounted: '2026-11-26',
      });
      expect(record.rawKey).toMatch(/\/response\.csv$/);
      expect(record.parserRevision).toBe(2);
    }
    expect(rows).toHaveLength(INVENTORY_ROWS);
  });

  it('collects every page of the JSON API through its 429s and records every shipment', async () => {
    const throttledBefore = env.demoSite.throttledRequests();
    const pages = [1, 2, 3, 4, 5];
    const jobKeys = await Promise.all(
      pages.map((page) =>
        send({
          source: 'demo-shipments',
          input: { page },
          jobId: `it-shp-${runId}-${page}`,
          priority: 'normal',
        }),
      ),
    );

    for (const page of pages) {
      const last = shipmentsPage(page).at(-1);
      if (last === undefined) throw new Error('demo page has no shipments');
      const record = await eventually(
        `shipment ${last.id}`,
        () => recordFor(`demo-shipments#${last.id}`),
        90_000,
      );
      expect(record.data.shipmentId).toBe(last.id);
      expect(record.data.destinationCountry).toBe(last.destination.country.toUpperCase());
    }
    // Five pages are at least five requests, so the API answered 429 at least once, and the
    // collector retried (after Retry-After) instead of giving up.
    expect(env.demoSite.throttledRequests()).toBeGreaterThan(throttledBefore);
    const histories = await Promise.all(jobKeys.map((jobKey) => ledger().history(jobKey)));
    const reasons = histories.flat().map((item) => item.reason);
    expect(reasons).toContain('http-429');
    expect(histories.flat().filter((item) => item.outcome === 'dead-lettered')).toEqual([]);
    expect(SHIPMENTS_PER_PAGE).toBe(25);
  });
});

describe('output that fails its schema', () => {
  it('is never written: the job is marked, a task names the raw key and the issues, a metric counts it', async () => {
    const jobKey = await send({
      source: 'demo-inventory',
      input: { warehouse: BROKEN_WAREHOUSE },
      jobId: `it-legacy-${runId}`,
      priority: 'normal',
    });

    const task = await eventually('the hand-off task', async () => {
      const { Item } = await env.clients.documents.send(
        new GetCommand({ TableName: tableTagged('tasks'), Key: { pk: `task#transform-${jobKey}` } }),
      );
      return Item;
    });

    expect(task).toMatchObject({
      stage: 'transform',
      source: 'demo-inventory',
      reason: 'records-invalid',
      status: 'open',
    });
    const evidence = task.evidenceKeys as string[];
    expect(evidence[0]).toMatch(
      new RegExp(`^raw/source=demo-inventory/dt=[0-9-]+/${jobKey}/[^/]+/response\\.csv$`),
    );
    expect(evidence[1]).toBe(evidence[0]?.replace(/response\.csv$/, 'manifest.json'));
    expect(task.message).toContain(`#7 (${BROKEN_WAREHOUSE}:INV-00008): onHand:`);

    const attempts = await transformAttempts(jobKey);
    expect(attempts.map((a) => [a.outcome, a.reason])).toEqual([['handed-off', 'records-invalid']]);
    for (const row of inventoryRows(BROKEN_WAREHOUSE)) {
      expect(await recordFor(`demo-inventory#${BROKEN_WAREHOUSE}:${row.sku}`)).toBeUndefined();
    }
    const metric = transformLog
      .filter((line) => line.includes('"RecordsInvalid"') && line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as { [key: string]: unknown });
    // Counted fleet-wide (the handed-off attempt counts against demo-inventory's success rate).
    expect(metric).toEqual([expect.objectContaining({ RecordsInvalid: 1 })]);
    expect(metric[0]).not.toHaveProperty('source');
  });
});

describe('S3 events', () => {
  it('make one version when the same event is delivered twice', async () => {
    const first = inventoryRows('east')[0];
    const record = await eventually('the east export', () => recordFor(`demo-inventory#east:${first?.sku}`));
    const manifestKey = record.rawKey.replace(/response\.csv$/, 'manifest.json');
    const before = transformedLines(manifestKey).length;
    const event = JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: env.rawBucket }, object: { key: encodeS3Key(manifestKey) } },
        },
      ],
    });

    // Both deliveries may land in one batch and run at once, as SQS may deliver them.
    for (let delivery = 0; delivery < 2; delivery += 1) {
      await env.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: env.transformQueues.jobs.url, MessageBody: event }),
      );
    }
    const transformed = await eventually('two more transforms', async () => {
      const lines = transformedLines(manifestKey);
      return lines.length >= before + 2 ? lines : undefined;
    });

    expect(transformed.slice(-2).map((line) => line.counts)).toEqual([
      { created: 0, updated: 0, unchanged: INVENTORY_ROWS, stale: 0 },
      { created: 0, updated: 0, unchanged: INVENTORY_ROWS, stale: 0 },
    ]);
    expect((await recordFor(`demo-inventory#east:${first?.sku}`))?.version).toBe(1);
  });

  it('are decoded as moto encodes keys (+ for a space) when a manifest lands under such a key', async () => {
    // A copy of a collected fetch under a job key with a space, written the way a collector
    // writes (body first, manifest last); moto's notification then carries a `+`-encoded key.
    const first = inventoryRows('east')[0];
    const source = await eventually('the east export', () => recordFor(`demo-inventory#east:${first?.sku}`));
    const body = await env.clients.s3.send(
      new GetObjectCommand({ Bucket: env.rawBucket, Key: source.rawKey }),
    );
    const bytes = Buffer.from(await (body.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
    const manifestObject = await env.clients.s3.send(
      new GetObjectCommand({
        Bucket: env.rawBucket,
        Key: source.rawKey.replace(/response\.csv$/, 'manifest.json'),
      }),
    );
    const original = RawManifest.parse(JSON.parse((await manifestObject.Body?.transformToString()) ?? ''));
    const jobKey = `copy with space ${runId}`;
    const observedAt = new Date(new Date(original.observedAt).getTime() + 1000);
    const fetchId = `${observedAt.toISOString().replace(/[-:.]/g, '')}-copy0001`;
    const prefix = `raw/source=demo-inventory/dt=${observedAt.toISOString().slice(0, 10)}/${jobKey}/${fetchId}/`;
    await env.clients.s3.send(
      new PutObjectCommand({
        Bucket: env.rawBucket,
        Key: `${prefix}response.csv`,
        Body: bytes,
        IfNoneMatch: '*',
      }),
    );
    const manifest: RawManifest = {
      ...original,
      jobKey,
      fetchId,
      observedAt: observedAt.toISOString(),
      artifacts: original.artifacts.map((a) => ({
        ...a,
        key: `${prefix}${a.name}`,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      })),
    };
    await env.clients.s3.send(
      new PutObjectCommand({
        Bucket: env.rawBucket,
        Key: `${prefix}manifest.json`,
        Body: JSON.stringify(manifest),
        IfNoneMatch: '*',
      }),
    );

    const [attempt] = await eventually('the transform of the copy', async () => {
      const attempts = await transformAttempts(jobKey);
      return attempts.length > 0 ? attempts : undefined;
    });

    expect(attempt).toMatchObject({ outcome: 'transformed', manifestKey: `${prefix}manifest.json` });
    expect(attempt?.counts).toEqual({ created: 0, updated: 0, unchanged: INVENTORY_ROWS, stale: 0 });
  });

  it('ignores the s3:TestEvent', async () => {
    const dlqBefore = (await peekMessages(env, env.transformQueues.deadLetter.url, 0)).length;
    await env.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: env.transformQueues.jobs.url,
        MessageBody: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: env.rawBucket }),
      }),
    );

    await eventually('the test event consumed', async () =>
      (await transformQueueDepth()) === 0 ? true : undefined,
    );

    expect((await peekMessages(env, env.transformQueues.deadLetter.url, 0)).length).toBe(dlqBefore);
    expect(transformLog.some((line) => line.includes('notification ignored'))).toBe(true);
  });
});
