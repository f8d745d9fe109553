/** Helpers for the collection integration tests: sending jobs, reading the ledger, DLQs, S3. */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type Message, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DynamoJobLedger, jobPartitionKey } from '../../functions/adapters/job-ledger.js';
import { DeadLetterAttribute } from '../../functions/adapters/work-queues.js';
import type { LocalEnvironment } from '../../local/environment.js';
import { eventually, peekMessages } from './support.js';

export const Attempt = z
  .object({
    kind: z.literal('attempt'),
    jobKey: z.string(),
    traceId: z.string(),
    stage: z.enum(['collect', 'transform']),
    attempt: z.number(),
    startedAt: z.string(),
    finishedAt: z.string(),
    outcome: z.string(),
    errorClass: z.string().optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
    manifestKey: z.string().optional(),
    artifactKeys: z.array(z.string()).optional(),
    snapshotKeys: z.array(z.string()).optional(),
    retryInSeconds: z.number().optional(),
    retryAfterSeconds: z.number().optional(),
  })
  .loose();
export type Attempt = z.infer<typeof Attempt>;

export function newJobId(label: string): string {
  return `it-${label}-${randomUUID().slice(0, 8)}`;
}

/** Sends a body (a job, or any text) to a source's jobs queue; answers the SQS message ID. */
export async function sendJob(env: LocalEnvironment, queueSource: string, body: unknown): Promise<string> {
  const sent = await env.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: env.sourceQueues(queueSource).jobs.url,
      MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
  return sent.MessageId ?? '';
}

/** Collect-stage attempts of a job, oldest first. */
export async function collectAttempts(env: LocalEnvironment, jobKey: string): Promise<Attempt[]> {
  const items = await new DynamoJobLedger(env.clients.documents, env.ledgerTable).history(jobKey);
  return items
    .filter((item) => item.kind === 'attempt' && item.stage === 'collect')
    .map((item) => Attempt.parse(item))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.attempt - b.attempt);
}

export async function jobSummary(
  env: LocalEnvironment,
  jobKey: string,
): Promise<{ [key: string]: unknown } | undefined> {
  const { Item } = await env.clients.documents.send(
    new GetCommand({ TableName: env.ledgerTable, Key: { pk: jobPartitionKey(jobKey), sk: 'job' } }),
  );
  return Item;
}

/** Waits until the job's summary reaches `status` (e.g. `transformed`, `dead-lettered`). */
export async function summaryWithStatus(
  env: LocalEnvironment,
  jobKey: string,
  status: string,
  timeoutMs = 90_000,
): Promise<{ [key: string]: unknown }> {
  return eventually(
    `job ${jobKey} to be ${status}`,
    async () => {
      const summary = await jobSummary(env, jobKey);
      return summary?.status === status ? summary : undefined;
    },
    timeoutMs,
  );
}

/** The message a source's DLQ holds for a job, found by its job-key attribute. */
export async function deadLetterFor(
  env: LocalEnvironment,
  queueSource: string,
  jobKey: string,
  timeoutMs = 90_000,
): Promise<Message> {
  return eventually(
    `the dead letter of ${jobKey}`,
    async () => {
      const messages = await peekMessages(env, env.sourceQueues(queueSource).deadLetter.url);
      return messages.find((m) => m.MessageAttributes?.[DeadLetterAttribute.JobKey]?.StringValue === jobKey);
    },
    timeoutMs,
  );
}

export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

export async function rawObject(
  env: LocalEnvironment,
  key: string,
): Promise<{ body: Buffer; contentType?: string }> {
  const object = await env.clients.s3.send(new GetObjectCommand({ Bucket: env.rawBucket, Key: key }));
  const body = Buffer.from(await (object.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
  return { body, ...(object.ContentType === undefined ? {} : { contentType: object.ContentType }) };
}

/** The one resource the local template created with all of `tags` (tables, topics, ...). */
export function taggedResource(
  env: LocalEnvironment,
  resources: ReadonlyMap<string, string>,
  tags: { [key: string]: string },
): string {
  const matches = [...resources.entries()].filter(([id]) => {
    const own = env.provisioned.tags.get(id) ?? {};
    return Object.entries(tags).every(([k, v]) => own[k] === v);
  });
  const [match] = matches;
  if (match === undefined || matches.length > 1)
    throw new Error(`expected one resource tagged ${JSON.stringify(tags)}`);
  return match[1];
}
