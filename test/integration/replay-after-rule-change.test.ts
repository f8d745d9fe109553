/**
 * Done-when of issue 4: a parser rule changes, a day of raw data is replayed — first as a dry run
 * that shows the diff and writes nothing, then for real through the transform queue — and the
 * records change accordingly, with zero requests to the demo site.
 *
 * The story, on the real bundles and moto: the inventory exports of one day were collected and
 * transformed under revision 1 of the parser (low stock = fewer than 10 units available, for
 * every SKU). The code now holds revision 2 (low = below the SKU's own reorder point), which is
 * what the synthesized transform bundle runs. To reproduce the "before", the test collects with
 * the transform's queue poller stopped, drops the notifications, and transforms the day in-process
 * with revision 1's rule through the real adapters. Then it replays with `npm run replay`'s own
 * command function.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import { S3RawStore } from '../../functions/adapters/raw-store.js';
import { DynamoRecordStore } from '../../functions/adapters/record-store.js';
import { RecordItem } from '../../functions/core/contracts.js';
import { transformManifest } from '../../functions/core/transform-manifest.js';
import { INVENTORY_WAREHOUSES, inventoryRows } from '../../local/demo-site/exports.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import type { SqsEventSourcePoller } from '../../local/sqs-poller.js';
import { replayCommand } from '../../scripts/replay.js';
import type { SourceParser } from '../../sources/define.js';
import { stockStatus } from '../../sources/demo-inventory/normalize.js';
import { demoInventoryParser, InventoryLevel } from '../../sources/demo-inventory/parser.js';
import { eventually } from './support.js';

let env: LocalEnvironment;
let transformPoller: SqsEventSourcePoller;
const transformLog: string[] = [];

beforeAll(async () => {
  env = await startLocalEnvironment({
    synth: false,
    onLogLine: (functionLogicalId, line) => {
      if (/(^|\.)Transform/.test(functionLogicalId)) transformLog.push(line);
    },
  });
  const poller = env.pollers.find(
    (p) => env.functions.get(p.mapping.functionLogicalId)?.spec.entry === 'functions/transform/handler.ts',
  );
  if (poller === undefined) throw new Error('no poller feeds the transform function');
  transformPoller = poller;
});

afterAll(async () => {
  await env?.stop();
});

/** Revision 1 of the stock rule: low below a fixed 10 units available, whatever the SKU. */
function previousStockStatus(available: number): 'out' | 'low' | 'ok' {
  if (available <= 0) return 'out';
  return available < 10 ? 'low' : 'ok';
}

const revisionOne: SourceParser = {
  ...demoInventoryParser,
  revision: 1,
  parse: (body, context) =>
    demoInventoryParser.parse(body, context).map((candidate) => {
      const level = InventoryLevel.parse(candidate.data);
      return { ...candidate, data: { ...level, stockStatus: previousStockStatus(level.available) } };
    }),
};

async function inventoryRecords(): Promise<RecordItem[]> {
  const items: RecordItem[] = [];
  for await (const page of paginateScan(
    { client: env.clients.documents },
    { TableName: env.recordsTable, ConsistentRead: true },
  )) {
    for (const item of page.Items ?? []) {
      const record = RecordItem.parse(item);
      if (record.source === 'demo-inventory') items.push(record);
    }
  }
  return items.sort((a, b) => a.pk.localeCompare(b.pk));
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

function replayed(): { manifestKey: string; trigger: string; counts: { [outcome: string]: number } }[] {
  return transformLog
    .filter((line) => line.includes('"manifest transformed"') && line.includes('"trigger":"replay"'))
    .map((line) => JSON.parse(line));
}

async function run(args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await replayCommand(args, {
    s3: env.clients.s3,
    sqs: env.clients.sqs,
    documents: env.clients.documents,
    env: {},
    print: (text) => lines.push(text),
    printError: (text) => lines.push(text),
    checkpointDir: mkdtempSync(join(tmpdir(), 'sluice-replay-')),
  });
  return { code, output: lines.join('\n') };
}

describe('replay after a parser rule change', () => {
  it('shows the diff in a dry run, then rewrites the records from raw storage without fetching anything', async () => {
    // 1. A day of raw data, collected while the transform is not listening.
    await transformPoller.stop();
    const runId = randomUUID().slice(0, 8);
    const jobIds = INVENTORY_WAREHOUSES.map((warehouse) => `replay-${runId}-${warehouse}`);
    await env.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: env.sourceQueues('demo-inventory').jobs.url,
        Entries: INVENTORY_WAREHOUSES.map((warehouse, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({ source: 'demo-inventory', input: { warehouse }, jobId: jobIds[i] }),
        })),
      }),
    );
    const ledger = new DynamoJobLedger(env.clients.documents, env.ledgerTable);
    const manifestKeys = await eventually('five collections', async () => {
      const keys = await Promise.all(
        jobIds.map(async (jobId) => {
          const history = await ledger.history(`id-${jobId}`);
          return history.find((item) => item.outcome === 'collected')?.manifestKey as string | undefined;
        }),
      );
      return keys.every((k) => k !== undefined) ? (keys as string[]) : undefined;
    });
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: env.transformQueues.jobs.url }));
    await eventually('an empty transform queue', async () =>
      (await transformQueueDepth()) === 0 ? true : undefined,
    );

    // 2. The records as revision 1 made them.
    const deps = {
      rawStore: new S3RawStore(env.clients.s3, env.rawBucket),
      recordStore: new DynamoRecordStore(env.clients.documents, env.recordsTable),
      findParser: () => revisionOne,
    };
    for (const key of manifestKeys) await transformManifest(key, deps);
    const before = await inventoryRecords();
    const rows = INVENTORY_WAREHOUSES.flatMap((warehouse) => inventoryRows(warehouse));
    expect(before).toHaveLength(rows.length);
    const changing = rows.filter(
      (row) =>
        previousStockStatus(row.onHand - row.reserved) !==
        stockStatus(row.onHand - row.reserved, row.reorderPoint),
    );
    expect(changing.length).toBeGreaterThan(0);
    expect(before.every((r) => r.parserRevision === 1 && r.version === 1)).toBe(true);

    transformPoller.start();
    const requestsBefore = env.demoSite.totalRequests();
    const days = [
      ...new Set(manifestKeys.map((key) => /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? '')),
    ].sort();
    const range = ['--source', 'demo-inventory', '--from', days[0] ?? '', '--to', days.at(-1) ?? ''];
    const resources = [
      '--raw-bucket',
      env.rawBucket,
      '--records-table',
      env.recordsTable,
      '--transform-queue-url',
      env.transformQueues.jobs.url,
    ];

    // 3. The dry run: the diff, and nothing written or sent.
    const dryRun = await run([...range, ...resources, '--dry-run', '--samples', '3']);
    console.log(dryRun.output);

    expect(dryRun.code).toBe(0);
    expect(dryRun.output).toContain(
      `new 0 · changed ${changing.length} · unchanged ${rows.length - changing.length} · stale 0`,
    );
    expect(dryRun.output).toContain('raw objects with invalid output 0');
    expect(dryRun.output).toMatch(/stockStatus: "(ok|low|out)" → "(ok|low|out)"/);
    expect(await inventoryRecords()).toEqual(before);
    expect(await transformQueueDepth()).toBe(0);

    // 4. The replay, through the transform queue and the deployed (bundled) transform.
    const startedAt = performance.now();
    const replay = await run([...range, ...resources, '--rate', '20']);
    console.log(replay.output);
    expect(replay.code).toBe(0);
    expect(replay.output).toContain(`sent ${manifestKeys.length} manifest(s)`);

    const after = await eventually('every record rewritten by revision 2', async () => {
      const records = await inventoryRecords();
      return records.every((r) => r.lastParserRevision === 2) ? records : undefined;
    });
    const seconds = (performance.now() - startedAt) / 1000;
    console.log(
      `replayed ${manifestKeys.length} raw objects (${rows.length} records) in ${seconds.toFixed(2)} s: ` +
        `${(manifestKeys.length / seconds).toFixed(1)} raw objects/s end to end`,
    );

    const changed = new Set(changing.map((row) => `demo-inventory#${row.warehouse}:${row.sku}`));
    for (const record of after) {
      const row = rows.find((r) => `demo-inventory#${r.warehouse}:${r.sku}` === record.pk);
      if (row === undefined) throw new Error(`no demo row for ${record.pk}`);
      const previous = before.find((r) => r.pk === record.pk);
      expect(record.data.stockStatus).toBe(stockStatus(row.onHand - row.reserved, row.reorderPoint));
      // Same observation, new rules: a change is a new version; the rest only saw the revision.
      expect(record.version).toBe(changed.has(record.pk) ? 2 : 1);
      expect(record.parserRevision).toBe(changed.has(record.pk) ? 2 : 1);
      expect(record.observationId).toBe(previous?.observationId);
      expect(record.rawKey).toBe(previous?.rawKey);
    }
    expect(env.demoSite.totalRequests()).toBe(requestsBefore);

    // 5. Running it again is safe: every record comes back unchanged. The first replay's log lines
    // come after its writes, so wait for all of them before counting the second replay's.
    await eventually('the first replay logged', async () =>
      replayed().length >= manifestKeys.length ? true : undefined,
    );
    const replayedBefore = replayed().length;
    const again = await run([...range, ...resources, '--rate', 'max']);
    expect(again.code).toBe(0);
    const second = await eventually('the second replay transformed', async () => {
      const lines = replayed().slice(replayedBefore);
      return lines.length >= manifestKeys.length ? lines : undefined;
    });
    expect(second.map((line) => line.counts)).toEqual(
      manifestKeys.map(() => ({ created: 0, updated: 0, unchanged: 30, stale: 0 })),
    );
    expect(await inventoryRecords()).toEqual(after);
    expect(env.demoSite.totalRequests()).toBe(requestsBefore);
  });
});
