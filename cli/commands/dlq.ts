/**
 * `sluice dlq list|show|requeue|discard`: what is in a dead-letter queue and why, sending messages
 * back to the queue they came from, or deleting them with a reason. Reading a message hides it
 * from other readers for a short while (SQS has no peek); whatever is not acted on is made
 * visible again before the command ends.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeadLetterAttribute } from '../../functions/adapters/work-queues.js';
import { jobKeyFromJobId } from '../../functions/core/job-key.js';
import { parseRawKey } from '../../functions/core/raw-layout.js';
import { decodeS3Key } from '../../functions/core/s3-notification.js';
import { age, table, truncate } from '../format.js';
import { addOperatorNote } from '../operator-notes.js';
import { CliError, type QueuePair, type SluiceTarget } from '../target.js';

export interface DeadLetter {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly sentAt: string | undefined;
  readonly reason: string;
  readonly errorClass: string | undefined;
  readonly message: string | undefined;
  readonly jobKey: string;
  readonly traceId: string | undefined;
  readonly source: string | undefined;
  readonly attempts: number | undefined;
  /** True when SQS moved it (the consumer crashed or timed out every time), so it carries no reason. */
  readonly byRedrive: boolean;
}

/** The queues `name` stands for: a source, `transform`, or (undefined) all of them. */
export function queuesNamed(target: SluiceTarget, name: string | undefined): QueuePair[] {
  const { sourceQueues, transformQueues } = target.resources;
  if (name === undefined) return [...sourceQueues.values(), transformQueues];
  if (name === 'transform') return [transformQueues];
  const pair = sourceQueues.get(name);
  if (pair === undefined) {
    throw new CliError(
      `unknown source ${JSON.stringify(name)}; known: ${[...sourceQueues.keys(), 'transform'].join(', ')}`,
    );
  }
  return [pair];
}

/** The job a redriven message belongs to, read from its body (a CollectJob or an S3 notification). */
function jobKeyFromBody(body: string): { jobKey: string | undefined; source: string | undefined } {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== 'object' || json === null) return { jobKey: undefined, source: undefined };
    const job = json as {
      jobId?: unknown;
      source?: unknown;
      Records?: { s3?: { object?: { key?: string } } }[];
    };
    if (typeof job.jobId === 'string') {
      return {
        jobKey: jobKeyFromJobId(job.jobId),
        source: typeof job.source === 'string' ? job.source : undefined,
      };
    }
    const key = job.Records?.[0]?.s3?.object?.key;
    const parsed = key === undefined ? undefined : parseRawKey(decodeS3Key(key));
    return {
      jobKey: parsed?.jobKey,
      source: parsed?.source ?? (typeof job.source === 'string' ? job.source : undefined),
    };
  } catch {
    return { jobKey: undefined, source: undefined };
  }
}

/**
 * A DLQ message as the CLI shows it. `queueSource` is the source whose DLQ it was read from: a
 * message that names no source (poison, or redriven by SQS) is that source's all the same.
 */
export function toDeadLetter(message: Message, queueSource?: string): DeadLetter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const reason = attribute(DeadLetterAttribute.Reason);
  const fromBody = jobKeyFromBody(message.Body ?? '');
  const sent = message.Attributes?.SentTimestamp;
  const attempts = attribute(DeadLetterAttribute.Attempts) ?? message.Attributes?.ApproximateReceiveCount;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    sentAt: sent === undefined ? undefined : new Date(Number(sent)).toISOString(),
    reason: reason ?? 'redriven-by-sqs',
    errorClass: attribute(DeadLetterAttribute.ErrorClass),
    message:
      attribute(DeadLetterAttribute.ErrorMessage) ??
      (reason === undefined
        ? 'the consumer failed on every delivery (crash or timeout); see the job in the ledger'
        : undefined),
    jobKey: attribute(DeadLetterAttribute.JobKey) ?? fromBody.jobKey ?? `msg-${message.MessageId}`,
    traceId: attribute(DeadLetterAttribute.TraceId),
    source: knownSource(attribute(DeadLetterAttribute.Source)) ?? fromBody.source ?? queueSource,
    attempts: attempts === undefined ? undefined : Number(attempts),
    byRedrive: reason === undefined,
  };
}

/** The attribute's source, unless it is the placeholder for none (older DLQ entries carry `unknown`). */
function knownSource(source: string | undefined): string | undefined {
  return source === undefined || source === 'unknown' ? undefined : source;
}

/** The source a DLQ belongs to: its pair's name, unless it is the transform's. */
function sourceOfPair(pair: QueuePair): string | undefined {
  return pair.name === 'transform' ? undefined : pair.name;
}

/**
 * Receives messages until the queue gives no more or `limit` is reached, each hidden for
 * `holdSeconds`. Long polling (1 s), because short polls may miss messages on busy queues.
 */
export async function receiveAll(
  target: SluiceTarget,
  url: string,
  options: { readonly holdSeconds: number; readonly limit: number; readonly queueSource?: string },
): Promise<DeadLetter[]> {
  const letters = new Map<string, DeadLetter>();
  while (letters.size < options.limit) {
    const { Messages = [] } = await target.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, options.limit - letters.size),
        VisibilityTimeout: options.holdSeconds,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages)
      letters.set(message.MessageId ?? '', toDeadLetter(message, options.queueSource));
  }
  return [...letters.values()];
}

/** Makes messages this command read but did not act on visible again at once. */
async function release(target: SluiceTarget, url: string, letters: readonly DeadLetter[]): Promise<void> {
  for (const letter of letters) {
    await target.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: letter.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  }
}

export interface DeadLetterListing {
  readonly queue: string;
  readonly letters: readonly DeadLetter[];
}

export async function listDeadLetters(
  target: SluiceTarget,
  name: string | undefined,
  limit: number,
): Promise<DeadLetterListing[]> {
  const listings: DeadLetterListing[] = [];
  for (const pair of queuesNamed(target, name)) {
    const letters = await receiveAll(target, pair.deadLetterUrl, {
      holdSeconds: 30,
      limit,
      queueSource: sourceOfPair(pair),
    });
    await release(target, pair.deadLetterUrl, letters);
    listings.push({ queue: pair.name, letters });
  }
  return listings;
}

export function renderListings(listings: readonly DeadLetterListing[], now = new Date()): string {
  const blocks = listings.map(({ queue, letters }) => {
    if (letters.length === 0) return `${queue} DLQ: empty`;
    const rows = letters.map((l) => [
      l.messageId,
      l.sentAt === undefined ? '—' : age(Math.floor((now.getTime() - new Date(l.sentAt).getTime()) / 1000)),
      l.jobKey,
      l.reason,
      String(l.attempts ?? '—'),
      truncate(l.message ?? '', 70),
    ]);
    return `${queue} DLQ: ${letters.length} message(s)\n${table(['message ID', 'age', 'job key', 'reason', 'attempts', 'error'], rows)}`;
  });
  return blocks.join('\n\n');
}

function matches(letter: DeadLetter, ids: readonly string[]): boolean {
  return ids.includes(letter.messageId) || ids.includes(letter.jobKey);
}

export async function showDeadLetter(target: SluiceTarget, name: string, id: string): Promise<DeadLetter> {
  const [pair] = queuesNamed(target, name);
  if (pair === undefined) throw new CliError(`no queue ${name}`);
  const letters = await receiveAll(target, pair.deadLetterUrl, {
    holdSeconds: 30,
    limit: 1000,
    queueSource: sourceOfPair(pair),
  });
  await release(target, pair.deadLetterUrl, letters);
  if (letters.length === 0) throw new CliError(`the ${pair.name} DLQ is empty`);
  const letter = letters.find((l) => matches(l, [id]));
  if (letter === undefined) {
    throw new CliError(
      `no message ${JSON.stringify(id)} in the ${pair.name} DLQ (${letters.length} message(s) in it)`,
    );
  }
  return letter;
}

export function renderDeadLetter(letter: DeadLetter): string {
  let body = letter.body;
  try {
    body = JSON.stringify(JSON.parse(letter.body), null, 2);
  } catch {
    // not JSON: show it as it is
  }
  return [
    `message ID    ${letter.messageId}`,
    `sent          ${letter.sentAt ?? '—'}`,
    `source        ${letter.source ?? '—'}`,
    `job key       ${letter.jobKey}   (history: sluice job ${letter.jobKey})`,
    `trace ID      ${letter.traceId ?? '—'}`,
    `reason        ${letter.reason}${letter.errorClass === undefined ? '' : ` (${letter.errorClass})`}`,
    `attempts      ${letter.attempts ?? '—'}`,
    `error         ${letter.message ?? '—'}`,
    'body',
    body,
  ].join('\n');
}

export interface Selection {
  readonly ids: readonly string[];
  readonly all: boolean;
}

/** Reads the DLQ, acts on the selected messages, releases the rest; fails clearly when nothing matched. */
async function actOn(
  target: SluiceTarget,
  name: string,
  selection: Selection,
  verb: string,
  act: (pair: QueuePair, letter: DeadLetter) => Promise<void>,
): Promise<DeadLetter[]> {
  if (!selection.all && selection.ids.length === 0) {
    throw new CliError(`name the messages to ${verb} (message IDs or job keys), or pass --all`, 2);
  }
  const [pair] = queuesNamed(target, name);
  if (pair === undefined) throw new CliError(`no queue ${name}`);
  // Held long enough to act on a large batch without another reader taking them.
  const letters = await receiveAll(target, pair.deadLetterUrl, {
    holdSeconds: 300,
    limit: 10_000,
    queueSource: sourceOfPair(pair),
  });
  if (letters.length === 0) throw new CliError(`nothing to ${verb}: the ${pair.name} DLQ is empty`);
  const chosen = selection.all ? letters : letters.filter((l) => matches(l, selection.ids));
  await release(
    target,
    pair.deadLetterUrl,
    letters.filter((l) => !chosen.includes(l)),
  );
  const missing = selection.ids.filter((id) => !chosen.some((l) => matches(l, [id])));
  if (chosen.length === 0 || missing.length > 0) {
    await release(target, pair.deadLetterUrl, chosen);
    throw new CliError(`not in the ${pair.name} DLQ: ${missing.join(', ')} (nothing was changed)`);
  }
  for (const letter of chosen) await act(pair, letter);
  return chosen;
}

export async function requeueDeadLetters(
  target: SluiceTarget,
  name: string,
  selection: Selection,
  by: string,
): Promise<DeadLetter[]> {
  return actOn(target, name, selection, 'requeue', async (pair, letter) => {
    // Send first, then delete: a crash in between leaves a duplicate, which the job key absorbs,
    // never a lost job.
    await target.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: pair.jobsUrl, MessageBody: letter.body }),
    );
    await target.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: pair.deadLetterUrl, ReceiptHandle: letter.receiptHandle }),
    );
    await addOperatorNote(target, {
      jobKey: letter.jobKey,
      traceId: letter.traceId,
      action: 'requeued',
      note: `requeued from the ${pair.name} DLQ (was ${letter.reason})`,
      by,
      at: new Date(),
    });
  });
}

export async function discardDeadLetters(
  target: SluiceTarget,
  name: string,
  selection: Selection,
  reason: string | undefined,
  by: string,
): Promise<DeadLetter[]> {
  if (reason === undefined || reason.trim() === '') {
    throw new CliError('say why with --reason "<text>": it is kept in the job ledger', 2);
  }
  return actOn(target, name, selection, 'discard', async (pair, letter) => {
    await target.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: pair.deadLetterUrl, ReceiptHandle: letter.receiptHandle }),
    );
    await addOperatorNote(target, {
      jobKey: letter.jobKey,
      traceId: letter.traceId,
      action: 'discarded',
      note: `discarded from the ${pair.name} DLQ (was ${letter.reason}): ${reason}`,
      by,
      at: new Date(),
    });
  });
}
