/**
 * SQS as its API documents it, in memory, behind the real SqsWorkQueues adapter: what a handler
 * sends to a dead-letter queue or asks of a message's visibility is checked against the rules
 * SQS enforces and the local emulator (moto) does not — the characters a body and a String
 * attribute may hold, non-empty attribute values, the queue's maximum message size counting every
 * attribute's name, type and value, and the visibility timeout's range. A send SQS would refuse
 * throws here as it would there, so a fuzzed handler meets the refusal it would meet in AWS.
 */
import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  GetQueueUrlCommand,
  type GetQueueUrlCommandInput,
  type MessageAttributeValue,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsWorkQueues } from '../../../functions/adapters/work-queues.js';

/** The URL the fake SQS gives a queue: its name after `https://sqs.local/`. */
export function queueUrlOf(name: string): string {
  return `https://sqs.local/${name}`;
}

/** Characters SQS accepts in a body or a String attribute value (the XML 1.0 character range). */
const REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The longest visibility timeout SQS accepts: 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** What SQS answers for a request it refuses (`InvalidParameterValue`, `InvalidMessageContents`). */
export class SqsRefusal extends Error {
  override readonly name = 'InvalidParameterValue';
  readonly $metadata = { httpStatusCode: 400 };
}

export function refusedCharacterIn(text: string): string | undefined {
  const match = REFUSED_CHARACTER.exec(text);
  return match === null ? undefined : `U+${(match[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** Maps any string to one SQS would accept as a body: refused characters become U+FFFD. */
export function sqsAcceptable(text: string): string {
  const cleaned = [...text].map((c) => (REFUSED_CHARACTER.test(c) ? '\uFFFD' : c)).join('');
  return cleaned === '' ? ' ' : cleaned;
}

export interface SentMessage {
  readonly queueUrl: string;
  readonly body: string;
  readonly attributes: { readonly [name: string]: string };
}

export interface VisibilityChange {
  readonly queueUrl: string;
  readonly receiptHandle: string;
  readonly seconds: number;
}

function attributeBytes(name: string, value: MessageAttributeValue): number {
  return (
    Buffer.byteLength(name) +
    Buffer.byteLength(value.DataType ?? '') +
    Buffer.byteLength(value.StringValue ?? '') +
    (value.BinaryValue?.byteLength ?? 0)
  );
}

export class SqsContract {
  readonly sent: SentMessage[] = [];
  readonly visibilityChanges: VisibilityChange[] = [];
  /** Requests refused, with SQS's reason. */
  readonly refusals: string[] = [];
  /** Makes the next `n` requests fail as a throttled SQS would. */
  failNext = 0;

  constructor(private readonly maxMessageBytes: (queueUrl: string) => number) {}

  private refuse(reason: string): never {
    this.refusals.push(reason);
    throw new SqsRefusal(reason);
  }

  private throttle(): void {
    if (this.failNext <= 0) return;
    this.failNext -= 1;
    throw Object.assign(new Error('Rate exceeded'), {
      name: 'RequestThrottled',
      $metadata: { httpStatusCode: 400 },
    });
  }

  sendMessage(input: SendMessageCommandInput): void {
    this.throttle();
    const queueUrl = input.QueueUrl ?? '';
    const body = input.MessageBody ?? '';
    if (body === '') this.refuse('the message body must not be empty');
    const bodyCharacter = refusedCharacterIn(body);
    if (bodyCharacter !== undefined) this.refuse(`invalid character ${bodyCharacter} in the message body`);
    const entries = Object.entries(input.MessageAttributes ?? {});
    if (entries.length > 10) this.refuse(`${entries.length} message attributes; at most 10`);
    const attributes: { [name: string]: string } = {};
    for (const [name, value] of entries) {
      const text = value.StringValue ?? '';
      if (text === '') this.refuse(`message attribute ${name} has an empty value`);
      if (value.DataType === 'Number' && !Number.isFinite(Number(text)))
        this.refuse(`message attribute ${name} is not a number: ${text}`);
      const character = refusedCharacterIn(text);
      if (character !== undefined) this.refuse(`invalid character ${character} in message attribute ${name}`);
      attributes[name] = text;
    }
    const size =
      Buffer.byteLength(body) +
      entries.reduce((total, [name, value]) => total + attributeBytes(name, value), 0);
    const limit = this.maxMessageBytes(queueUrl);
    if (size > limit) this.refuse(`the message is ${size} bytes; ${queueUrl} accepts at most ${limit}`);
    this.sent.push({ queueUrl, body, attributes });
  }

  changeVisibility(input: ChangeMessageVisibilityCommandInput): void {
    this.throttle();
    const seconds = input.VisibilityTimeout ?? -1;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS)
      this.refuse(`visibility timeout ${seconds} is not a whole number of seconds in 0..43200`);
    this.visibilityChanges.push({
      queueUrl: input.QueueUrl ?? '',
      receiptHandle: input.ReceiptHandle ?? '',
      seconds,
    });
  }
}

/**
 * The real SqsWorkQueues over an SQS client whose every call goes to `contract`. Call `restore`
 * when done: the mock replaces SQSClient's `send` for the whole test file.
 */
export function workQueuesOver(contract: SqsContract): { queues: SqsWorkQueues; restore: () => void } {
  const mock = mockClient(SQSClient);
  mock.on(GetQueueUrlCommand).callsFake((input: GetQueueUrlCommandInput) => ({
    QueueUrl: queueUrlOf(input.QueueName ?? ''),
  }));
  mock.on(SendMessageCommand).callsFake((input: SendMessageCommandInput) => {
    contract.sendMessage(input);
    return { MessageId: `dlq-${contract.sent.length}` };
  });
  mock.on(ChangeMessageVisibilityCommand).callsFake((input: ChangeMessageVisibilityCommandInput) => {
    contract.changeVisibility(input);
    return {};
  });
  return {
    queues: new SqsWorkQueues(new SQSClient({ region: 'us-east-1' })),
    restore: () => mock.restore(),
  };
}
