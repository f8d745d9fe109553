import { createHash } from 'node:crypto';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PermanentError } from '../core/errors.js';
import type { PutResult, RawStore, StoredObject } from '../core/ports.js';

export class S3RawStore implements RawStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(
    key: string,
    body: Buffer,
    options: { contentType: string; metadata: { [key: string]: string } },
  ): Promise<PutResult> {
    const sha256 = createHash('sha256').update(body).digest('hex');
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          Metadata: options.metadata,
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
          // Raw storage is append-only: a second write to the same key is a bug, not an update.
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'PreconditionFailed')) throw error;
      // The key holds a fresh fetch ID, so the object there is almost surely this very write: S3
      // answered an earlier try with a 500 (or the connection broke) after storing it, and the
      // SDK's retry met it. Ours when its bytes are ours; anything else is a real conflict.
      if ((await this.storedSha256(key)) !== sha256) {
        throw new PermanentError(`raw object already exists with other content: s3://${this.bucket}/${key}`, {
          reason: 'raw-key-exists',
          cause: error,
        });
      }
    }
    return { size: body.byteLength, sha256 };
  }

  /** The SHA-256 of the object at `key`, or undefined when there is none. */
  private async storedSha256(key: string): Promise<string | undefined> {
    try {
      const stored = await this.get(key);
      return createHash('sha256').update(stored.body).digest('hex');
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<StoredObject> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (response.Body === undefined) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return {
      body: Buffer.from(await response.Body.transformToByteArray()),
      contentType: response.ContentType,
      metadata: response.Metadata ?? {},
    };
  }
}
