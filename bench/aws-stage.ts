/**
 * The AWS side of the component benchmarks: moto with the resources of the synthesized template,
 * and no pollers or local Lambda containers. Without pollers, the transform queue fills with the
 * raw bucket's notifications but nothing consumes them, so no transform runs in the background of
 * a collection measurement. (The pipeline benchmark uses the whole local environment instead.)
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { STACK_NAME } from '../infra/stack-name.js';
import { type AssemblyStack, readAssembly } from '../local/cloud-assembly.js';
import type { CfnTemplate } from '../local/cloud-template.js';
import { startEmulator } from '../local/emulator.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../local/environment.js';
import { CDK_OUT_DIR } from '../local/paths.js';
import { appResourceId, type Provisioned, provisionApp } from '../local/provision.js';

export interface AwsStage {
  readonly endpoint: string;
  readonly emulatorVersion: string;
  /** Every stack of the app, in deployment order. */
  readonly stacks: readonly AssemblyStack[];
  /** The core stack's template (the tables and the raw bucket). */
  readonly template: CfnTemplate;
  readonly provisioned: Provisioned;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly rawBucket: string;
  readonly recordsTable: string;
  readonly ledgerTable: string;
  /**
   * A new, empty table with the key schema and indexes of the template's table tagged `role`
   * (`records` or `ledger`): for a measurement that must create records, or that should not
   * depend on how much earlier parts wrote.
   */
  freshTable(role: 'records' | 'ledger', label: string): Promise<string>;
  /** A DynamoDB client of its own (its own middleware stack), e.g. to count one part's writes. */
  newDynamoClient(): DynamoDBClient;
  /** Empties the transform queue, which the raw bucket's notifications fill (nothing consumes them here). */
  purgeTransformQueue(): Promise<void>;
  stop(): Promise<void>;
}

const KeySchema = z.array(z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) }));
/** The parts of a table definition in the template that a local copy needs. */
const TableShape = z.object({
  KeySchema,
  AttributeDefinitions: z.array(
    z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) }),
  ),
  GlobalSecondaryIndexes: z
    .array(
      z.object({
        IndexName: z.string(),
        KeySchema,
        Projection: z
          .object({ ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional() })
          .optional(),
      }),
    )
    .optional(),
});

function tagged(provisioned: Provisioned, names: ReadonlyMap<string, string>, role: string): string {
  const ids = [...names.keys()].filter((id) => provisioned.tags.get(id)?.['sluice:role'] === role);
  const name = ids.length === 1 ? names.get(ids[0] as string) : undefined;
  if (name === undefined)
    throw new Error(`expected one resource tagged sluice:role=${role}, found ${ids.length}`);
  return name;
}

export async function startAwsStage(logDir: string): Promise<AwsStage> {
  // Every stack of the app, as the local environment provisions them: the collectors live in the
  // source stacks, the tables and the raw bucket in the core stack.
  const stacks = readAssembly(CDK_OUT_DIR);
  const core = stacks.find((s) => s.stackName === STACK_NAME);
  if (core === undefined) throw new Error(`the cloud assembly in ${CDK_OUT_DIR} has no stack ${STACK_NAME}`);
  const template = core.template;
  const emulator = await startEmulator({ logFile: join(logDir, 'moto.log') });
  try {
    const config = {
      region: LOCAL_REGION,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    const dynamodb = new DynamoDBClient(config);
    const clients = {
      sqs: new SQSClient(config),
      s3: new S3Client({ ...config, forcePathStyle: true }),
      dynamodb,
      sns: new SNSClient(config),
      secrets: new SecretsManagerClient(config),
    };
    const suffix = randomBytes(3).toString('hex');
    const provisioned = await provisionApp(stacks, clients, {
      pseudo: { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT },
      nameSuffix: suffix,
      timeScale: 1,
    });
    let tables = 0;
    return {
      endpoint: emulator.endpoint,
      emulatorVersion: emulator.version,
      stacks,
      template,
      provisioned,
      s3: clients.s3,
      sqs: clients.sqs,
      dynamodb,
      documents: DynamoDBDocumentClient.from(dynamodb, {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      }),
      rawBucket: tagged(provisioned, provisioned.buckets, 'raw'),
      recordsTable: tagged(provisioned, provisioned.tables, 'records'),
      ledgerTable: tagged(provisioned, provisioned.tables, 'ledger'),
      async freshTable(role, label) {
        tables += 1;
        const name = `bench-${role}-${label}-${tables}-${suffix}`;
        await createTableLike(dynamodb, template, provisioned, role, name);
        return name;
      },
      newDynamoClient: () => new DynamoDBClient(config),
      async purgeTransformQueue() {
        // Tagged as local/environment.ts finds it: the transform stage's work queue.
        const queue = [...provisioned.queues.values()].find((q) => {
          const tags = provisioned.tags.get(q.logicalId);
          return tags?.['sluice:stage'] === 'transform' && tags['sluice:role'] === 'work';
        });
        if (queue === undefined) throw new Error('the template has no transform work queue');
        await clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
      },
      stop: () => emulator.stop(),
    };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}

/** Creates `name` with the key schema and indexes of the core template's table tagged `role`. */
export async function createTableLike(
  dynamodb: DynamoDBClient,
  template: CfnTemplate,
  provisioned: Provisioned,
  role: 'records' | 'ledger',
  name: string,
): Promise<void> {
  const prefix = appResourceId(STACK_NAME, '');
  const id = [...provisioned.tables.keys()].find(
    (t) => t.startsWith(prefix) && provisioned.tags.get(t)?.['sluice:role'] === role,
  );
  const definition = TableShape.parse(template.Resources[id?.slice(prefix.length) ?? '']?.Properties);
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: definition.KeySchema,
      AttributeDefinitions: definition.AttributeDefinitions,
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes?.map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: { ProjectionType: index.Projection?.ProjectionType ?? 'ALL' },
      })),
    }),
  );
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: name });
}
