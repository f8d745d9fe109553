/**
 * The chaos run's AWS fault proxy in front of moto, with the real SDK: the errors it injects are
 * the ones the SDK recognises (S3 SlowDown and InternalError, DynamoDB's throughput, throttling
 * and internal errors), a 500 is sometimes answered after moto applied the request, and every
 * other call passes through untouched.
 */

import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AfterCall,
  type AwsCall,
  type AwsFaultProxy,
  type AwsFaultRates,
  startAwsFaultProxy,
} from '../../local/chaos/aws-fault-proxy.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { SCRATCH_DIR } from '../../local/paths.js';

const NONE: AwsFaultRates = {
  s3SlowDown: 0,
  s3InternalError: 0,
  dynamoThroughputExceeded: 0,
  dynamoThrottling: 0,
  dynamoInternalError: 0,
};
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let emulator: Emulator;
const proxies: AwsFaultProxy[] = [];

async function proxyWith(
  rates: Partial<AwsFaultRates>,
  seed = 'proxy-test',
  afterCall?: (call: AwsCall) => AfterCall,
): Promise<AwsFaultProxy> {
  const proxy = await startAwsFaultProxy({
    upstream: emulator.endpoint,
    seed,
    rates: { ...NONE, ...rates },
    ...(afterCall === undefined ? {} : { afterCall }),
  });
  proxies.push(proxy);
  return proxy;
}

/** Clients that give up after one try, so each injected error reaches the test. */
function clientsFor(endpoint: string) {
  const config = { region: 'us-east-1', endpoint, credentials, maxAttempts: 1 };
  return { s3: new S3Client({ ...config, forcePathStyle: true }), dynamodb: new DynamoDBClient(config) };
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'none',
    (error: unknown) => (error as Error).name,
  );
}

beforeAll(async () => {
  emulator = await startEmulator({ logFile: `${SCRATCH_DIR}/logs/chaos-aws-fault-proxy-moto.log` });
  const direct = clientsFor(emulator.endpoint);
  await direct.s3.send(new CreateBucketCommand({ Bucket: 'chaos-proxy-bucket' }));
  await direct.dynamodb.send(
    new CreateTableCommand({
      TableName: 'chaos-proxy-table',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.stop();
  await emulator?.stop();
});

describe('the AWS fault proxy', () => {
  it('passes every call through when no fault is due', async () => {
    const proxy = await proxyWith({});
    const { s3 } = clientsFor(proxy.endpoint);

    await s3.send(new PutObjectCommand({ Bucket: 'chaos-proxy-bucket', Key: 'raw/a.txt', Body: 'hello' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: 'chaos-proxy-bucket', Key: 'raw/a.txt' }));

    expect(await object.Body?.transformToString()).toBe('hello');
    expect(proxy.injected()).toEqual([]);
    expect(proxy.calls().get('s3')).toBe(2);
  });

  it.each([
    ['s3SlowDown', 'SlowDown'],
    ['s3InternalError', 'InternalError'],
  ] as const)('answers S3 calls with %s as the SDK knows it (%s)', async (rate, name) => {
    const { s3 } = clientsFor((await proxyWith({ [rate]: 1 })).endpoint);

    expect(
      await errorName(s3.send(new GetObjectCommand({ Bucket: 'chaos-proxy-bucket', Key: 'raw/a.txt' }))),
    ).toBe(name);
  });

  it.each([
    ['dynamoThroughputExceeded', 'ProvisionedThroughputExceededException'],
    ['dynamoThrottling', 'ThrottlingException'],
    ['dynamoInternalError', 'InternalServerError'],
  ] as const)('answers DynamoDB calls with %s as the SDK knows it (%s)', async (rate, name) => {
    const { dynamodb } = clientsFor((await proxyWith({ [rate]: 1 })).endpoint);

    expect(await errorName(dynamodb.send(new ScanCommand({ TableName: 'chaos-proxy-table' })))).toBe(name);
  });

  it('answers some 500s after moto applied the write, and says which', async () => {
    const proxy = await proxyWith({ dynamoInternalError: 1 });
    const { dynamodb } = clientsFor(proxy.endpoint);

    for (let n = 0; n < 20; n += 1) {
      const name = await errorName(
        dynamodb.send(
          new PutItemCommand({ TableName: 'chaos-proxy-table', Item: { pk: { S: `item-${n}` } } }),
        ),
      );
      expect(name).toBe('InternalServerError');
    }
    const stored = await clientsFor(emulator.endpoint).dynamodb.send(
      new ScanCommand({ TableName: 'chaos-proxy-table' }),
    );
    const applied = proxy.injected().filter((f) => f.applied).length;

    expect(stored.Count).toBe(applied);
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(20);
  });

  it('lets the SDK’s own retries get through a fault', async () => {
    const proxy = await proxyWith({ dynamoThrottling: 0.5 }, 'retries');
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      credentials,
      maxAttempts: 10,
    });

    for (let n = 0; n < 5; n += 1) await dynamodb.send(new ScanCommand({ TableName: 'chaos-proxy-table' }));

    expect(proxy.injected().length).toBeGreaterThan(0);
  });

  it('shows a write it applied to whoever watches, even when it then answers 500', async () => {
    // A crash planned after a write must happen whether or not the writer is told it worked.
    const watched: string[] = [];
    const proxy = await proxyWith({ s3InternalError: 1 }, 'watched', (call) => {
      if (call.operation === 'PUT') watched.push(call.key);
      return 'answer';
    });
    const { s3 } = clientsFor(proxy.endpoint);

    for (let n = 0; n < 20; n += 1) {
      const key = `watched/${n}.txt`;
      expect(
        await errorName(s3.send(new PutObjectCommand({ Bucket: 'chaos-proxy-bucket', Key: key, Body: 'x' }))),
      ).toBe('InternalError');
    }
    const appliedKeys = watched.filter((key) => key.startsWith('watched/'));

    expect(appliedKeys.length).toBe(proxy.injected().filter((f) => f.applied).length);
    expect(appliedKeys.length).toBeGreaterThan(0);
    for (const key of appliedKeys) {
      const object = await clientsFor(emulator.endpoint).s3.send(
        new GetObjectCommand({ Bucket: 'chaos-proxy-bucket', Key: key }),
      );
      expect(await object.Body?.transformToString()).toBe('x');
    }
  });
});
