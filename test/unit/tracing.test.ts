/**
 * The SDK clients of functions/adapters/aws-clients.ts under Powertools Tracer: in Lambda every
 * call is an X-Ray subsegment; anywhere else (tests, the local environment) the clients are left
 * as they are, so nothing looks for an X-Ray daemon. The tracer reads its environment when
 * observability.ts loads, so each test loads the modules afresh.
 */
import { Readable } from 'node:stream';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { getNamespace, Segment } from 'aws-xray-sdk-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** The middleware aws-xray-sdk-core adds to a captured client. */
const XRAY_MIDDLEWARE = 'XRaySDKInstrumentation';

async function freshClients() {
  vi.resetModules();
  return import('../../functions/adapters/aws-clients.js');
}

beforeEach(() => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('SDK clients and the tracer', () => {
  it('are left untraced outside Lambda', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', '');
    const clients = await freshClients();

    const stacks = [clients.s3Client(), clients.sqsClient(), clients.dynamoDocumentClient()].map((client) =>
      client.middlewareStack.identify(),
    );

    expect(stacks.map((names) => names.some((name) => name.startsWith(XRAY_MIDDLEWARE)))).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('are left untraced in Lambda when POWERTOOLS_TRACE_ENABLED is false', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    const clients = await freshClients();

    const names = clients.s3Client().middlewareStack.identify();

    expect(names.some((name) => name.startsWith(XRAY_MIDDLEWARE))).toBe(false);
  });

  it('record every call as an X-Ray subsegment in Lambda, DynamoDB documents included', async () => {
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');
    const clients = await freshClients();
    const s3 = clients.s3Client();
    // No network: S3 answers from here.
    s3.config.requestHandler = {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/xml' },
          body: Readable.from([Buffer.from('<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>')]),
        },
      }),
    };
    const segment = new Segment('sluice-test');

    await getNamespace().runPromise(async () => {
      clients.dynamoDocumentClient(); // captured on creation, like the others
      const tracer = (await import('../../functions/observability.js')).tracer;
      tracer.setSegment(segment);
      await s3.send(new ListBucketsCommand({}));
    });

    expect(segment.subsegments?.map((subsegment) => [subsegment.name, subsegment.isClosed()])).toEqual([
      ['S3', true],
    ]);
    expect(
      clients
        .dynamoDocumentClient()
        .middlewareStack.identify()
        .some((name) => name.startsWith(XRAY_MIDDLEWARE)),
    ).toBe(true);
  });
});
