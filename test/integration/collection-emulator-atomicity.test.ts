/**
 * The local emulator keeps DynamoDB's promise that a conditional write is atomic. Plain moto does
 * not (its server is threaded and its DynamoDB backend takes no lock: about 5% of simultaneous
 * claims both succeeded when measured); local/emulator.ts serializes DynamoDB requests so that
 * the claims Sluice's collectors rely on behave locally as they do in AWS.
 */
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ClaimResult, DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { SCRATCH_DIR } from '../../local/paths.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ logFile: `${SCRATCH_DIR}/logs/emulator-atomicity/moto.log` });
});

afterAll(async () => {
  await emulator?.stop();
});

it('grants a job claim to exactly one of two simultaneous deliveries, every time', async () => {
  const client = new DynamoDBClient({
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
