/**
 * The walking skeleton end to end: a CollectJob on each demo source's queue becomes records in the
 * records table with their lineage, from raw objects and a manifest that exist in the raw bucket.
 * Real handlers (the bundles in cdk.out), real Chromium, moto, the demo site.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterAttribute } from '../../functions/adapters/work-queues.js';
import { type CollectJob, RawManifest, RecordItem } from '../../functions/core/contracts.js';
import { contentHashOf } from '../../functions/core/transform-manifest.js';
import { catalogPage, RATES_AS_OF, rateBoard } from '../../local/demo-site/data.js';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.js';
import { demoCatalogParser } from '../../sources/demo-catalog/parser.js';
import { eventually, peekMessages } from './support.js';

let env: LocalEnvironment;

beforeAll(async () => {
  env = await startLocalEnvironment({ synth: false });
});

afterAll(async () => {
  await env?.stop();
});

async function send(job: CollectJob | string, source: string): Promise<void> {
  await env.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: env.sourceQueues(source).jobs.url,
      MessageBody: typeof job === 'string' ? job : JSON.stringify(job),
    }),
  );
}

async function recordFor(pk: string): Promise<RecordItem | undefined> {
  const { Item } = await env.clients.documents.send(
    new GetCommand({ TableName: env.recordsTable, Key: { pk } }),
  );
  return Item === undefined ? undefined : RecordItem.parse(Item);
}

async function manifestAt(key: string): Promise<RawManifest> {
  const object = await env.clients.s3.send(new GetObjectCommand({ Bucket: env.rawBucket, Key: key }));
  return RawManifest.parse(JSON.parse(await (object.Body?.transformToString() ?? Promise.resolve(''))));
}

describe('a CollectJob sent to a source queue', () => {
  it('ends as catalogue records with lineage, collected over HTTP', async () => {
    const traceId = randomUUID();
    await send(
      {
        source: 'demo-catalog',
        input: { category: 'garden', page: 3 },
        jobId: `it-${randomUUID()}`,
        traceId,
        priority: 'normal',
      },
      'demo-catalog',
    );
    const expected = catalogPage('garden', 3);
    const first = expected[0];
    if (first === undefined) throw new Error('demo data has no products');

    const record = await eventually(`record demo-catalog#${first.sku}`, () =>
      recordFor(`demo-catalog#${first.sku}`),
    );

    expect(record.traceId).toBe(traceId);
    expect(record.version).toBe(1);
    expect(record.data).toMatchObject({
      sku: first.sku,
      name: first.name,
      priceCents: first.priceCents,
      inStock: first.inStock,
    });
    expect(record.contentHash).toBe(contentHashOf(record.data));
    expect(record.rawKey).toMatch(
      /^raw\/source=demo-catalog\/dt=\d{4}-\d{2}-\d{2}\/id-it-[^/]+\/[^/]+\/response\.html$/,
    );

    const manifestKey = record.rawKey.replace(/response\.html$/, 'manifest.json');
    const manifest = await manifestAt(manifestKey);
    expect(manifest.traceId).toBe(traceId);
    expect(manifest.observedAt).toBe(record.observedAt);
    expect(manifest.artifacts.map((a) => a.key)).toContain(record.rawKey);

    // The raw object is the exact response: parsing it again gives every product on the page.
    const raw = await env.clients.s3.send(
      new GetObjectCommand({ Bucket: env.rawBucket, Key: record.rawKey }),
    );
    expect(raw.Metadata?.['trace-id']).toBe(traceId);
    const body = Buffer.from(await (raw.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
    const reparsed = demoCatalogParser.parse(body, {
      finalUrl: manifest.response.finalUrl,
      contentType: 'text/html',
    });
    expect(reparsed.map((r) => r.entityId)).toEqual(expected.map((p) => p.sku));

    const last = expected.at(-1);
    if (last === undefined) throw new Error('demo data has no products');
    expect(await eventually('the last product', () => recordFor(`demo-catalog#${last.sku}`))).toMatchObject({
      traceId,
    });
  });

  it('ends as rate records from the rendered DOM, collected with headless Chromium, with a screenshot', async () => {
    const traceId = randomUUID();
    await send(
      { source: 'demo-rates', input: { board: 'nordics' }, traceId, priority: 'normal' },
      'demo-rates',
    );
    const [firstRate] = rateBoard('nordics');
    if (firstRate === undefined) throw new Error('demo data has no rates');

    const record = await eventually(
      'the EUR/SEK rate',
      () => recordFor(`demo-rates#nordics:${firstRate.pair}`),
      90_000,
    );

    expect(record.traceId).toBe(traceId);
    expect(record.data).toEqual({
      pair: firstRate.pair,
      base: firstRate.pair.slice(0, 3),
      quote: firstRate.pair.slice(4),
      rate: Number(firstRate.displayRate),
      board: 'nordics',
      asOf: RATES_AS_OF,
    });
    expect(record.rawKey.endsWith('/rendered.html')).toBe(true);

    const manifest = await manifestAt(record.rawKey.replace(/rendered\.html$/, 'manifest.json'));
    expect(manifest.collector).toBe('browser');
    const roles = manifest.artifacts.map((a) => a.role).sort();
    expect(roles).toEqual(['body', 'console-log', 'rendered-dom', 'screenshot']);
    const screenshot = manifest.artifacts.find((a) => a.role === 'screenshot');
    const head = await env.clients.s3.send(
      new HeadObjectCommand({ Bucket: env.rawBucket, Key: screenshot?.key ?? '' }),
    );
    expect(head.ContentType).toBe('image/png');
    expect(head.ContentLength).toBeGreaterThan(1000);
  });

  it('goes to its dead-letter queue at once, with the reason, when its input is invalid', async () => {
    const jobId = `it-bad-${randomUUID()}`;
    await send(
      { source: 'demo-catalog', input: { category: 'garden', page: -1 }, jobId, priority: 'normal' },
      'demo-catalog',
    );

    const message = await eventually('the dead-lettered job', async () => {
      const messages = await peekMessages(env, env.sourceQueues('demo-catalog').deadLetter.url);
      return messages.find(
        (m) => m.MessageAttributes?.[DeadLetterAttribute.JobKey]?.StringValue === `id-${jobId}`,
      );
    });

    expect(message.MessageAttributes?.[DeadLetterAttribute.Reason]?.StringValue).toBe('input-invalid');
    expect(message.MessageAttributes?.[DeadLetterAttribute.ErrorMessage]?.StringValue).toContain('page');
    expect(message.MessageAttributes?.[DeadLetterAttribute.Attempts]?.StringValue).toBe('1');
  });
});
