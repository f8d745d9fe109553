/**
 * What the handler fuzz tests share: SQS records as Lambda hands them over, a Lambda context, the
 * functions' log lines captured from stdout, and one outcome line per message.
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { vi } from 'vitest';
import { z } from 'zod';

export const LAMBDA_CONTEXT = {
  functionName: 'fuzz',
  awsRequestId: 'fuzz-request',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

export function sqsRecord(
  queueArn: string,
  message: {
    readonly id: string;
    readonly body: string;
    readonly receiveCount: number;
    readonly sentAt: number;
  },
): SQSRecord {
  return {
    messageId: message.id,
    receiptHandle: `receipt-${message.id}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: 'fuzz',
      ApproximateFirstReceiveTimestamp: String(message.sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

const LogLine = z.looseObject({ message: z.string(), level: z.string() });
export type LogLine = z.infer<typeof LogLine> & { readonly [key: string]: unknown };

/**
 * Captures what the handlers print (Powertools log lines and EMF metrics; warnings and errors go
 * to stderr) for the duration of the test file, keeping it out of the test output. `take()`
 * answers the log lines since the last call.
 */
export function captureLogs(): { take(): LogLine[]; restore(): void } {
  let chunks: string[] = [];
  const keep = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(keep),
    vi.spyOn(process.stderr, 'write').mockImplementation(keep),
  ];
  return {
    take() {
      const lines = chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{') && !line.includes('"_aws"'));
      chunks = [];
      return lines.map((line) => LogLine.parse(JSON.parse(line)) as LogLine);
    },
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

/** The lines of `lines` that say how a message ended (`outcome`), by message ID. */
export function outcomesByMessage(lines: readonly LogLine[]): Map<string, LogLine[]> {
  const byMessage = new Map<string, LogLine[]>();
  for (const line of lines) {
    if (typeof line.outcome !== 'string' || typeof line.messageId !== 'string') continue;
    byMessage.set(line.messageId, [...(byMessage.get(line.messageId) ?? []), line]);
  }
  return byMessage;
}

/** Decides, call by call, whether a port fails (like a throttled AWS API) or answers. */
export class Faults {
  private calls = 0;
  constructor(private readonly pattern: readonly boolean[]) {}
  next(what: string): void {
    const fail = this.pattern.length > 0 && this.pattern[this.calls % this.pattern.length] === true;
    this.calls += 1;
    if (fail)
      throw Object.assign(new Error(`${what} throttled`), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      });
  }
}
