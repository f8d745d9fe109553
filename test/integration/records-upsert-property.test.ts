/**
 * Done-when of issue 4: any interleaving, duplication and reordering of observations of the same
 * entities leaves each record equal to its newest observation, with the version count of the
 * model in test/support/records-model.ts (read its doc comment for the precise statement).
 *
 * This runs the real DynamoRecordStore against moto, on the records table exactly as the
 * synthesized template declares it; every generated history writes to fresh keys. The pure rules
 * get many more runs in test/unit/records-upsert-rules.test.ts.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRecordStore } from '../../functions/adapters/record-store.js';
import { RecordItem } from '../../functions/core/contracts.js';
import { type Observation, recordKey, type UpsertOutcome } from '../../functions/core/record-upsert.js';
import { STACK_NAME } from '../../infra/stack-name.js';
import { loadTemplate } from '../../local/cloud-template.js';
import { type Emulator, startEmulator } from '../../local/emulator.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/environment.js';
import { CDK_OUT_DIR, SCRATCH_DIR } from '../../local/paths.js';
import { provisionFromTemplate, tagsOf } from '../../local/provision.js';
import {
  entitiesOf,
  expectedRecord,
  type History,
  histories,
  keyOf,
  newestOf,
  observationOf,
  versionsInObservationOrder,
} from '../support/records-model.js';

const SOURCE = 'property';

let emulator: Emulator;
let documents: DynamoDBDocumentClient;
let store: DynamoRecordStore;
let tableName: string;
/** DynamoDB operations sent, by command name: the upsert must never read before it writes. */
const sent = new Map<string, number>();

beforeAll(async () => {
  emulator = await startEmulator({ logFile: join(SCRATCH_DIR, 'logs', 'records-property-moto.log') });
  const config = {
    region: LOCAL_REGION,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const dynamodb = new DynamoDBClient(config);
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      sent.set(context.commandName ?? '?', (sent.get(context.commandName ?? '?') ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  // DynamoDB applies each request to an item atomically; moto does not (an UpdateItem inserts a
  // key-only item, then updates it, with no lock), so two concurrent requests can both see the
  // item missing. One request at a time restores DynamoDB's guarantee; the upserts, each several
  // requests long, still interleave freely between requests.
  let previous: Promise<unknown> = Promise.resolve();
  dynamodb.middlewareStack.add(
    (next) => async (args) => {
      const turn = previous.then(() => next(args));
      previous = turn.catch(() => undefined);
      return turn;
    },
    { step: 'finalizeRequest', name: 'oneRequestAtATime' },
  );
  documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });

  // Only the records table, exactly as the template declares it.
  const template = loadTemplate(join(CDK_OUT_DIR, `${STACK_NAME}.template.json`));
  const records = Object.entries(template.Resources).filter(
    ([, r]) => tagsOf(r)['sluice:role'] === 'records',
  );
  expect(records).toHaveLength(1);
  const provisioned = await provisionFromTemplate(
    { ...template, Resources: Object.fromEntries(records) },
    {
      dynamodb,
      sqs: new SQSClient(config),
      s3: new S3Client({ ...config, forcePathStyle: true }),
      sns: new SNSClient(config),
      secrets: new SecretsManagerClient(config),
    },
    {
      pseudo: { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT, stackName: STACK_NAME },
      nameSuffix: 'prop',
      timeScale: 1,
    },
  );
  tableName = [...provisioned.tables.values()][0] ?? '';
  store = new DynamoRecordStore(documents, tableName);
});

afterAll(async () => {
  await emulator?.stop();
});

async function storedRecord(entityPrefix: string, entity: number): Promise<RecordItem> {
  const { Item } = await documents.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: recordKey(SOURCE, `${entityPrefix}-e${entity}`) },
      ConsistentRead: true,
    }),
  );
  return RecordItem.parse(Item);
}

function observationsOf(history: History, entity: number) {
  return history.observations.filter((o) => o.entity === entity);
}

function expectNewest(record: RecordItem, history: History, entity: number, prefix: string): void {
  const newest = newestOf(observationsOf(history, entity));
  const expected: Observation = observationOf(newest, SOURCE, prefix);
  expect(record.data).toEqual(expected.data);
  expect(record.contentHash).toBe(expected.contentHash);
  expect({
    observedAt: record.lastSeenAt,
    observationId: record.lastObservationId,
    parserRevision: record.lastParserRevision,
  }).toEqual(keyOf(newest));
}

let runs = 0;
/** A fresh entity prefix per generated history, so no run sees another's records. */
function freshPrefix(kind: string): string {
  runs += 1;
  return `${kind}${runs}`;
}

describe('the conditional upsert against DynamoDB (moto), for generated histories', () => {
  it('leaves each record equal to its newest observation with the model version, one write at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories({ maxObservations: 10 }),
        fc.infiniteStream(fc.constantFrom<'data' | 'touch'>('data', 'touch')),
        async (history, firstAttempts) => {
          const prefix = freshPrefix('seq');
          const before = {
            updates: sent.get('UpdateItemCommand') ?? 0,
            reads: sent.get('GetItemCommand') ?? 0,
          };
          const outcomes = new Map<number, UpsertOutcome[]>();
          const guesses = firstAttempts[Symbol.iterator]();
          for (const arrival of history.arrivals) {
            const firstAttempt = guesses.next().value ?? 'touch';
            const outcome = await store.upsert(observationOf(arrival, SOURCE, prefix), { firstAttempt });
            outcomes.set(arrival.entity, [...(outcomes.get(arrival.entity) ?? []), outcome]);
          }
          // One or two conditional writes per arrival, and never a read.
          const updates = (sent.get('UpdateItemCommand') ?? 0) - before.updates;
          expect(updates).toBeGreaterThanOrEqual(history.arrivals.length);
          expect(updates).toBeLessThanOrEqual(2 * history.arrivals.length);
          expect((sent.get('GetItemCommand') ?? 0) - before.reads).toBe(0);

          for (const entity of entitiesOf(history)) {
            const arrivals = history.arrivals.filter((o) => o.entity === entity);
            const expected = expectedRecord(arrivals);
            const record = await storedRecord(prefix, entity);
            expectNewest(record, history, entity, prefix);
            expect(record.version).toBe(expected.version);
            expect({
              observedAt: record.observedAt,
              observationId: record.observationId,
              parserRevision: record.parserRevision,
            }).toEqual(expected.current);
            expect(record.firstSeenAt).toBe(expected.firstSeenAt);
            expect(outcomes.get(entity)).toEqual(expected.outcomes);
            // Lineage: the raw key and trace ID are those of the observation that made the data.
            const current = arrivals.find(
              (o) =>
                keyOf(o).observedAt === expected.current.observedAt &&
                keyOf(o).observationId === expected.current.observationId &&
                o.revision === expected.current.parserRevision,
            );
            expect(current).toBeDefined();
            if (current !== undefined) {
              const made = observationOf(current, SOURCE, prefix);
              expect(record.rawKey).toBe(made.rawKey);
              expect(record.traceId).toBe(made.traceId);
            }
          }
        },
      ),
      { seed: 20261127, numRuns: 40 },
    );
  });

  it('converges on the newest observation when every delivery is written at once', async () => {
    await fc.assert(
      fc.asyncProperty(histories({ maxObservations: 10 }), async (history) => {
        const prefix = freshPrefix('par');
        await Promise.all(
          history.arrivals.map((arrival) => store.upsert(observationOf(arrival, SOURCE, prefix))),
        );

        for (const entity of entitiesOf(history)) {
          const record = await storedRecord(prefix, entity);
          expectNewest(record, history, entity, prefix);
          // Concurrent writes land in some order; whichever it was, the model bounds the version.
          expect(record.version).toBeGreaterThanOrEqual(1);
          expect(record.version).toBeLessThanOrEqual(
            versionsInObservationOrder(observationsOf(history, entity)),
          );
        }
      }),
      { seed: 4711, numRuns: 25 },
    );
  });
});
