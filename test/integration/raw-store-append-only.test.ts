/**
 * Raw storage never overwrites (DESIGN.md decision 2), proven on the emulator rather than a mock:
 * the real S3RawStore against moto's S3, on the raw bucket exactly as the synthesized template
 * declares it (versioned, Object Lock enabled). A second write of other bytes to a key is refused
 * and leaves the first object — its only version — in place; a retried write of the same bytes
 * is accepted; of two simultaneous writes of different bytes, exactly one lands.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RawStore } from '../../functions/adapters/raw-store.js';
import { PermanentError } from '../../functions/core/errors.js';
import { STACK_NAME } from '../../infra/stack-name.js';
import { loadTemplate } from '../../local/cloud-template.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/environment.js';
import { CDK_OUT_DIR, SCRATCH_DIR } from '../../local/paths.js';
import { provisionFromTemplate, tagsOf } from '../../local/provision.js';

let emulator: Emulator;
let s3: S3Client;
let bucket: string;
let store: S3RawStore;

beforeAll(async () => {
  emulator = await startEmulator({ logFile: join(SCRATCH_DIR, 'logs', 'raw-store-moto.log') });
  const config = {
    region: LOCAL_REGION,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  const template = loadTemplate(join(CDK_OUT_DIR, `${STACK_NAME}.template.json`));
  // The raw bucket, and the access-log bucket its logging configuration names.
  const resources = Object.entries(template.Resources).filter(([, r]) =>
    ['raw', 'access-logs'].includes(tagsOf(r)['sluice:role'] ?? ''),
  );
  expect(resources).toHaveLength(2);
  const provisioned = await provisionFromTemplate(
    { ...template, Resources: Object.fromEntries(resources) },
    {
      dynamodb: new DynamoDBClient(config),
      sqs: new SQSClient(config),
      s3,
      sns: new SNSClient(config),
      secrets: new SecretsManagerClient(config),
    },
    {
      pseudo: { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, stackName: STACK_NAME },
      nameSuffix: 'append',
      timeScale: 1,
    },
  );
  const [rawId] = resources.find(([, r]) => tagsOf(r)['sluice:role'] === 'raw') ?? [];
  bucket = provisioned.buckets.get(rawId ?? '') ?? '';
  store = new S3RawStore(s3, bucket);
});

afterAll(async () => {
  await emulator?.stop();
});

const OPTIONS = { contentType: 'text/html', metadata: { 'trace-id': 'trace-append-only' } };

function keyFor(name: string): string {
  return `raw/source=demo-catalog/dt=2026-11-27/id-${name}/20261127T080000000Z-aaaa/response.html`;
}

async function versionsOf(key: string): Promise<number> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (listed.Versions ?? []).filter((v) => v.Key === key).length;
}

describe('the raw store on moto', () => {
  it('refuses a second write of other bytes to a key, and the first object stays its only version', async () => {
    const key = keyFor('overwrite');
    await store.put(key, Buffer.from('<p>first</p>'), OPTIONS);

    const second = await store
      .put(key, Buffer.from('<p>second</p>'), OPTIONS)
      .catch((error: unknown) => error);

    expect(second).toBeInstanceOf(PermanentError);
    expect(second).toMatchObject({ reason: 'raw-key-exists' });
    expect((await store.get(key)).body.toString('utf8')).toBe('<p>first</p>');
    expect(await versionsOf(key)).toBe(1);
  });

  it('accepts a retried write of the same bytes without a second version', async () => {
    const key = keyFor('retried');
    const body = Buffer.from('<p>once</p>');
    const first = await store.put(key, body, OPTIONS);

    const again = await store.put(key, body, OPTIONS);

    expect(again).toEqual(first);
    expect(await versionsOf(key)).toBe(1);
  });

  it('lets exactly one of two simultaneous writes of different bytes land', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      const key = keyFor(`race-${round}`);
      const writes = ['a', 'b'].map((who) =>
        store.put(key, Buffer.from(`<p>${who}</p>`), OPTIONS).then(
          () => who,
          (error: unknown) => (error instanceof PermanentError ? 'refused' : `failed: ${String(error)}`),
        ),
      );
      const [a, b] = await Promise.all(writes);
      const stored = (await store.get(key)).body.toString('utf8');
      const winner = a === 'refused' ? b : a;
      outcomes.push(
        [a, b].filter((o) => o === 'refused').length === 1 &&
          stored === `<p>${winner}</p>` &&
          (await versionsOf(key)) === 1
          ? 'one landed'
          : `${a}/${b} stored ${stored}`,
      );
    }

    expect(outcomes.filter((o) => o !== 'one landed')).toEqual([]);
  });
});
