/**
 * The local emulator keeps DynamoDB's promise that a conditional write is atomic. Plain moto does
 * not (its server is threaded and its DynamoDB backend takes no lock: about 5% of simultaneous
 * claims both succeeded when measured); local/emulator.ts serializes DynamoDB requests so that
 * the claims Sluice's collectors rely on behave locally as they do in AWS. It also backs up only
 * the items a transaction names (plain moto copies whole tables and never frees the copies), so
 * a cancelled transaction must still leave every item as it was.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import type { ClaimResult } from '../../functions/core/ports.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { SCRATCH_DIR } from '../../local/paths.js';

let emulator: Emulator;
let client: DynamoDBClient;

beforeAll(async () => {
  emulator = await startEmulator({ logFile: `${SCRATCH_DIR}/logs/emulator-atomicity/moto.log` });
  client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: 'ledger',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  await emulator?.stop();
});

it('grants a job claim to exactly one of two simultaneous deliveries, every time', async () => {
  const ledger = new DynamoJobLedger(DynamoDBDocumentClient.from(client), 'ledger');
  const granted: number[] = [];

  for (let round = 0; round < 60; round += 1) {
    const now = new Date();
    const claim = (owner: string): Promise<ClaimResult> =>
      ledger.claim({
        jobKey: `job-${round}`,
        source: 'demo-faults',
        traceId: 'trace-atomicity',
        owner,
        now,
        leaseUntil: new Date(now.getTime() + 60_000),
        collectedSince: new Date(now.getTime() - 3_600_000),
      });
    // Other writes at the same time widen the window in which plain moto interleaves threads.
    const load = Array.from({ length: 6 }, (_, i) =>
      client.send(
        new PutItemCommand({
          TableName: 'ledger',
          Item: { pk: { S: `load-${round}-${i}` }, sk: { S: 'x' }, pad: { S: 'x'.repeat(4096) } },
        }),
      ),
    );
    const [first, second] = await Promise.all([claim('a'), claim('b'), ...load]);
    granted.push([first, second].filter((r) => (r as ClaimResult).status === 'claimed').length);
  }

  expect(granted.filter((n) => n !== 1)).toEqual([]);
});

it('leaves every item as it was when a transaction is cancelled, and applies all of one that is not', async () => {
  const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'tx' } });
  for (const pk of ['tx-old', 'tx-guard'])
    await client.send(new PutItemCommand({ TableName: 'ledger', Item: { ...key(pk), n: { N: '1' } } }));
  const transaction = (guard: string) =>
    new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: 'ledger', Item: { ...key('tx-new'), n: { N: '1' } } } },
        {
          Update: {
            TableName: 'ledger',
            Key: key('tx-old'),
            UpdateExpression: 'SET n = :two',
            ExpressionAttributeValues: { ':two': { N: '2' } },
          },
        },
        {
          ConditionCheck: {
            TableName: 'ledger',
            Key: key('tx-guard'),
            ConditionExpression: 'n = :expected',
            ExpressionAttributeValues: { ':expected': { N: guard } },
          },
        },
      ].slice(0, guard === 'none' ? 2 : 3),
    });
  const read = async (pk: string) =>
    (await client.send(new GetItemCommand({ TableName: 'ledger', Key: key(pk), ConsistentRead: true }))).Item
      ?.n?.N;

  const cancelled = await client.send(transaction('7')).then(
    () => 'applied',
    (error: Error) => error.name,
  );

  expect(cancelled).toBe('TransactionCanceledException');
  expect({ new: await read('tx-new'), old: await read('tx-old') }).toEqual({ new: undefined, old: '1' });

  await client.send(transaction('none'));

  expect({ new: await read('tx-new'), old: await read('tx-old') }).toEqual({ new: '1', old: '2' });
});
