/**
 * An HTTP proxy in front of the emulator that answers a seeded share of the functions' S3 and
 * DynamoDB requests with the errors AWS really returns: S3's 503 SlowDown and 500 InternalError
 * (XML), DynamoDB's 400 ProvisionedThroughputExceededException and ThrottlingException and its
 * 500 InternalServerError (JSON). Nothing in the functions knows: their AWS_ENDPOINT_URL points
 * here, the real SDK retries as it always does, and Sluice's classification handles whatever
 * gets through.
 *
 * A 500 is ambiguous in AWS: the request may or may not have been applied. So half of the
 * injected 500s are answered after the emulator applied the request, which is what makes a
 * retried write meet its own earlier success.
 *
 * The service is read from the request itself: the SigV4 credential scope in the Authorization
 * header (`.../<region>/<service>/aws4_request`), and for DynamoDB the X-Amz-Target operation.
 */
import { randomBytes } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { draw } from './draw.js';

export interface AwsFaultRates {
  /** S3 requests answered 503 SlowDown (not applied). */
  readonly s3SlowDown: number;
  /** S3 requests answered 500 InternalError (half of them after being applied). */
  readonly s3InternalError: number;
  /** DynamoDB requests answered 400 ProvisionedThroughputExceededException (not applied). */
  readonly dynamoThroughputExceeded: number;
  /** DynamoDB requests answered 400 ThrottlingException (not applied). */
  readonly dynamoThrottling: number;
  /** DynamoDB requests answered 500 InternalServerError (half of them after being applied). */
  readonly dynamoInternalError: number;
}

export const AWS_FAULT_KINDS = [
  's3-slow-down',
  's3-internal-error',
  'dynamodb-throughput-exceeded',
  'dynamodb-throttling',
  'dynamodb-internal-error',
] as const;
export type AwsFaultKind = (typeof AWS_FAULT_KINDS)[number];

/** A call the emulator answered, as the proxy saw it. */
export interface AwsCall {
  /** From the credential scope: `s3`, `dynamodb`, `sqs`, ... */
  readonly service: string;
  /** DynamoDB: the X-Amz-Target operation (`TransactWriteItems`); others: the HTTP method. */
  readonly operation: string;
  /** S3: the object key (path-style, decoded); empty for other services. */
  readonly key: string;
  readonly status: number;
  readonly requestBody: Buffer;
}

/** What happens to the emulator's answer: sent back, or dropped because the caller died meanwhile. */
export type AfterCall = 'answer' | 'drop';

export interface AwsFaultProxyOptions {
  /** The emulator's endpoint, e.g. `http://127.0.0.1:5000`. */
  readonly upstream: string;
  readonly seed: string;
  readonly rates: AwsFaultRates;
  /** Sees every call the emulator answered before its answer goes back. @default - answer all */
  readonly afterCall?: (call: AwsCall) => AfterCall | Promise<AfterCall>;
}

export interface InjectedAwsFault {
  readonly kind: AwsFaultKind;
  readonly service: string;
  readonly operation: string;
  /** True when the emulator applied the request before the error was returned. */
  readonly applied: boolean;
}

export interface AwsFaultProxy {
  readonly endpoint: string;
  injected(): readonly InjectedAwsFault[];
  /** Calls the proxy forwarded or answered, by service. */
  calls(): ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

function serviceOf(headers: IncomingHttpHeaders): string {
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(headers.authorization ?? '');
  return scope?.[1] ?? 'unknown';
}

function dynamoOperationOf(headers: IncomingHttpHeaders): string {
  const target = headers['x-amz-target'];
  return (Array.isArray(target) ? target[0] : target)?.split('.').pop() ?? 'unknown';
}

/** The object key of a path-style S3 request (`/<bucket>/<key>`). */
function s3KeyOf(url: string): string {
  const path = new URL(url, 'http://proxy.local').pathname;
  const [, , ...key] = path.split('/');
  return decodeURIComponent(key.join('/'));
}

interface ErrorReply {
  readonly status: number;
  readonly headers: { readonly [name: string]: string };
  readonly body: string;
}

function s3Error(status: number, code: string, message: string): ErrorReply {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`,
  };
}

function dynamoError(status: number, type: string, message: string): ErrorReply {
  return {
    status,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomBytes(16).toString('hex'),
    },
    body: JSON.stringify({ __type: type, message }),
  };
}

const ERROR_REPLIES: { readonly [kind in AwsFaultKind]: ErrorReply } = {
  's3-slow-down': s3Error(503, 'SlowDown', 'Please reduce your request rate.'),
  's3-internal-error': s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  'dynamodb-throughput-exceeded': dynamoError(
    400,
    'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  ),
  'dynamodb-throttling': dynamoError(
    400,
    'com.amazon.coral.availability#ThrottlingException',
    'Rate of requests exceeds the allowed throughput.',
  ),
  'dynamodb-internal-error': dynamoError(
    500,
    'com.amazonaws.dynamodb.v20120810#InternalServerError',
    'Internal server error',
  ),
};

/** Kinds that leave the emulator's state untouched, and kinds that may be answered after applying. */
const MAY_BE_APPLIED: ReadonlySet<AwsFaultKind> = new Set(['s3-internal-error', 'dynamodb-internal-error']);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface UpstreamReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export async function startAwsFaultProxy(options: AwsFaultProxyOptions): Promise<AwsFaultProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const injected: InjectedAwsFault[] = [];
  const calls = new Map<string, number>();
  const sequence = new Map<string, number>();
  const { rates } = options;
  const bands: { readonly [service: string]: readonly [AwsFaultKind, number][] } = {
    s3: [
      ['s3-slow-down', rates.s3SlowDown],
      ['s3-internal-error', rates.s3InternalError],
    ],
    dynamodb: [
      ['dynamodb-throughput-exceeded', rates.dynamoThroughputExceeded],
      ['dynamodb-throttling', rates.dynamoThrottling],
      ['dynamodb-internal-error', rates.dynamoInternalError],
    ],
  };
  for (const [service, serviceBands] of Object.entries(bands)) {
    const total = serviceBands.reduce((sum, [, rate]) => sum + rate, 0);
    if (total > 1) throw new RangeError(`${service} fault rates add up to ${total}; expected at most 1`);
  }

  /** The fault for the n-th call to a service, if any: stateless given the seed and n. */
  function faultFor(service: string): { kind: AwsFaultKind; applied: boolean } | undefined {
    const serviceBands = bands[service];
    if (serviceBands === undefined) return undefined;
    const n = (sequence.get(service) ?? 0) + 1;
    sequence.set(service, n);
    const roll = draw(options.seed, 'aws', service, n);
    let upTo = 0;
    const kind = serviceBands.find(([, rate]) => {
      upTo += rate;
      return roll < upTo;
    })?.[0];
    if (kind === undefined) return undefined;
    return { kind, applied: MAY_BE_APPLIED.has(kind) && draw(options.seed, 'applied', service, n) < 0.5 };
  }

  function forward(req: IncomingMessage, body: Buffer): Promise<UpstreamReply> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (response) => {
          readBody(response).then(
            (responseBody) =>
              resolve({ status: response.statusCode ?? 502, headers: response.headers, body: responseBody }),
            reject,
          );
        },
      );
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  }

  function reply(
    res: ServerResponse,
    status: number,
    headers: IncomingHttpHeaders,
    body: Buffer | string,
  ): void {
    const {
      'transfer-encoding': _chunked,
      connection: _connection,
      'content-length': _length,
      ...rest
    } = headers;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...rest, 'content-length': String(bytes.byteLength) });
    res.end(bytes);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const service = serviceOf(req.headers);
    calls.set(service, (calls.get(service) ?? 0) + 1);
    const operation = service === 'dynamodb' ? dynamoOperationOf(req.headers) : (req.method ?? 'GET');
    const fault = faultFor(service);
    if (fault !== undefined && !fault.applied) {
      injected.push({ ...fault, service, operation });
      const error = ERROR_REPLIES[fault.kind];
      reply(res, error.status, error.headers, req.method === 'HEAD' ? '' : error.body);
      return;
    }
    const answer = await forward(req, body);
    // The emulator has applied the call, whatever the caller is told next: whoever watches for
    // what was done (a crash planned after a write) sees it, even when a 500 hides it.
    const next =
      options.afterCall === undefined
        ? 'answer'
        : await options.afterCall({
            service,
            operation,
            key: service === 's3' ? s3KeyOf(req.url ?? '/') : '',
            status: answer.status,
            requestBody: body,
          });
    if (next === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (fault !== undefined) {
      injected.push({ ...fault, service, operation });
      const error = ERROR_REPLIES[fault.kind];
      reply(res, error.status, error.headers, req.method === 'HEAD' ? '' : error.body);
      return;
    }
    reply(res, answer.status, answer.headers, answer.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.socket?.destroy();
        return;
      }
      // The emulator could not be reached: what a caller sees when the service is unreachable.
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`aws fault proxy: ${(error as Error).message}`);
    });
  });
  // The SDK sends `Expect: 100-continue` for large S3 bodies; Node answers it by default.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected: () => injected,
    calls: () => calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
