/**
 * The DynamoDB job ledger's claims and attempt records, with the SDK mocked (aws-sdk-client-mock):
 * the condition a claim is written under, how a refused claim is read, and what a duplicate
 * delivery may and may not touch.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoJobLedger } from '../../functions/adapters/job-ledger.js';
import type { ClaimRequest } from '../../functions/core/ports.js';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const mock = mockClient(documents);
const ledger = new DynamoJobLedger(documents, 'ledger');

const NOW = new Date('2026-11-27T08:00:00.000Z');
const request: ClaimRequest = {
  jobKey: 'id-42',
  source: 'demo-portal',
  traceId: 'trace-1234',
  owner: 'm-1#1',
  now: NOW,
  leaseUntil: new Date('2026-11-27T08:02:05.000Z'),
  collectedSince: new Date('2026-11-26T08:00:00.000Z'),
};

function refused(item: { [name: string]: { S: string } | { NULL: true } }): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item,
  });
}

beforeEach(() => {
  mock.reset();
});

describe('DynamoJobLedger.claim', () => {
  it('writes the lease on the claim item under the free-and-not-collected condition', async () => {
    mock.on(UpdateCommand).resolves({});

    await expect(ledger.claim(request)).resolves.toEqual({ status: 'claimed', previouslyClaimed: false });

    const input = mock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: 'job#id-42', sk: 'claim' });
    expect(input?.ConditionExpression).toBe(
      '(attribute_not_exists(collectedAt) OR collectedAt < :since) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':owner': 'm-1#1',
      ':until': '2026-11-27T08:02:05.000Z',
      ':now': '2026-11-27T08:00:00.000Z',
      ':since': '2026-11-26T08:00:00.000Z',
    });
  });

  it('says when an earlier delivery claimed the job, so the collector can look for what it stored', async () => {
    mock.on(UpdateCommand).resolves({ Attributes: { claimedAt: '2026-11-27T07:58:00.000Z' } });

    await expect(ledger.claim(request)).resolves.toEqual({ status: 'claimed', previouslyClaimed: true });
    expect(mock.commandCalls(UpdateCommand)[0]?.args[0].input.ReturnValues).toBe('UPDATED_OLD');
  });

  // Found by the chaos run: DynamoDB applied a claim and answered 500; the SDK's retry met the
  // claim's own lease and the job was deferred for the whole lease, spending a receive.
  it('reads a refusal by its own lease as the claim it is: the first try was applied', async () => {
    mock
      .on(UpdateCommand)
      .rejects(refused({ leaseUntil: { S: '2026-11-27T08:02:05.000Z' }, leaseOwner: { S: 'm-1#1' } }));

    await expect(ledger.claim(request)).resolves.toEqual({ status: 'claimed', previouslyClaimed: true });
  });

  it('reads a refusal with a collection inside the window as already collected', async () => {
    mock
      .on(UpdateCommand)
      .rejects(refused({ collectedAt: { S: '2026-11-27T07:59:00.000Z' }, manifestKey: { S: 'raw/m.json' } }));

    await expect(ledger.claim(request)).resolves.toEqual({
      status: 'already-collected',
      collectedAt: new Date('2026-11-27T07:59:00.000Z'),
      manifestKey: 'raw/m.json',
    });
  });

  // Found by the scheduled-run test: a run's claim was written with a NULL manifest key, and a
  // second firing of its schedule was dead-lettered as invalid instead of skipped.
  it('reads a refusal by a run that stored no manifest as already collected, naming none', async () => {
    mock
      .on(UpdateCommand)
      .rejects(refused({ collectedAt: { S: '2026-11-27T07:59:00.000Z' }, manifestKey: { NULL: true } }));

    await expect(ledger.claim(request)).resolves.toEqual({
      status: 'already-collected',
      collectedAt: new Date('2026-11-27T07:59:00.000Z'),
    });
  });

  it('reads any other refusal as a live lease held by its owner', async () => {
    mock
      .on(UpdateCommand)
      .rejects(refused({ leaseUntil: { S: '2026-11-27T08:01:00.000Z' }, leaseOwner: { S: 'm-0#1' } }));

    await expect(ledger.claim(request)).resolves.toEqual({
      status: 'held-elsewhere',
      until: new Date('2026-11-27T08:01:00.000Z'),
      owner: 'm-0#1',
    });
  });

  it('lets other errors through', async () => {
    mock.on(UpdateCommand).rejects(new Error('throttled'));

    await expect(ledger.claim(request)).rejects.toThrow('throttled');
  });
});

describe('DynamoJobLedger.release', () => {
  it('gives the claim up only if this owner still holds it', async () => {
    mock.on(UpdateCommand).rejects(refused({}));

    await expect(ledger.release('id-42', 'm-1#1')).resolves.toBeUndefined();

    const input = mock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      ConditionExpression: 'leaseOwner = :owner',
      UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
    });
  });
});

describe('DynamoJobLedger.recordAttempt', () => {
  const base = {
    jobKey: 'id-42',
    source: 'demo-portal',
    traceId: 'trace-1234',
    attempt: 1,
    stage: 'collect' as const,
    startedAt: NOW,
    finishedAt: new Date('2026-11-27T08:00:03.000Z'),
  };

  it('marks the job collected on its claim item in the same transaction as the attempt', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await ledger.recordAttempt({
      ...base,
      outcome: 'collected',
      manifestKey: 'raw/m.json',
      artifactKeys: [],
    });

    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.Item?.sk ?? i.Update?.Key?.sk)).toEqual([
      expect.stringMatching(/^attempt#collect#2026-11-27T08:00:00\.000Z#1#[0-9a-f]{8}$/),
      'job',
      'claim',
    ]);
    expect(items[2]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':now': '2026-11-27T08:00:03.000Z',
      ':manifestKey': 'raw/m.json',
    });
  });

  it('marks a scheduled run collected without a manifest key, taking off any earlier one', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await ledger.recordAttempt({ ...base, outcome: 'scheduled', releasesClaimOf: 'm-1#1' });

    const claim = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[2]?.Update;
    expect(claim?.UpdateExpression).toBe(
      'SET kind = :kind, collectedAt = :now REMOVE manifestKey, leaseOwner, leaseUntil',
    );
    expect(Object.keys(claim?.ExpressionAttributeValues ?? {})).not.toContain(':manifestKey');
  });

  it('gives the claim up in the collection transaction, only if the owner still holds it', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await ledger.recordAttempt({
      ...base,
      outcome: 'collected',
      manifestKey: 'raw/m.json',
      releasesClaimOf: 'm-1#1',
    });

    const calls = mock.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const claim = calls[0]?.args[0].input.TransactItems?.[2]?.Update;
    expect(claim?.UpdateExpression).toMatch(/REMOVE leaseOwner, leaseUntil$/);
    expect(claim?.ConditionExpression).toBe('leaseOwner = :owner');
    expect(claim?.ExpressionAttributeValues).toMatchObject({ ':owner': 'm-1#1' });
  });

  it('records the collection under the same attempt item, leaving the claim alone, when another delivery holds it', async () => {
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
        }),
      )
      .resolves({});

    await ledger.recordAttempt({
      ...base,
      outcome: 'collected',
      manifestKey: 'raw/m.json',
      releasesClaimOf: 'm-1#1',
    });

    const [first, second] = mock.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems);
    expect(second?.[0]?.Put?.Item?.sk).toBe(first?.[0]?.Put?.Item?.sk);
    expect(second?.[2]?.Update?.UpdateExpression).not.toMatch(/REMOVE/);
    expect(second?.[2]?.Update?.ConditionExpression).toBeUndefined();
    expect(second?.[2]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':now': '2026-11-27T08:00:03.000Z',
    });
  });

  it('refuses to release a claim with an attempt that is not a collection', async () => {
    await expect(
      ledger.recordAttempt({ ...base, outcome: 'retrying', releasesClaimOf: 'm-1#1' }),
    ).rejects.toThrow(/releasesClaimOf goes with a collected attempt, got collect retrying/);
  });

  it.each(['duplicate', 'deferred'] as const)(
    'records a %s delivery as an attempt and a counter, never touching the job status',
    async (outcome) => {
      mock.on(TransactWriteCommand).resolves({});

      await ledger.recordAttempt({ ...base, outcome, reason: 'x' });

      const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
      expect(items[0]?.Put?.Item).toMatchObject({
        outcome,
        sk: expect.stringMatching(
          new RegExp(`^attempt#collect#2026-11-27T08:00:00\\.000Z#1#[0-9a-f]{8}#${outcome}$`),
        ),
      });
      expect(items[1]?.Update?.Key).toEqual({ pk: 'job#id-42', sk: 'claim' });
      expect(items).toHaveLength(2);
    },
  );

  it('keeps snapshot keys, the retry delay and the Retry-After on the attempt', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await ledger.recordAttempt({
      ...base,
      outcome: 'retrying',
      reason: 'http-429',
      snapshotKeys: ['raw/a/failure-response.html'],
      retryInSeconds: 120,
      retryAfterSeconds: 120,
    });

    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put?.Item).toMatchObject({
      snapshotKeys: ['raw/a/failure-response.html'],
      retryInSeconds: 120,
      retryAfterSeconds: 120,
    });
    expect(items[1]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':status': 'retrying',
      ':snapshots': ['raw/a/failure-response.html'],
    });
  });
});

describe('DynamoJobLedger retention', () => {
  const RETENTION_DAYS = 400;
  const kept = new DynamoJobLedger(documents, 'ledger', { retentionDays: RETENTION_DAYS });
  const expiresAt = (at: Date) => Math.floor(at.getTime() / 1000) + RETENTION_DAYS * 86_400;
  const attempt = {
    jobKey: 'id-42',
    source: 'demo-catalog',
    traceId: 'trace-1234',
    attempt: 1,
    stage: 'collect' as const,
    startedAt: new Date('2026-11-27T07:59:58.000Z'),
    finishedAt: NOW,
    outcome: 'collected' as const,
    manifestKey: 'raw/source=demo-catalog/dt=2026-11-27/id-42/f/manifest.json',
  };

  it('sets every item a write touches to expire the retention after that write: attempt, summary, claim', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await kept.recordAttempt(attempt);

    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(3);
    expect(items[0]?.Put?.Item?.expiresAt).toBe(expiresAt(NOW));
    for (const update of items.slice(1).map((i) => i.Update)) {
      expect(update?.UpdateExpression).toContain('expiresAt = :expiresAt');
      expect(update?.ExpressionAttributeValues?.[':expiresAt']).toBe(expiresAt(NOW));
    }
  });

  it('moves a claim\u2019s expiry with every claim, so a job still at work never loses it', async () => {
    mock.on(UpdateCommand).resolves({});

    await kept.claim(request);

    const input = mock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toContain('expiresAt = :expiresAt');
    expect(input?.ExpressionAttributeValues?.[':expiresAt']).toBe(expiresAt(request.now));
  });

  it('writes no expiry when no retention is configured', async () => {
    mock.on(TransactWriteCommand).resolves({});

    await ledger.recordAttempt(attempt);

    const items = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put?.Item).not.toHaveProperty('expiresAt');
    expect(JSON.stringify(items)).not.toContain('expiresAt');
  });
});
