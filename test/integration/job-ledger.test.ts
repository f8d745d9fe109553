/**
 * The job ledger against DynamoDB (moto): the job's status is what its furthest stage says, even
 * when the collector's record of an attempt lands after the transform it started; and two
 * attempts that start in the same millisecond are both kept.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoJobLedger, jobPartitionKey } from '../../functions/adapters/job-ledger.js';
import type { AttemptEntry } from '../../functions/core/ports.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { SCRATCH_DIR } from '../../local/paths.js';

let emulator: Emulator;
let documents: DynamoDBDocumentClient;
let ledger: DynamoJobLedger;

beforeAll(async () => {
  emulator = await startEmulator({ logFile: `${SCRATCH_DIR}/logs/job-ledger/moto.log` });
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
  documents = DynamoDBDocumentClient.from(client);
  ledger = new DynamoJobLedger(documents, 'ledger');
});

afterAll(async () => {
  await emulator?.stop();
});

const at = new Date('2026-11-27T08:00:00.000Z');

function attempt(jobKey: string, overrides: Partial<AttemptEntry>): AttemptEntry {
  return {
    jobKey,
    source: 'demo-catalog',
    traceId: 'trace-ledger-test',
    attempt: 1,
    stage: 'collect',
    startedAt: at,
    finishedAt: at,
    outcome: 'collected',
    ...overrides,
  };
}

async function status(jobKey: string): Promise<unknown> {
  const { Item } = await documents.send(
    new GetCommand({ TableName: 'ledger', Key: { pk: jobPartitionKey(jobKey), sk: 'job' } }),
  );
  return Item?.status;
}

describe('the job ledger', () => {
  it("keeps the transform's status when the collector's record of the same job lands after it", async () => {
    await ledger.recordAttempt(attempt('late-collector', { stage: 'transform', outcome: 'transformed' }));
    await ledger.recordAttempt(attempt('late-collector', { stage: 'collect', outcome: 'collected' }));

    expect(await status('late-collector')).toBe('transformed');
  });

  it("takes the collector's status while no transform has run", async () => {
    await ledger.recordAttempt(attempt('collect-only', { outcome: 'retrying', reason: 'http-503' }));
    await ledger.recordAttempt(attempt('collect-only', { attempt: 2, outcome: 'collected' }));

    expect(await status('collect-only')).toBe('collected');
  });

  it('keeps both attempts when two deliveries start in the same millisecond', async () => {
    await Promise.all([
      ledger.recordAttempt(attempt('same-instant', { stage: 'transform', outcome: 'transformed' })),
      ledger.recordAttempt(attempt('same-instant', { stage: 'transform', outcome: 'transformed' })),
    ]);

    const attempts = (await ledger.history('same-instant')).filter((item) => item.kind === 'attempt');
    expect(attempts).toHaveLength(2);
  });
});
