/**
 * DynamoRecordStore with a mocked DynamoDB client (aws-sdk-client-mock): which writes it sends,
 * in which order, and what it makes of a failed condition or a throttled call. The same adapter
 * runs against moto in test/integration/records-upsert-property.test.ts.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRecordStore } from '../../functions/adapters/record-store.js';
import { classifyFailure } from '../../functions/core/classify-failure.js';
import { PermanentError, TransientError } from '../../functions/core/errors.js';
import { contentHashOf, type Observation } from '../../functions/core/record-upsert.js';

// The document client is what the adapter talks to; a failed condition's item stays in
// attribute-value form through it, as the moto-backed test confirms.
const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoRecordStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  'records',
);

const data = { sku: 'ABC-0001', price: 100 };
const observation: Observation = {
  source: 'demo',
  entityId: 'ABC-0001',
  data,
  contentHash: contentHashOf(data),
  observedAt: new Date('2026-11-27T08:00:00.000Z'),
  observationId: '20261127T080000000Z-aaaa',
  parserRevision: 1,
  rawKey: 'raw/source=demo/dt=2026-11-27/job/20261127T080000000Z-aaaa/response.json',
  traceId: 'trace-0001',
};

function conditionFailed(item?: { contentHash: string; lastSeenAt: string; lastObservationId?: string }) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(item === undefined
      ? {}
      : {
          Item: {
            pk: { S: 'demo#ABC-0001' },
            contentHash: { S: item.contentHash },
            lastSeenAt: { S: item.lastSeenAt },
            lastObservationId: { S: item.lastObservationId ?? 'older-fetch' },
            lastParserRevision: { N: '1' },
          },
        }),
  });
}

const writes = () => dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);

beforeEach(() => {
  dynamo.reset();
});

describe('DynamoRecordStore.upsert', () => {
  it('advances lastSeen of an unchanged record with one conditional write and no read', async () => {
    dynamo.on(UpdateCommand).resolves({});

    expect(await store.upsert(observation)).toBe('unchanged');

    expect(writes()).toHaveLength(1);
    expect(writes()[0]?.UpdateExpression).toBe(
      'SET lastSeenAt = :observedAt, lastObservationId = :observationId, lastParserRevision = :parserRevision',
    );
    expect(writes()[0]?.ConditionExpression).toMatch(
      /^contentHash = :contentHash AND \(lastSeenAt < :observedAt/,
    );
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('creates a record with one write when told to try the data write first', async () => {
    dynamo.on(UpdateCommand).resolves({});

    expect(await store.upsert(observation, { firstAttempt: 'data' })).toBe('created');

    expect(writes()).toHaveLength(1);
    expect(writes()[0]?.ConditionExpression).toMatch(
      /^attribute_not_exists\(pk\) OR \(contentHash <> :contentHash/,
    );
  });

  it('creates a record after a touch finds nothing to touch: two writes, still no read', async () => {
    dynamo.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});

    expect(await store.upsert(observation)).toBe('created');

    expect(writes().map((w) => w.UpdateExpression?.slice(0, 20))).toEqual([
      'SET lastSeenAt = :ob',
      'SET #source = :sourc',
    ]);
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reports updated when the data write replaced an existing record', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { version: { N: '3' } } });

    expect(await store.upsert(observation, { firstAttempt: 'data' })).toBe('updated');
  });

  it('skips an older observation after one failed write, reading the stored item from the failure', async () => {
    dynamo.on(UpdateCommand).rejects(
      conditionFailed({
        contentHash: contentHashOf({ other: true }),
        lastSeenAt: '2026-11-27T09:00:00.000Z',
      }),
    );

    expect(await store.upsert(observation)).toBe('stale');
    expect(writes()).toHaveLength(1);
  });

  it('writes nothing more for a redelivery of the newest observation', async () => {
    dynamo.on(UpdateCommand).rejects(
      conditionFailed({
        contentHash: observation.contentHash,
        lastSeenAt: observation.observedAt.toISOString(),
        lastObservationId: observation.observationId,
      }),
    );

    expect(await store.upsert(observation, { firstAttempt: 'data' })).toBe('unchanged');
    expect(writes()).toHaveLength(1);
  });

  it('gives up with a transient error when concurrent writers keep changing the record', async () => {
    // Each failure shows a record that needs the other write, as if a racing writer flipped it.
    dynamo
      .on(UpdateCommand)
      .rejects(conditionFailed({ contentHash: 'f'.repeat(64), lastSeenAt: '2026-11-27T07:00:00.000Z' }));
    dynamo
      .on(UpdateCommand, { ConditionExpression: expect.stringMatching(/^attribute_not_exists/) })
      .rejects(
        conditionFailed({ contentHash: observation.contentHash, lastSeenAt: '2026-11-27T07:00:00.000Z' }),
      );

    const error = await store.upsert(observation).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).reason).toBe('record-contention');
    expect(writes()).toHaveLength(4);
  });

  it('lets a throttled write surface as a transient failure, never as a decision about the record', async () => {
    dynamo.on(UpdateCommand).rejects(
      new ProvisionedThroughputExceededException({
        message: 'The level of configured provisioned throughput for the table was exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const error = await store.upsert(observation).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(classifyFailure(error)).toBeInstanceOf(TransientError);
  });

  it('tries again when a failed condition shows a half-written item (as moto can), then decides', async () => {
    dynamo
      .on(UpdateCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: { pk: { S: 'demo#ABC-0001' }, contentHash: { S: observation.contentHash } },
        }),
      )
      .rejectsOnce(
        conditionFailed({ contentHash: observation.contentHash, lastSeenAt: '2026-11-27T07:00:00.000Z' }),
      )
      .resolves({});

    expect(await store.upsert(observation)).toBe('unchanged');
    expect(writes()).toHaveLength(3);
  });

  it('refuses to decide when the stored item keeps lacking the attributes the rules compare', async () => {
    dynamo.on(UpdateCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { pk: { S: 'demo#ABC-0001' }, contentHash: { S: 'x' } },
      }),
    );

    const error = await store.upsert(observation).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).message).toContain(
      'missing lastSeenAt, lastObservationId, lastParserRevision',
    );
    expect(writes()).toHaveLength(4);
  });
});
