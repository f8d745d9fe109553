/**
 * S3RawStore with a mocked S3 client (aws-sdk-client-mock): raw storage is append-only, yet a put
 * whose first try S3 stored before answering 500 must not fail the job when the SDK's retry meets
 * its own object (found by the chaos run: such jobs were dead-lettered with raw-key-exists).
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3RawStore } from '../../functions/adapters/raw-store.js';
import { PermanentError } from '../../functions/core/errors.js';

const s3 = mockClient(S3Client);
const store = new S3RawStore(new S3Client({ region: 'us-east-1' }), 'raw-bucket');
const KEY = 'raw/source=demo-catalog/dt=2026-11-27/id-job-1/20261127T080000000Z-aaaa/response.html';
const BODY = Buffer.from('<li class="product">…</li>');
const OPTIONS = { contentType: 'text/html', metadata: { 'trace-id': 'trace-1' } };

function preconditionFailed(): S3ServiceException {
  return new S3ServiceException({
    name: 'PreconditionFailed',
    $fault: 'client',
    $metadata: { httpStatusCode: 412 },
    message: 'At least one of the pre-conditions you specified did not hold',
  });
}

/** A GetObject answer; the store reads the body with transformToByteArray, as the SDK's stream offers. */
function stored(body: Buffer) {
  return {
    Body: { transformToByteArray: async () => new Uint8Array(body) },
    ContentType: 'text/html',
    Metadata: {},
  };
}

beforeEach(() => {
  s3.reset();
});

describe('S3RawStore.put', () => {
  it('writes only where nothing is, with the checksum of the bytes', async () => {
    s3.on(PutObjectCommand).resolves({});

    const result = await store.put(KEY, BODY, OPTIONS);

    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Bucket: 'raw-bucket', Key: KEY, IfNoneMatch: '*' });
    expect(result).toEqual({
      size: BODY.byteLength,
      sha256: createHash('sha256').update(BODY).digest('hex'),
    });
  });

  it('succeeds when the object already at the key holds exactly these bytes (a retried write that was stored)', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves(stored(BODY) as never);

    const result = await store.put(KEY, BODY, OPTIONS);

    expect(result.size).toBe(BODY.byteLength);
  });

  it('refuses, as a permanent raw-key-exists, when the object at the key holds other bytes', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).resolves(stored(Buffer.from('something else')) as never);

    await expect(store.put(KEY, BODY, OPTIONS)).rejects.toSatisfy(
      (error) => error instanceof PermanentError && error.reason === 'raw-key-exists',
    );
  });

  it('refuses when the precondition failed but no object can be read at the key', async () => {
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no such key', $metadata: {} }));

    await expect(store.put(KEY, BODY, OPTIONS)).rejects.toBeInstanceOf(PermanentError);
  });
});
